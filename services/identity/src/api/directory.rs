//! `crm.identity.v1.DirectoryService`.
use super::{
    UNITS, USERS, caller, idempotent, list_params, parse_etag, parse_name, query_error, remember,
    replayed, ts,
};
use crate::{
    error::Error,
    service::{
        Identity,
        directory::{NewUnit, NewUser, UserChanges},
    },
    store::{Store, UnitRow, UserRow},
};
use crm_platform::{auth::Principal, permissions as p, sql::SqlValue};
use crm_proto::crm::identity::v1::{
    AssignRolesRequest, ChangePasswordRequest, CreateUnitRequest, CreateUserRequest,
    DeleteUnitRequest, DeleteUserRequest, GetUnitRequest, GetUserRequest, ListUnitsRequest,
    ListUnitsResponse, ListUsersRequest, ListUsersResponse, MoveUnitRequest, ResetPasswordRequest,
    Unit, UpdateUnitRequest, UpdateUserRequest, User, directory_service_server::DirectoryService,
    unit, user,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The adapter.
#[derive(Clone)]
pub struct Directory(pub Identity);

fn unit_proto(u: &UnitRow) -> Unit {
    let kind = match u.kind.as_str() {
        "GROUP" => unit::Kind::Group,
        "COMPANY" => unit::Kind::Company,
        "REGION" => unit::Kind::Region,
        "DEPARTMENT" => unit::Kind::Department,
        "TEAM" => unit::Kind::Team,
        _ => unit::Kind::Unspecified,
    };
    Unit {
        name: format!("units/{}", u.id),
        id: u.id.to_string(),
        code: u.code.clone(),
        kind: kind as i32,
        parent: u
            .parent_id
            .map(|p| format!("units/{p}"))
            .unwrap_or_default(),
        display_name: u.display_name.clone(),
        path: u.path.clone(),
        create_time: Some(ts(u.created_at)),
        update_time: Some(ts(u.updated_at)),
        etag: u.version.to_string(),
    }
}

/// A user in proto form, with their role names.
pub fn user_proto(u: &UserRow, roles: Vec<String>) -> User {
    let locked = u.locked_until.is_some_and(|t| t > chrono::Utc::now());
    let status = match (u.status.as_str(), locked) {
        ("DISABLED", _) => user::Status::Disabled,
        (_, true) => user::Status::Locked,
        _ => user::Status::Active,
    };
    User {
        name: format!("users/{}", u.id),
        id: u.id.to_string(),
        login_name: u.login_name.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone().unwrap_or_default(),
        phone: u.phone.clone().unwrap_or_default(),
        unit: format!("units/{}", u.unit_id),
        status: status as i32,
        roles,
        last_login_time: u.last_login_at.map(ts),
        failed_login_count: u.failed_login_count,
        password_change_required: u.password_change_required,
        create_time: Some(ts(u.created_at)),
        update_time: Some(ts(u.updated_at)),
        etag: u.version.to_string(),
    }
}

impl Directory {
    async fn user_reply(&self, u: &UserRow) -> Result<Response<User>, Status> {
        let roles = self.0.store.roles_of(u.id).await.map_err(Error::from)?;
        Ok(Response::new(user_proto(
            u,
            roles.iter().map(|r| format!("roles/{}", r.id)).collect(),
        )))
    }

    /// "users/me" or "users/{id}"; reading or changing someone else needs `permission`.
    #[allow(clippy::result_large_err)]
    fn target_user(
        &self,
        name: &str,
        principal: Option<&Principal>,
        permission: &str,
    ) -> Result<Uuid, Status> {
        let me = principal.and_then(Principal::user_id);
        let id = if name == "users/me" {
            me.ok_or_else(|| Status::from(Error::field("name", "users/me needs a signed-in user")))?
        } else {
            parse_name(name, "users", "name")?
        };
        if Some(id) != me && !principal.is_some_and(|p| p.has(permission)) {
            return Err(
                Error::PermissionDenied(format!("requires permission {permission}")).into(),
            );
        }
        Ok(id)
    }
}

#[tonic::async_trait]
impl DirectoryService for Directory {
    async fn get_unit(&self, req: Request<GetUnitRequest>) -> Result<Response<Unit>, Status> {
        let id = parse_name(&req.get_ref().name, "units", "name")?;
        Ok(Response::new(unit_proto(&self.0.get_unit(id).await?)))
    }

    async fn list_units(
        &self,
        req: Request<ListUnitsRequest>,
    ) -> Result<Response<ListUnitsResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("units");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &UNITS, "path")
            .map_err(query_error)?;
        let mut rows: Vec<UnitRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(&mut rows, &params, unit_sort, |u| u.id);
        Ok(Response::new(ListUnitsResponse {
            units: rows.iter().map(unit_proto).collect(),
            next_page_token,
        }))
    }

    async fn create_unit(&self, req: Request<CreateUnitRequest>) -> Result<Response<Unit>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let (pending, replay) = idempotent(&self.0, "CreateUnit", &r.request_id, &r).await?;
        if let Some(bytes) = replay {
            return Ok(Response::new(replayed(&bytes)?));
        }
        let u = r
            .unit
            .ok_or_else(|| Status::from(Error::field("unit", "is required")))?;
        let kind = unit::Kind::try_from(u.kind)
            .unwrap_or(unit::Kind::Unspecified)
            .as_str_name()
            .to_owned();
        let parent = if u.parent.is_empty() {
            None
        } else {
            Some(parse_name(&u.parent, "units", "unit.parent")?)
        };
        let new = NewUnit {
            code: u.code,
            kind,
            parent,
            display_name: u.display_name,
        };
        let created = unit_proto(&self.0.create_unit(&caller, new).await?);
        remember(&self.0, pending, &created).await?;
        Ok(Response::new(created))
    }

    async fn update_unit(&self, req: Request<UpdateUnitRequest>) -> Result<Response<Unit>, Status> {
        let r = req.into_inner();
        let u = r
            .unit
            .ok_or_else(|| Status::from(Error::field("unit", "is required")))?;
        let id = parse_name(&u.name, "units", "unit.name")?;
        let etag = parse_etag(&u.etag, "unit.etag")?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(
                Error::field("update_mask", "is required: display_name, kind or \"*\"").into(),
            );
        }
        if let Some(bad) = paths
            .iter()
            .find(|p| !matches!(p.as_str(), "*" | "display_name" | "kind"))
        {
            let why = format!(
                "{bad:?} cannot be updated (display_name, kind; move a unit with MoveUnit)"
            );
            return Err(Error::field("update_mask", why).into());
        }
        let wants = |f: &str| paths.iter().any(|p| p == f || p == "*");
        let name = wants("display_name").then_some(u.display_name);
        let kind = wants("kind").then(|| {
            unit::Kind::try_from(u.kind)
                .unwrap_or(unit::Kind::Unspecified)
                .as_str_name()
                .to_owned()
        });
        Ok(Response::new(unit_proto(
            &self.0.update_unit(id, etag, name, kind).await?,
        )))
    }

    async fn delete_unit(
        &self,
        req: Request<DeleteUnitRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let r = req.into_inner();
        let id = parse_name(&r.name, "units", "name")?;
        self.0.delete_unit(id, parse_etag(&r.etag, "etag")?).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn move_unit(&self, req: Request<MoveUnitRequest>) -> Result<Response<Unit>, Status> {
        let r = req.into_inner();
        let id = parse_name(&r.name, "units", "name")?;
        let parent = parse_name(&r.new_parent, "units", "new_parent")?;
        Ok(Response::new(unit_proto(
            &self
                .0
                .move_unit(id, parent, parse_etag(&r.etag, "etag")?)
                .await?,
        )))
    }

    async fn get_user(&self, req: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let principal = req.extensions().get::<Principal>().cloned();
        let id = self.target_user(
            &req.get_ref().name,
            principal.as_ref(),
            p::IDENTITY_USER_READ,
        )?;
        self.user_reply(&self.0.get_user(id).await?).await
    }

    async fn list_users(
        &self,
        req: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("users");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &USERS, "login_name")
            .map_err(query_error)?;
        let mut rows: Vec<UserRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(&mut rows, &params, user_sort, |u| u.id);
        let mut users = Vec::with_capacity(rows.len());
        for u in &rows {
            let roles = self.0.store.roles_of(u.id).await.map_err(Error::from)?;
            users.push(user_proto(
                u,
                roles.iter().map(|r| format!("roles/{}", r.id)).collect(),
            ));
        }
        Ok(Response::new(ListUsersResponse {
            users,
            next_page_token,
        }))
    }

    async fn create_user(&self, req: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let (pending, replay) = idempotent(&self.0, "CreateUser", &r.request_id, &r).await?;
        if let Some(bytes) = replay {
            return Ok(Response::new(replayed(&bytes)?));
        }
        let u = r
            .user
            .ok_or_else(|| Status::from(Error::field("user", "is required")))?;
        let unit = parse_name(&u.unit, "units", "user.unit")?;
        let none_if_empty = |s: String| (!s.trim().is_empty()).then_some(s);
        let new = NewUser {
            login_name: u.login_name,
            display_name: u.display_name,
            email: none_if_empty(u.email),
            phone: none_if_empty(u.phone),
            unit,
            password: r.password,
            require_password_change: r.require_password_change,
            roles: Vec::new(),
        };
        let created = self.0.create_user(&caller, new).await?;
        let reply = self.user_reply(&created).await?.into_inner();
        remember(&self.0, pending, &reply).await?;
        Ok(Response::new(reply))
    }

    async fn update_user(&self, req: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let u = r
            .user
            .ok_or_else(|| Status::from(Error::field("user", "is required")))?;
        let id = parse_name(&u.name, "users", "user.name")?;
        let etag = parse_etag(&u.etag, "user.etag")?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(
                Error::field("update_mask", "is required: name the fields to update").into(),
            );
        }
        const UPDATABLE: &[&str] = &["*", "display_name", "email", "phone", "unit", "status"];
        if let Some(bad) = paths.iter().find(|p| !UPDATABLE.contains(&p.as_str())) {
            let why = format!(
                "{bad:?} cannot be updated here (updatable: display_name, email, phone, unit, status)"
            );
            return Err(Error::field("update_mask", why).into());
        }
        let all = paths.iter().any(|p| p == "*");
        let wants = |f: &str| all || paths.iter().any(|p| p == f);
        let optional = |s: String| (!s.trim().is_empty()).then_some(s);
        let mut changes = UserChanges::default();
        if wants("display_name") {
            changes.display_name = Some(u.display_name);
        }
        if wants("email") {
            changes.email = Some(optional(u.email));
        }
        if wants("phone") {
            changes.phone = Some(optional(u.phone));
        }
        if wants("unit") {
            changes.unit = Some(parse_name(&u.unit, "units", "user.unit")?);
        }
        if wants("status") {
            let status = user::Status::try_from(u.status).unwrap_or(user::Status::Unspecified);
            changes.status = Some(status.as_str_name().to_owned());
        }
        let user = self.0.update_user(&caller, id, etag, changes).await?;
        self.user_reply(&user).await
    }

    async fn delete_user(
        &self,
        req: Request<DeleteUserRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "users", "name")?;
        let etag = parse_etag(&r.etag, "etag")?;
        self.0.delete_user(&caller, id, etag).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn change_password(
        &self,
        req: Request<ChangePasswordRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let me = caller.principal.as_ref().and_then(Principal::user_id);
        let id = if r.name == "users/me" {
            me
        } else {
            parse_name(&r.name, "users", "name").ok()
        };
        let Some(id) = id.filter(|id| Some(*id) == me) else {
            return Err(Error::PermissionDenied(
                "only the user can change their own password; use ResetPassword".into(),
            )
            .into());
        };
        let user = self
            .0
            .change_password(&caller, id, &r.old_password, &r.new_password)
            .await?;
        self.user_reply(&user).await
    }

    async fn reset_password(
        &self,
        req: Request<ResetPasswordRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "users", "name")?;
        let user = self
            .0
            .reset_password(&caller, id, &r.new_password, r.require_password_change)
            .await?;
        self.user_reply(&user).await
    }

    async fn assign_roles(
        &self,
        req: Request<AssignRolesRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "users", "name")?;
        let roles = r
            .roles
            .iter()
            .map(|n| parse_name(n, "roles", "roles"))
            .collect::<Result<Vec<_>, _>>()?;
        let etag = parse_etag(&r.etag, "etag")?;
        let user = self.0.assign_roles(&caller, id, roles, etag).await?;
        self.user_reply(&user).await
    }
}

fn unit_sort(u: &UnitRow, field: &str) -> SqlValue {
    match field {
        "code" => SqlValue::Text(u.code.clone()),
        "display_name" => SqlValue::Text(u.display_name.clone()),
        "path" => SqlValue::Text(u.path.clone()),
        _ => SqlValue::Timestamp(u.created_at),
    }
}

fn user_sort(u: &UserRow, field: &str) -> SqlValue {
    match field {
        "login_name" => SqlValue::Text(u.login_name.clone()),
        "display_name" => SqlValue::Text(u.display_name.clone()),
        _ => SqlValue::Timestamp(u.created_at),
    }
}
