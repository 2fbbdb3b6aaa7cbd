//! `crm.identity.v1.AccessService`.
use super::{
    CLIENTS, ROLES, caller, idempotent, list_params, parse_etag, parse_name, query_error, remember,
    replayed, ts,
};
use crate::{
    error::Error,
    service::{
        Identity,
        access::{ClientChanges, NewClient, NewRole, RoleChanges},
    },
    store::{ClientRow, RoleRow, Store},
};
use crm_platform::{permissions::CATALOGUE, sql::SqlValue};
use crm_proto::crm::identity::v1::{
    ApiClient, CreateApiClientRequest, CreateApiClientResponse, CreateRoleRequest,
    DeleteApiClientRequest, DeleteRoleRequest, GetApiClientRequest, GetRoleRequest,
    ListApiClientsRequest, ListApiClientsResponse, ListPermissionsRequest, ListPermissionsResponse,
    ListRolesRequest, ListRolesResponse, Permission, Role, RotateApiClientSecretRequest,
    RotateApiClientSecretResponse, UpdateApiClientRequest, UpdateRoleRequest,
    access_service_server::AccessService, api_client, role,
};
use std::collections::{BTreeMap, HashMap};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The adapter.
#[derive(Clone)]
pub struct Access(pub Identity);

fn scope_enum(name: &str) -> i32 {
    (match name {
        "OWN" => role::DataScope::Own,
        "UNIT" => role::DataScope::Unit,
        "SUBTREE" => role::DataScope::Subtree,
        "ALL" => role::DataScope::All,
        _ => role::DataScope::Unspecified,
    }) as i32
}

#[allow(clippy::result_large_err)]
fn role_proto(r: &RoleRow) -> Result<Role, Status> {
    let permissions: Vec<String> = serde_json::from_str(&r.permissions)
        .map_err(|e| Status::from(Error::Internal(e.to_string())))?;
    let scopes: BTreeMap<String, String> = serde_json::from_str(&r.scopes)
        .map_err(|e| Status::from(Error::Internal(e.to_string())))?;
    Ok(Role {
        name: format!("roles/{}", r.id),
        id: r.id.to_string(),
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        permissions,
        scopes: scopes
            .iter()
            .map(|(f, s)| (f.clone(), scope_enum(s)))
            .collect::<HashMap<_, _>>(),
        built_in: r.built_in,
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
        etag: r.version.to_string(),
    })
}

fn client_proto(c: &ClientRow) -> ApiClient {
    let roles: Vec<Uuid> = serde_json::from_str(&c.role_ids).unwrap_or_default();
    ApiClient {
        name: format!("apiClients/{}", c.id),
        id: c.id.to_string(),
        client_id: c.client_id.clone(),
        display_name: c.display_name.clone(),
        roles: roles.iter().map(|r| format!("roles/{r}")).collect(),
        unit: c.unit_id.map(|u| format!("units/{u}")).unwrap_or_default(),
        allowed_cidrs: serde_json::from_str(&c.allowed_cidrs).unwrap_or_default(),
        status: (if c.status == "ACTIVE" {
            api_client::Status::Active
        } else {
            api_client::Status::Disabled
        }) as i32,
        secret_rotate_time: Some(ts(c.secret_rotated_at)),
        previous_secret_expire_time: c.previous_secret_expires_at.map(ts),
        create_time: Some(ts(c.created_at)),
        update_time: Some(ts(c.updated_at)),
        etag: c.version.to_string(),
    }
}

