//! API clients: the list, creating one, rotating its secret and deleting it. A secret is shown
//! once, on the page that answers the create or the rotation, and never again: the service
//! keeps only its hash.
use super::{AdminNav, Outcome, all, entries, id_of, request_id, units};
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
    ApiClient, CreateApiClientRequest, DeleteApiClientRequest, ListApiClientsRequest,
    ListRolesRequest, Role, RotateApiClientSecretRequest,
    access_service_client::AccessServiceClient, api_client::Status,
};
use http::StatusCode;

/// How long the old secret keeps working after a rotation: (seconds, catalog key).
pub const GRACE: &[(&str, &str)] = &[
    ("0", "admin.grace_none"),
    ("3600", "admin.grace_hour"),
    ("86400", "admin.grace_day"),
    ("604800", "admin.grace_week"),
];

/// The grace period chosen in a form: one of [`GRACE`], else the service's default (a day).
pub fn grace(value: &str) -> Option<pbjson_types::Duration> {
    GRACE
        .iter()
        .find(|(seconds, _)| *seconds == value)
        .and_then(|(seconds, _)| seconds.parse::<i64>().ok())
        .map(|seconds| pbjson_types::Duration { seconds, nanos: 0 })
}

/// The API clients page.
#[derive(Template)]
#[template(path = "admin/api_clients.html")]
pub struct ClientsPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The clients.
    pub clients: Vec<ApiClient>,
    /// Every role.
    pub roles: Vec<Role>,
    /// Every unit as a choice.
    pub units: Vec<(String, String)>,
    /// Whether the user may create, rotate and delete.
    pub can_write: bool,
    /// The create form's idempotency key.
    pub request_id: String,
    /// Grace periods.
    pub grace: &'static [(&'static str, &'static str)],
}

impl ClientsPage {
    /// The names of a client's roles.
    pub fn role_names(&self, client: &ApiClient) -> String {
        client
            .roles
            .iter()
            .map(|name| {
                self.roles
                    .iter()
                    .find(|r| r.name == *name)
                    .map(|r| r.display_name.as_str())
                    .unwrap_or(name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The name of a client's unit ("" none).
    pub fn unit_of<'a>(&'a self, client: &'a ApiClient) -> &'a str {
        self.units
            .iter()
            .find(|(name, _)| *name == client.unit)
            .map(|(_, label)| label.trim_start_matches('\u{a0}'))
            .unwrap_or(&client.unit)
    }

    /// Whether the client may get tokens.
    pub fn is_active(&self, client: &ApiClient) -> bool {
        client.status != Status::Disabled as i32
    }
}

/// The page that shows a new secret, once.
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// Nothing to report beyond the secret.
    pub out: Outcome,
    /// Catalog key of the title.
    pub title: &'static str,
    /// Catalog key of what `identifier` is.
    pub identifier_label: &'static str,
    /// What the secret goes with (a client id, a webhook URL).
    pub identifier: String,
    /// The secret ("" when the service no longer has it to show: a repeated request).
    pub secret: String,
    /// Where to go on.
    pub back: String,
}

/// Messages of `?done=`.
const DONE: &[(&str, &str)] = &[("deleted", "admin.client_deleted")];

async fn show(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    let mut roles_client = access.clone();
    let clients_request = ListApiClientsRequest {
        page_size: 1000,
        order_by: "display_name".into(),
        ..Default::default()
    };
    let roles_request = ListRolesRequest {
        page_size: 1000,
        ..Default::default()
    };
    let (clients, roles, all_units) = tokio::join!(
        access.list_api_clients(call(ctx, clients_request)),
        roles_client.list_roles(call(ctx, roles_request)),
        units::all_units(web, ctx),
    );
    let clients = match clients {
        Ok(c) => c.into_inner().api_clients,
        Err(status) => return error_page(ctx, &status),
    };
    let page = ClientsPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/api-clients"),
        out,
        clients,
        roles: roles.map(|r| r.into_inner().roles).unwrap_or_default(),
        units: units::options(&units::tree(all_units.unwrap_or_default())),
        can_write: ctx.can("identity.api_client.write"),
        request_id: request_id(),
        grace: GRACE,
    };
    (code, render(&page)).into_response()
}

fn secret_page(ctx: &Ctx, title: &'static str, client: &ApiClient, secret: String) -> Response {
    render(&SecretPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/api-clients"),
        out: Outcome::default(),
        title,
        identifier_label: "admin.client_id",
        identifier: client.client_id.clone(),
        secret,
        back: format!("/admin/api-clients#client-{}", client.id),
    })
}

/// GET /admin/api-clients
pub async fn list(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    show(&web, &ctx, Outcome::from_query(&q, DONE), StatusCode::OK).await
}

/// POST /admin/api-clients: creates a client and shows its secret once.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let client = ApiClient {
        display_name: param(&form, "display_name").trim().to_owned(),
        roles: all(&form, "role"),
        unit: param(&form, "unit").to_owned(),
        allowed_cidrs: entries(param(&form, "allowed_cidrs")),
        ..Default::default()
    };
    let request = CreateApiClientRequest {
        api_client: Some(client),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.create_api_client(call(&ctx, request)).await {
        Ok(created) => {
            let created = created.into_inner();
            let client = created.api_client.unwrap_or_default();
            secret_page(&ctx, "admin.client_created", &client, created.client_secret)
        }
        Err(status) => {
            let out = Outcome::refused(&status, "create", "", form);
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/api-clients/{id}/rotate: issues a new secret and shows it once.
pub async fn rotate(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = RotateApiClientSecretRequest {
        name: format!("apiClients/{id}"),
        grace_period: grace(param(&form, "grace")),
        etag: param(&form, "etag").to_owned(),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.rotate_api_client_secret(call(&ctx, request)).await {
        Ok(rotated) => {
            let rotated = rotated.into_inner();
            let client = rotated.api_client.unwrap_or_default();
            secret_page(&ctx, "admin.client_rotated", &client, rotated.client_secret)
        }
        Err(status) => {
            let out = Outcome::refused(&status, "rotate", id_of(&id), Vec::new());
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/api-clients/{id}/delete: deletes a client; its secrets and tokens stop at once.
pub async fn delete(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = DeleteApiClientRequest {
        name: format!("apiClients/{id}"),
        etag: param(&form, "etag").to_owned(),
    };
    let mut access = AccessServiceClient::new(web.upstreams().identity.clone());
    match access.delete_api_client(call(&ctx, request)).await {
        Ok(_) => Redirect::to("/admin/api-clients?done=deleted").into_response(),
        Err(status) => {
            let out = Outcome::refused(&status, "delete", id_of(&id), Vec::new());
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_grace_periods_are_sent() {
        assert_eq!(grace("3600").map(|d| d.seconds), Some(3600));
        assert_eq!(grace("0").map(|d| d.seconds), Some(0));
        // Anything else leaves the choice to the service (a day).
        assert_eq!(grace("99999999"), None);
        assert_eq!(grace(""), None);
    }
}
