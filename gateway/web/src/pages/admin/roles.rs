//! Roles: the list, and one form to create or edit a role: its name and description, its
//! permissions as checkboxes grouped by service, and a data scope per resource family.
//! Built-in roles are shown read-only, as the service refuses to change them.
use super::{AdminNav, Outcome, all, id_of, mask, request_id};
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
    CreateRoleRequest, DeleteRoleRequest, GetRoleRequest, ListPermissionsRequest, ListRolesRequest,
    Permission, Role, UpdateRoleRequest, access_service_client::AccessServiceClient,
    role::DataScope,
};
use http::StatusCode;

/// The resource families that carry a data scope: (family, catalog key).
pub const FAMILIES: &[(&str, &str)] = &[
    ("customers", "admin.family_customers"),
    ("sales", "admin.family_sales"),
    ("servicedesk", "admin.family_servicedesk"),
    ("marketing", "admin.family_marketing"),
];

/// The data scopes, narrowest first: (API name, catalog key).
pub const SCOPES: &[(&str, &str)] = &[
    ("OWN", "admin.scope_own"),
    ("UNIT", "admin.scope_unit"),
    ("SUBTREE", "admin.scope_subtree"),
    ("ALL", "admin.scope_all"),
];

/// The services permissions belong to, in the order the form shows them: (service, key).
pub const SERVICES: &[(&str, &str)] = &[
    ("customers", "admin.service_customers"),
    ("sales", "admin.service_sales"),
    ("servicedesk", "admin.service_servicedesk"),
    ("marketing", "admin.service_marketing"),
    ("events", "admin.service_events"),
    ("identity", "admin.service_identity"),
];

/// The catalog key of a permission's description ("admin.perm.customers.customer.read").
pub fn permission_key(name: &str) -> String {
    format!("admin.perm.{name}")
}

/// A service's permissions, for one group of checkboxes.
#[derive(Debug)]
pub struct Group {
    /// The service.
    pub service: String,
    /// Its catalog key ("" for a service this UI does not know yet: the name is shown).
    pub key: &'static str,
    /// Its permissions, by name.
    pub permissions: Vec<Permission>,
}

/// Groups the catalogue by service, known services first in their order, others after.
pub fn groups(mut permissions: Vec<Permission>) -> Vec<Group> {
    permissions.sort_by(|a, b| a.name.cmp(&b.name));
    let rank = |service: &str| {
        SERVICES
            .iter()
            .position(|(s, _)| *s == service)
            .unwrap_or(SERVICES.len())
    };
    let mut out: Vec<Group> = Vec::new();
    for p in permissions {
        match out.iter_mut().find(|g| g.service == p.service) {
            Some(group) => group.permissions.push(p),
            None => out.push(Group {
                key: SERVICES
                    .iter()
                    .find(|(s, _)| *s == p.service)
                    .map(|(_, k)| *k)
                    .unwrap_or(""),
                service: p.service.clone(),
                permissions: vec![p],
            }),
        }
    }
    out.sort_by(|a, b| (rank(&a.service), &a.service).cmp(&(rank(&b.service), &b.service)));
    out
}

/// The role a form describes: name, description, the permissions ticked, a scope per family.
pub fn role_from(form: &[(String, String)]) -> Role {
    let mut permissions = all(form, "perm");
    permissions.sort();
    permissions.dedup();
    let scopes = FAMILIES
        .iter()
        .filter_map(|(family, _)| {
            let scope = DataScope::from_str_name(param(form, &format!("scope.{family}")))?;
            (scope != DataScope::Unspecified).then(|| ((*family).to_owned(), scope as i32))
        })
        .collect();
    Role {
        display_name: param(form, "display_name").trim().to_owned(),
        description: param(form, "description").trim().to_owned(),
        permissions,
        scopes,
        etag: param(form, "etag").to_owned(),
        ..Default::default()
    }
}

/// The list of roles.
#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The roles.
    pub roles: Vec<Role>,
    /// Whether the user may create roles.
    pub can_write: bool,
}

/// The form of one role.
#[derive(Template)]
#[template(path = "admin/role.html")]
pub struct RolePage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The role as saved, or as typed after a refusal (no id: a new role).
    pub role: Role,
    /// The catalogue, grouped.
    pub groups: Vec<Group>,
    /// Whether the form can only be looked at (built-in role, or no right to change roles).
    pub read_only: bool,
    /// The create form's idempotency key.
    pub request_id: String,
    /// Families and scopes.
    pub families: &'static [(&'static str, &'static str)],
    /// Scopes.
    pub scopes: &'static [(&'static str, &'static str)],
}

