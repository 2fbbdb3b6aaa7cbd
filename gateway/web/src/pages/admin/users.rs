//! Users: the list with their roles, creating a user, disabling and enabling, resetting a
//! password.
use super::{AdminNav, Outcome, mask, request_id, units};
use crate::{
    Web, call,
    guard::Ctx,
    pages::{Chrome, error_page, http_status, param, render},
};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::identity::v1::{
    AssignRolesRequest, CreateUserRequest, ListRolesRequest, ListUsersRequest,
    ResetPasswordRequest, Role, UpdateUserRequest, User,
    access_service_client::AccessServiceClient, directory_service_client::DirectoryServiceClient,
    user::Status,
};
use http::StatusCode;

/// The users page.
#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The users.
    pub users: Vec<User>,
    /// Every role.
    pub roles: Vec<Role>,
    /// Every unit as a choice: (resource name, indented name).
    pub units: Vec<(String, String)>,
    /// Whether the admin may assign roles.
    pub can_assign: bool,
    /// Whether the admin may create users and change their status.
    pub can_write: bool,
    /// Whether the admin may reset passwords.
    pub can_reset: bool,
    /// The signed-in user's id (nobody disables themselves).
    pub me: String,
    /// The create form's idempotency key.
    pub request_id: String,
}

impl UsersPage {
    /// Whether `user` holds `role`.
    pub fn has(&self, user: &User, role: &Role) -> bool {
        user.roles.contains(&role.name)
    }

    /// The name of a user's unit.
    pub fn unit_of<'a>(&'a self, user: &'a User) -> &'a str {
        self.units
            .iter()
            .find(|(name, _)| *name == user.unit)
            .map(|(_, label)| label.trim_start_matches('\u{a0}'))
            .unwrap_or(&user.unit)
    }

    /// Whether the user may sign in.
    pub fn is_active(&self, user: &User) -> bool {
        user.status == Status::Active as i32
    }

    /// The catalog key of a user's status.
    pub fn status_key(&self, user: &User) -> &'static str {
        match Status::try_from(user.status).unwrap_or(Status::Unspecified) {
            Status::Locked => "admin.status_locked",
            Status::Disabled => "admin.status_disabled",
            Status::Active | Status::Unspecified => "admin.status_active",
        }
    }
}

/// Messages of `?done=`: (value, catalog key).
const DONE: &[(&str, &str)] = &[
    ("roles", "admin.roles_saved"),
    ("last_admin", "admin.last_admin"),
    ("conflict", "error.conflict"),
    ("failed", "error.invalid"),
    ("created", "admin.user_created"),
    ("enabled", "admin.user_enabled"),
    ("disabled", "admin.user_disabled"),
    ("password", "admin.password_reset"),
];

async fn show(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let users_request = ListUsersRequest {
        page_size: 1000,
        order_by: "login_name".into(),
        ..Default::default()
    };
    let roles_request = ListRolesRequest {
        page_size: 1000,
        ..Default::default()
    };
    let (users, roles, all_units) = tokio::join!(
        directory.list_users(call(ctx, users_request)),
        access.list_roles(call(ctx, roles_request)),
        units::all_units(web, ctx),
    );
    let users = match users {
        Ok(u) => u.into_inner().users,
        Err(status) => return error_page(ctx, &status),
    };
    let page = UsersPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/users"),
        out,
        users,
        roles: roles.map(|r| r.into_inner().roles).unwrap_or_default(),
        units: units::options(&units::tree(all_units.unwrap_or_default())),
        can_assign: ctx.can("identity.role.assign"),
        can_write: ctx.can("identity.user.write"),
        can_reset: ctx.can("identity.user.reset_password"),
        me: ctx.session.user.clone(),
        request_id: request_id(),
    };
    (code, render(&page)).into_response()
}

/// GET /admin/users
pub async fn users(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let mut out = Outcome::from_query(&q, DONE);
    out.failed = matches!(
        out.notice,
        "admin.last_admin" | "error.conflict" | "error.invalid"
    );
    show(&web, &ctx, out, StatusCode::OK).await
}

/// POST /admin/users/{id}/roles: replaces the user's roles with the boxes ticked.
pub async fn assign_roles(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = AssignRolesRequest {
        name: format!("users/{id}"),
        roles: super::all(&form, "role"),
        etag: param(&form, "etag").to_owned(),
        request_id: String::new(),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let done = match directory.assign_roles(call(&ctx, request)).await {
        Ok(_) => "roles",
        Err(status) if status.code() == tonic::Code::FailedPrecondition => "last_admin",
        Err(status) if status.code() == tonic::Code::Aborted => "conflict",
        Err(status) if status.code() == tonic::Code::InvalidArgument => "failed",
        Err(status) => return error_page(&ctx, &status),
    };
    Redirect::to(&format!("/admin/users?done={done}#user-{id}")).into_response()
}

/// POST /admin/users: creates a user with an initial password.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let user = User {
        login_name: param(&form, "login_name").trim().to_owned(),
        display_name: param(&form, "display_name").trim().to_owned(),
        email: param(&form, "email").trim().to_owned(),
        unit: param(&form, "unit").to_owned(),
        ..Default::default()
    };
    let request = CreateUserRequest {
        user: Some(user),
        password: param(&form, "password").to_owned(),
        require_password_change: param(&form, "must_change") == "1",
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match directory.create_user(call(&ctx, request)).await {
        Ok(user) => {
            let id = user.into_inner().id;
            Redirect::to(&format!("/admin/users?done=created#user-{id}")).into_response()
        }
        Err(status) => {
            // What was typed comes back, but never the password.
            let typed = form.into_iter().filter(|(k, _)| k != "password").collect();
            let out = Outcome::refused(&status, "create", "", typed);
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/users/{id}/status: enables (also unlocks) or disables a user.
pub async fn set_status(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let status = match param(&form, "status") {
        "ACTIVE" => Status::Active,
        _ => Status::Disabled,
    };
    let user = User {
        name: format!("users/{id}"),
        status: status as i32,
        etag: param(&form, "etag").to_owned(),
        ..Default::default()
    };
    let request = UpdateUserRequest {
        user: Some(user),
        update_mask: mask(&["status"]),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match directory.update_user(call(&ctx, request)).await {
        Ok(_) => {
            let done = if status == Status::Active {
                "enabled"
            } else {
                "disabled"
            };
            Redirect::to(&format!("/admin/users?done={done}#user-{id}")).into_response()
        }
        Err(refusal) => {
            let mut out = Outcome::refused(&refusal, "status", &id, Vec::new());
            if refusal.code() == tonic::Code::FailedPrecondition {
                out.notice = "admin.status_refused";
            }
            show(&web, &ctx, out, http_status(&refusal)).await
        }
    }
}

/// POST /admin/users/{id}/password: sets a new password, optionally to be changed at the next
/// sign-in.
pub async fn reset_password(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = ResetPasswordRequest {
        name: format!("users/{id}"),
        new_password: param(&form, "new_password").to_owned(),
        require_password_change: param(&form, "must_change") == "1",
        request_id: String::new(),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    match directory.reset_password(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/admin/users?done=password#user-{id}")).into_response(),
        Err(status) => {
            let mut out = Outcome::refused(&status, "password", &id, Vec::new());
            if status.code() == tonic::Code::InvalidArgument {
                out.notice = "admin.password_weak";
            }
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}