/// Scope enum values as stored names ("OWN", ...); unknown values become "" and are rejected.
fn scope_names(scopes: &HashMap<String, i32>) -> BTreeMap<String, String> {
    scopes
        .iter()
        .map(|(f, s)| {
            (
                f.clone(),
                role::DataScope::try_from(*s)
                    .map(|s| s.as_str_name().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tonic::async_trait]
impl AccessService for Access {
    async fn get_role(&self, req: Request<GetRoleRequest>) -> Result<Response<Role>, Status> {
        let id = parse_name(&req.get_ref().name, "roles", "name")?;
        Ok(Response::new(role_proto(&self.0.get_role(id).await?)?))
    }

    async fn list_roles(
        &self,
        req: Request<ListRolesRequest>,
    ) -> Result<Response<ListRolesResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("roles");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &ROLES, "create_time")
            .map_err(query_error)?;
        let mut rows: Vec<RoleRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(
            &mut rows,
            &params,
            |r, f| match f {
                "display_name" => SqlValue::Text(r.display_name.clone()),
                _ => SqlValue::Timestamp(r.created_at),
            },
            |r| r.id,
        );
        let roles = rows.iter().map(role_proto).collect::<Result<_, _>>()?;
        Ok(Response::new(ListRolesResponse {
            roles,
            next_page_token,
        }))
    }

    async fn create_role(&self, req: Request<CreateRoleRequest>) -> Result<Response<Role>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let (pending, replay) = idempotent(&self.0, "CreateRole", &r.request_id, &r).await?;
        if let Some(bytes) = replay {
            return Ok(Response::new(replayed(&bytes)?));
        }
        let role = r
            .role
            .ok_or_else(|| Status::from(Error::field("role", "is required")))?;
        let scopes = scope_names(&role.scopes);
        let new = NewRole {
            display_name: role.display_name,
            description: role.description,
            permissions: role.permissions,
            scopes,
        };
        let created = role_proto(&self.0.create_role(&caller, new).await?)?;
        remember(&self.0, pending, &created).await?;
        Ok(Response::new(created))
    }

    async fn update_role(&self, req: Request<UpdateRoleRequest>) -> Result<Response<Role>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let role = r
            .role
            .ok_or_else(|| Status::from(Error::field("role", "is required")))?;
        let id = parse_name(&role.name, "roles", "role.name")?;
        let etag = parse_etag(&role.etag, "role.etag")?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(
                Error::field("update_mask", "is required: name the fields to update").into(),
            );
        }
        const UPDATABLE: &[&str] = &["*", "display_name", "description", "permissions", "scopes"];
        if let Some(bad) = paths.iter().find(|p| !UPDATABLE.contains(&p.as_str())) {
            return Err(Error::field("update_mask", format!("{bad:?} cannot be updated")).into());
        }
        let wants = |f: &str| paths.iter().any(|p| p == f || p == "*");
        let changes = RoleChanges {
            display_name: wants("display_name").then_some(role.display_name),
            description: wants("description").then_some(role.description),
            permissions: wants("permissions").then_some(role.permissions),
            scopes: wants("scopes").then(|| scope_names(&role.scopes)),
        };
        Ok(Response::new(role_proto(
            &self.0.update_role(&caller, id, etag, changes).await?,
        )?))
    }

    async fn delete_role(
        &self,
        req: Request<DeleteRoleRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "roles", "name")?;
        self.0
            .delete_role(&caller, id, parse_etag(&r.etag, "etag")?)
            .await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn list_permissions(
        &self,
        req: Request<ListPermissionsRequest>,
    ) -> Result<Response<ListPermissionsResponse>, Status> {
        // The catalogue is one short page; a negative size is still a mistake to report.
        if req.get_ref().page_size < 0 {
            return Err(Error::field("page_size", "must not be negative").into());
        }
        let permissions = CATALOGUE
            .iter()
            .map(|p| Permission {
                name: p.name.to_owned(),
                service: p.service.to_owned(),
                description: p.description.to_owned(),
            })
            .collect();
        Ok(Response::new(ListPermissionsResponse {
            permissions,
            next_page_token: String::new(),
        }))
    }

    async fn get_api_client(
        &self,
        req: Request<GetApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        let id = parse_name(&req.get_ref().name, "apiClients", "name")?;
        Ok(Response::new(client_proto(&self.0.get_client(id).await?)))
    }

    async fn list_api_clients(
        &self,
        req: Request<ListApiClientsRequest>,
    ) -> Result<Response<ListApiClientsResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("api_clients");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &CLIENTS, "create_time")
            .map_err(query_error)?;
        let mut rows: Vec<ClientRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(
            &mut rows,
            &params,
            |c, f| match f {
                "display_name" => SqlValue::Text(c.display_name.clone()),
                _ => SqlValue::Timestamp(c.created_at),
            },
            |c| c.id,
        );
        Ok(Response::new(ListApiClientsResponse {
            api_clients: rows.iter().map(client_proto).collect(),
            next_page_token,
        }))
    }

    async fn create_api_client(
        &self,
        req: Request<CreateApiClientRequest>,
    ) -> Result<Response<CreateApiClientResponse>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let (pending, replay) = idempotent(&self.0, "CreateApiClient", &r.request_id, &r).await?;
        if let Some(bytes) = replay {
            // The stored answer has no secret: it is shown once, and only its hash is kept.
            return Ok(Response::new(replayed(&bytes)?));
        }
        let c = r
            .api_client
            .ok_or_else(|| Status::from(Error::field("api_client", "is required")))?;
        let roles = c
            .roles
            .iter()
            .map(|n| parse_name(n, "roles", "api_client.roles"))
            .collect::<Result<Vec<_>, _>>()?;
        let unit = if c.unit.is_empty() {
            None
        } else {
            Some(parse_name(&c.unit, "units", "api_client.unit")?)
        };
        let new = NewClient {
            display_name: c.display_name,
            roles,
            unit,
            allowed_cidrs: c.allowed_cidrs,
        };
        let (row, secret) = self.0.create_client(&caller, new).await?;
        let stored = CreateApiClientResponse {
            api_client: Some(client_proto(&row)),
            client_secret: String::new(),
        };
        remember(&self.0, pending, &stored).await?;
        Ok(Response::new(CreateApiClientResponse {
            client_secret: secret,
            ..stored
        }))
    }

    async fn update_api_client(
        &self,
        req: Request<UpdateApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let c = r
            .api_client
            .ok_or_else(|| Status::from(Error::field("api_client", "is required")))?;
        let id = parse_name(&c.name, "apiClients", "api_client.name")?;
        let etag = parse_etag(&c.etag, "api_client.etag")?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(
                Error::field("update_mask", "is required: name the fields to update").into(),
            );
        }
        const UPDATABLE: &[&str] = &["*", "display_name", "status", "roles", "allowed_cidrs"];
        if let Some(bad) = paths.iter().find(|p| !UPDATABLE.contains(&p.as_str())) {
            let why = format!(
                "{bad:?} cannot be updated (updatable: display_name, status, roles, allowed_cidrs)"
            );
            return Err(Error::field("update_mask", why).into());
        }
        let all = paths.iter().any(|p| p == "*");
        let wants = |f: &str| all || paths.iter().any(|p| p == f);
        let mut changes = ClientChanges::default();
        if wants("display_name") {
            changes.display_name = Some(c.display_name);
        }
        if wants("status") {
            let status =
                api_client::Status::try_from(c.status).unwrap_or(api_client::Status::Unspecified);
            changes.status = Some(status.as_str_name().to_owned());
        }
        if wants("roles") {
            let roles = c
                .roles
                .iter()
                .map(|n| parse_name(n, "roles", "api_client.roles"))
                .collect::<Result<Vec<_>, _>>()?;
            changes.roles = Some(roles);
        }
        if wants("allowed_cidrs") {
            changes.allowed_cidrs = Some(c.allowed_cidrs);
        }
        Ok(Response::new(client_proto(
            &self.0.update_client(&caller, id, etag, changes).await?,
        )))
    }

    async fn delete_api_client(
        &self,
        req: Request<DeleteApiClientRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "apiClients", "name")?;
        let etag = parse_etag(&r.etag, "etag")?;
        self.0.delete_client(&caller, id, etag).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn rotate_api_client_secret(
        &self,
        req: Request<RotateApiClientSecretRequest>,
    ) -> Result<Response<RotateApiClientSecretResponse>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "apiClients", "name")?;
        let grace = r.grace_period.map(|d| chrono::Duration::seconds(d.seconds));
        let etag = parse_etag(&r.etag, "etag")?;
        let (row, secret) = self.0.rotate_client(&caller, id, grace, etag).await?;
        Ok(Response::new(RotateApiClientSecretResponse {
            api_client: Some(client_proto(&row)),
            client_secret: secret,
        }))
    }
}
