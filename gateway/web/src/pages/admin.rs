//! Administration: users and their roles. (The other administration pages of the issue, the
//! org tree, roles, API clients, security events, custom fields and webhooks, come next.)
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::identity::v1::{
    AssignRolesRequest, ListRolesRequest, ListUsersRequest, Role, User,
    access_service_client::AccessServiceClient, directory_service_client::DirectoryServiceClient,
};

/// The users page.
#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    /// The chrome.
    pub c: Chrome,
    /// The users.
    pub users: Vec<User>,
    /// Every role.
    pub roles: Vec<Role>,
    /// Whether the admin may assign roles.
    pub can_assign: bool,
    /// Catalog key of the outcome of the last action ("" none).
    pub notice: &'static str,
    /// Whether that outcome is a failure.
    pub failed: bool,
}

impl UsersPage {
    /// Whether `user` holds `role`.
    pub fn has(&self, user: &User, role: &Role) -> bool {
        user.roles.iter().any(|r| *r == role.name)
    }
}

/// GET /admin/users
pub async fn users(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let users_request = ListUsersRequest {
        page_size: 200,
        order_by: "login_name".into(),
        ..Default::default()
    };
    let roles_request = ListRolesRequest {
        page_size: 200,
        ..Default::default()
    };
    let (users, roles) = tokio::join!(
        directory.list_users(call(&ctx, users_request)),
        access.list_roles(call(&ctx, roles_request))
    );
    let users = match users {
        Ok(u) => u.into_inner().users,
        Err(status) => return super::error_page(&ctx, &status),
    };
    let notice = match param(&q, "done") {
        "roles" => "admin.roles_saved",
        "last_admin" => "admin.last_admin",
        "conflict" => "error.conflict",
        "failed" => "error.invalid",
        _ => "",
    };
    render(&UsersPage {
        c: Chrome::new(&ctx, "admin"),
        users,
        roles: roles.map(|r| r.into_inner().roles).unwrap_or_default(),
        can_assign: ctx.can("identity.role.assign"),
        failed: !matches!(notice, "" | "admin.roles_saved"),
        notice,
    })
}

/// POST /admin/users/{id}/roles: replaces the user's roles with the boxes ticked.
pub async fn assign_roles(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let roles = form
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.clone())
        .collect();
    let request = AssignRolesRequest {
        name: format!("users/{id}"),
        roles,
        etag: param(&form, "etag").to_owned(),
        request_id: String::new(),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let done = match directory.assign_roles(call(&ctx, request)).await {
        Ok(_) => "roles",
        Err(status) if status.code() == tonic::Code::FailedPrecondition => "last_admin",
        Err(status) if status.code() == tonic::Code::Aborted => "conflict",
        Err(status) if status.code() == tonic::Code::InvalidArgument => "failed",
        Err(status) => return super::error_page(&ctx, &status),
    };
    Redirect::to(&format!("/admin/users?done={done}#user-{id}")).into_response()
}