impl RolePage {
    /// Whether the role grants `permission`.
    pub fn grants(&self, permission: &str) -> bool {
        self.role.permissions.iter().any(|p| p == permission)
    }

    /// The role's scope in `family` (OWN when it has none).
    pub fn scope_of(&self, family: &str) -> &'static str {
        self.role
            .scopes
            .get(family)
            .and_then(|s| DataScope::try_from(*s).ok())
            .filter(|s| *s != DataScope::Unspecified)
            .unwrap_or(DataScope::Own)
            .as_str_name()
    }

    /// What a permission allows, in the user's language; the service's words when this UI has
    /// no translation (a permission newer than the UI).
    pub fn describe(&self, permission: &Permission) -> String {
        let key = permission_key(&permission.name);
        let text = self.c.tr.t(&key);
        if text == key {
            permission.description.clone()
        } else {
            text.to_owned()
        }
    }
}

/// Messages of `?done=` on the list.
const DONE: &[(&str, &str)] = &[
    ("created", "admin.role_created"),
    ("saved", "admin.role_saved"),
    ("deleted", "admin.role_deleted"),
];

async fn list_roles(web: &Web, ctx: &Ctx) -> Result<Vec<Role>, tonic::Status> {
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let request = ListRolesRequest {
        page_size: 1000,
        order_by: "display_name".into(),
        ..Default::default()
    };
    Ok(access
        .list_roles(call(ctx, request))
        .await?
        .into_inner()
        .roles)
}

async fn show_list(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let roles = match list_roles(web, ctx).await {
        Ok(roles) => roles,
        Err(status) => return error_page(ctx, &status),
    };
    let page = RolesPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/roles"),
        out,
        roles,
        can_write: ctx.can("identity.role.write"),
    };
    (code, render(&page)).into_response()
}

/// GET /admin/roles
pub async fn list(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    show_list(&web, &ctx, Outcome::from_query(&q, DONE), StatusCode::OK).await
}

async fn catalogue(web: &Web, ctx: &Ctx) -> Result<Vec<Permission>, tonic::Status> {
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let mut permissions = Vec::new();
    let mut page_token = String::new();
    // The catalogue is a few dozen entries; the bound only guards against a looping token.
    for _ in 0..10 {
        let request = ListPermissionsRequest {
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = access
            .list_permissions(call(ctx, request))
            .await?
            .into_inner();
        permissions.extend(page.permissions);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(permissions)
}

async fn show_form(web: &Web, ctx: &Ctx, role: Role, out: Outcome, code: StatusCode) -> Response {
    let permissions = match catalogue(web, ctx).await {
        Ok(p) => p,
        Err(status) => return error_page(ctx, &status),
    };
    let page = RolePage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/roles"),
        out,
        read_only: role.built_in || !ctx.can("identity.role.write"),
        role,
        groups: groups(permissions),
        request_id: request_id(),
        families: FAMILIES,
        scopes: SCOPES,
    };
    (code, render(&page)).into_response()
}

/// GET /admin/roles/new
pub async fn new_form(State(web): State<Web>, Extension(ctx): Extension<Ctx>) -> Response {
    show_form(
        &web,
        &ctx,
        Role::default(),
        Outcome::default(),
        StatusCode::OK,
    )
    .await
}

async fn get_role(web: &Web, ctx: &Ctx, id: &str) -> Result<Role, tonic::Status> {
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let request = GetRoleRequest {
        name: format!("roles/{id}"),
    };
    Ok(access.get_role(call(ctx, request)).await?.into_inner())
}

/// GET /admin/roles/{id}
pub async fn edit_form(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    match get_role(&web, &ctx, &id).await {
        Ok(role) => {
            let out = Outcome::from_query(&q, DONE);
            show_form(&web, &ctx, role, out, StatusCode::OK).await
        }
        Err(status) => error_page(&ctx, &status),
    }
}

/// POST /admin/roles: creates a role.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let role = role_from(&form);
    let request = CreateRoleRequest {
        role: Some(role.clone()),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.create_role(call(&ctx, request)).await {
        Ok(created) => {
            let id = created.into_inner().id;
            Redirect::to(&format!("/admin/roles?done=created#role-{id}")).into_response()
        }
        Err(status) => {
            let out = Outcome::refused(&status, "role", "", Vec::new());
            show_form(&web, &ctx, role, out, http_status(&status)).await
        }
    }
}

/// POST /admin/roles/{id}: saves a role's name, description, permissions and scopes.
pub async fn update(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut role = role_from(&form);
    role.name = format!("roles/{id}");
    role.id = id.clone();
    let request = UpdateRoleRequest {
        role: Some(role.clone()),
        update_mask: mask(&["display_name", "description", "permissions", "scopes"]),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.update_role(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/admin/roles/{id}?done=saved")).into_response(),
        Err(status) => {
            // Keep what was typed; after a conflict take the current version tag, so that
            // saving again (after a look at the role) overwrites knowingly.
            if let Ok(current) = get_role(&web, &ctx, &id).await {
                role.built_in = current.built_in;
                if status.code() == tonic::Code::Aborted {
                    role.etag = current.etag;
                }
            }
            let out = Outcome::refused(&status, "role", "", Vec::new());
            show_form(&web, &ctx, role, out, http_status(&status)).await
        }
    }
}

/// POST /admin/roles/{id}/delete
pub async fn delete(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = DeleteRoleRequest {
        name: format!("roles/{id}"),
        etag: param(&form, "etag").to_owned(),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.delete_role(call(&ctx, request)).await {
        Ok(_) => Redirect::to("/admin/roles?done=deleted").into_response(),
        Err(status) => {
            let mut out = Outcome::refused(&status, "delete", id_of(&id), Vec::new());
            if status.code() == tonic::Code::FailedPrecondition {
                out.notice = "admin.role_in_use";
            }
            show_list(&web, &ctx, out, http_status(&status)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Tr;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_role_form_becomes_a_role_with_sorted_permissions_and_known_scopes() {
        let role = role_from(&pairs(&[
            ("display_name", " East sales "),
            ("perm", "sales.lead.read"),
            ("perm", "customers.customer.read"),
            ("perm", "sales.lead.read"),
            ("scope.customers", "SUBTREE"),
            ("scope.sales", "ALL"),
            ("scope.marketing", "EVERYTHING"),
            ("scope.unknown", "ALL"),
            ("etag", "7"),
        ]));
        assert_eq!(role.display_name, "East sales");
        assert_eq!(
            role.permissions,
            ["customers.customer.read", "sales.lead.read"]
        );
        assert_eq!(role.scopes.len(), 2);
        assert_eq!(role.scopes["customers"], DataScope::Subtree as i32);
        assert_eq!(role.scopes["sales"], DataScope::All as i32);
        assert_eq!(role.etag, "7");
    }

    #[test]
    fn permissions_group_by_service_in_a_fixed_order() {
        let p = |name: &str, service: &str| Permission {
            name: name.into(),
            service: service.into(),
            description: String::new(),
        };
        let grouped = groups(vec![
            p("identity.user.read", "identity"),
            p("zeta.thing.read", "zeta"),
            p("customers.customer.merge", "customers"),
            p("customers.customer.read", "customers"),
        ]);
        let shape: Vec<_> = grouped
            .iter()
            .map(|g| {
                (
                    g.service.as_str(),
                    g.key,
                    g.permissions
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (
                    "customers",
                    "admin.service_customers",
                    vec!["customers.customer.merge", "customers.customer.read"]
                ),
                (
                    "identity",
                    "admin.service_identity",
                    vec!["identity.user.read"]
                ),
                ("zeta", "", vec!["zeta.thing.read"]),
            ]
        );
    }

    #[test]
    fn every_permission_of_the_catalogue_is_described_in_every_language() {
        crate::i18n::init().expect("catalogs");
        for locale in crate::i18n::Locale::ALL {
            let tr = Tr::new(locale, chrono_tz::Tz::UTC);
            for p in crm_platform::permissions::CATALOGUE {
                let key = permission_key(p.name);
                assert_ne!(tr.t(&key), key, "{} {key}", locale.tag());
            }
        }
    }

    #[test]
    fn families_and_scopes_match_the_platform_and_the_api() {
        let ours: Vec<_> = FAMILIES.iter().map(|(f, _)| *f).collect();
        assert_eq!(ours, crm_platform::permissions::FAMILIES);
        for (scope, _) in SCOPES {
            assert!(DataScope::from_str_name(scope).is_some(), "{scope}");
        }
    }
}
