//! Roles and API clients.
use super::{Caller, Identity, auth::random_secret};
use crate::{
    error::Error,
    password,
    store::{ClientRow, RoleRow},
};
use crm_platform::{auth::DataScope, permissions};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A role to create.
#[derive(Debug, Clone)]
pub struct NewRole {
    pub display_name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub scopes: BTreeMap<String, String>,
}

/// An API client to create.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub display_name: String,
    pub roles: Vec<Uuid>,
    pub unit: Option<Uuid>,
    pub allowed_cidrs: Vec<String>,
}

/// Longest a rotated-out secret may stay valid.
const MAX_GRACE: chrono::Duration = chrono::Duration::days(30);

impl Identity {
    /// A role's content is valid: a name, catalogue permissions, known families and scopes,
    /// and nothing the caller does not hold.
    fn check_role(&self, caller: &Caller, new: &NewRole) -> Result<(), Error> {
        if new.display_name.trim().is_empty() {
            return Err(Error::field("role.display_name", "is required"));
        }
        if let Some(p) = new.permissions.iter().find(|p| !permissions::exists(p)) {
            return Err(Error::field(
                "role.permissions",
                format!("{p:?} is not a permission (see ListPermissions)"),
            ));
        }
        for (family, scope) in &new.scopes {
            if !permissions::FAMILIES.contains(&family.as_str()) {
                return Err(Error::field(
                    "role.scopes",
                    format!("{family:?} is not a resource family"),
                ));
            }
            if DataScope::rank(scope) == 0 {
                return Err(Error::field(
                    "role.scopes",
                    format!("{scope:?} is not a data scope"),
                ));
            }
        }
        let principal = caller
            .principal
            .clone()
            .unwrap_or_else(crm_platform::auth::Principal::system);
        if let Some(p) = new.permissions.iter().find(|p| !principal.has(p)) {
            return Err(Error::PermissionDenied(format!(
                "cannot grant {p}, which the caller does not hold"
            )));
        }
        Ok(())
    }

    /// Creates a role from catalogue permissions and valid scopes.
    pub async fn create_role(&self, caller: &Caller, new: NewRole) -> Result<RoleRow, Error> {
        self.check_role(caller, &new)?;
        let now = crm_platform::db::now();
        let row = RoleRow {
            id: Uuid::now_v7(),
            display_name: new.display_name,
            description: new.description,
            permissions: serde_json::to_string(&new.permissions)
                .map_err(|e| Error::Internal(e.to_string()))?,
            scopes: serde_json::to_string(&new.scopes)
                .map_err(|e| Error::Internal(e.to_string()))?,
            built_in: false,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.store.ensure_role(&row).await.map_err(|e| match e {
            crm_platform::db::DbError::UniqueViolation { .. } => {
                Error::AlreadyExists(format!("a role named {:?}", row.display_name))
            }
            e => e.into(),
        })?;
        self.audit(
            caller,
            "PERMISSION_CHANGED",
            &format!("roles/{}", row.id),
            &[("permissions", row.permissions.clone())],
        )
        .await?;
        Ok(row)
    }

    /// One role.
    pub async fn get_role(&self, id: Uuid) -> Result<RoleRow, Error> {
        self.store
            .role(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("roles/{id}")))
    }

    /// Creates an API client; returns it with its secret, shown this once.
    pub async fn create_client(
        &self,
        caller: &Caller,
        new: NewClient,
    ) -> Result<(ClientRow, String), Error> {
        if new.display_name.trim().is_empty() {
            return Err(Error::field("api_client.display_name", "is required"));
        }
        for cidr in &new.allowed_cidrs {
            let (addr, bits) = cidr.split_once('/').unwrap_or((cidr, "0"));
            if addr.parse::<std::net::IpAddr>().is_err() || bits.parse::<u8>().is_err() {
                return Err(Error::field(
                    "api_client.allowed_cidrs",
                    format!("{cidr:?} is not an address range"),
                ));
            }
        }
        if let Some(unit) = new.unit
            && self.store.unit(unit).await?.is_none()
        {
            return Err(Error::field("api_client.unit", "does not exist"));
        }
        self.check_grantable(caller, &new.roles).await?;
        let secret = random_secret()?;
        let now = crm_platform::db::now();
        let row = ClientRow {
            id: Uuid::now_v7(),
            client_id: format!("crm-{}", Uuid::now_v7().simple()),
            display_name: new.display_name,
            unit_id: new.unit,
            role_ids: serde_json::to_string(&new.roles)
                .map_err(|e| Error::Internal(e.to_string()))?,
            allowed_cidrs: serde_json::to_string(&new.allowed_cidrs)
                .map_err(|e| Error::Internal(e.to_string()))?,
            status: "ACTIVE".to_owned(),
            secret_hash: password::hash(&secret).map_err(|e| Error::Internal(e.to_string()))?,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            secret_rotated_at: now,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_client(&row).await?;
        self.audit(
            caller,
            "API_CLIENT_CREATED",
            &format!("apiClients/{}", row.id),
            &[],
        )
        .await?;
        Ok((row, secret))
    }

    /// One API client.
    pub async fn get_client(&self, id: Uuid) -> Result<ClientRow, Error> {
        self.store
            .client(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("apiClients/{id}")))
    }

    /// Issues a new secret; the current one stays valid for `grace` (default 24 h, at most 30 days).
    pub async fn rotate_client(
        &self,
        caller: &Caller,
        id: Uuid,
        grace: Option<chrono::Duration>,
        etag: Option<i64>,
    ) -> Result<(ClientRow, String), Error> {
        let client = self.get_client(id).await?;
        if etag.is_some_and(|e| e != client.version) {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        let grace = grace.unwrap_or(chrono::Duration::hours(24));
        if grace < chrono::Duration::zero() || grace > MAX_GRACE {
            return Err(Error::field(
                "grace_period",
                "must be between 0 and 30 days",
            ));
        }
        let secret = random_secret()?;
        let now = crm_platform::db::now();
        let hash = password::hash(&secret).map_err(|e| Error::Internal(e.to_string()))?;
        let until = (grace > chrono::Duration::zero()).then(|| now + grace);
        if !self
            .store
            .rotate_secret(id, client.version, &hash, until, now)
            .await?
        {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        self.audit(
            caller,
            "API_CLIENT_ROTATED",
            &format!("apiClients/{id}"),
            &[("grace_seconds", grace.num_seconds().to_string())],
        )
        .await?;
        Ok((self.get_client(id).await?, secret))
    }
}

/// Changes to an API client.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub display_name: Option<String>,
    /// "ACTIVE" or "DISABLED".
    pub status: Option<String>,
    pub roles: Option<Vec<Uuid>>,
    pub allowed_cidrs: Option<Vec<String>>,
}

impl Identity {
    /// Changes an API client; disabling stops new tokens at once.
    pub async fn update_client(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
        changes: ClientChanges,
    ) -> Result<ClientRow, Error> {
        let current = self.get_client(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        let mut next = current.clone();
        if let Some(name) = changes.display_name {
            if name.trim().is_empty() {
                return Err(Error::field("api_client.display_name", "is required"));
            }
            next.display_name = name;
        }
        if let Some(status) = changes.status {
            if !matches!(status.as_str(), "ACTIVE" | "DISABLED") {
                return Err(Error::field(
                    "api_client.status",
                    "must be ACTIVE or DISABLED",
                ));
            }
            next.status = status;
        }
        if let Some(roles) = changes.roles {
            self.check_grantable(caller, &roles).await?;
            next.role_ids =
                serde_json::to_string(&roles).map_err(|e| Error::Internal(e.to_string()))?;
        }
        if let Some(cidrs) = changes.allowed_cidrs {
            next.allowed_cidrs =
                serde_json::to_string(&cidrs).map_err(|e| Error::Internal(e.to_string()))?;
        }
        next.updated_at = crm_platform::db::now();
        if !self.store.update_client(&next, current.version).await? {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        if next.status == "DISABLED" && current.status != "DISABLED" {
            self.audit(
                caller,
                "API_CLIENT_DISABLED",
                &format!("apiClients/{id}"),
                &[],
            )
            .await?;
        }
        if next.role_ids != current.role_ids {
            self.audit(
                caller,
                "ROLE_CHANGED",
                &format!("apiClients/{id}"),
                &[("roles", next.role_ids.clone())],
            )
            .await?;
        }
        self.get_client(id).await
    }

    /// Deletes an API client.
    pub async fn delete_client(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
    ) -> Result<(), Error> {
        let current = self.get_client(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        if !self
            .store
            .delete_at_version("api_clients", id, current.version)
            .await?
        {
            return Err(Error::EtagMismatch(format!("apiClients/{id}")));
        }
        self.audit(
            caller,
            "API_CLIENT_DELETED",
            &format!("apiClients/{id}"),
            &[],
        )
        .await
    }
}

/// Changes to a role.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub scopes: Option<BTreeMap<String, String>>,
}

impl Identity {
    /// Changes a custom role; built-in roles are fixed.
    pub async fn update_role(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
        changes: RoleChanges,
    ) -> Result<RoleRow, Error> {
        let current = self.get_role(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("roles/{id}")));
        }
        // This also keeps the last-administrator rule for role edits: an administrator is a
        // holder of the built-in Administrator role, which therefore can never be stripped, and
        // editing any other role does not change who holds it.
        if current.built_in {
            return Err(Error::FailedPrecondition(
                "built-in roles cannot be changed; create a role of your own".into(),
            ));
        }
        let permissions: Vec<String> = match changes.permissions.clone() {
            Some(p) => p,
            None => serde_json::from_str(&current.permissions)
                .map_err(|e| Error::Internal(e.to_string()))?,
        };
        let scopes: BTreeMap<String, String> = match changes.scopes.clone() {
            Some(s) => s,
            None => {
                serde_json::from_str(&current.scopes).map_err(|e| Error::Internal(e.to_string()))?
            }
        };
        // The same checks as a new role: catalogue permissions, valid scopes, nothing beyond
        // what the caller holds.
        let check = NewRole {
            display_name: changes
                .display_name
                .clone()
                .unwrap_or_else(|| current.display_name.clone()),
            description: changes
                .description
                .clone()
                .unwrap_or_else(|| current.description.clone()),
            permissions,
            scopes,
        };
        self.check_role(caller, &check)?;
        let mut next = current.clone();
        next.display_name = check.display_name;
        next.description = check.description;
        next.permissions = serde_json::to_string(&check.permissions)
            .map_err(|e| Error::Internal(e.to_string()))?;
        next.scopes =
            serde_json::to_string(&check.scopes).map_err(|e| Error::Internal(e.to_string()))?;
        next.updated_at = crm_platform::db::now();
        if !self.store.update_role(&next, current.version).await? {
            return Err(Error::EtagMismatch(format!("roles/{id}")));
        }
        if next.permissions != current.permissions {
            self.audit(
                caller,
                "PERMISSION_CHANGED",
                &format!("roles/{id}"),
                &[("permissions", next.permissions.clone())],
            )
            .await?;
        }
        if next.scopes != current.scopes {
            self.audit(
                caller,
                "SCOPE_CHANGED",
                &format!("roles/{id}"),
                &[("scopes", next.scopes.clone())],
            )
            .await?;
        }
        self.get_role(id).await
    }

    /// Deletes a custom role nobody holds.
    pub async fn delete_role(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
    ) -> Result<(), Error> {
        let current = self.get_role(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("roles/{id}")));
        }
        // Like in update_role, this is what keeps the Administrator role, and with it the last
        // administrator, from being deleted (the store's DELETE refuses built-ins too).
        if current.built_in {
            return Err(Error::FailedPrecondition(
                "built-in roles cannot be deleted".into(),
            ));
        }
        if self.store.role_in_use(id).await? {
            return Err(Error::FailedPrecondition(format!(
                "roles/{id} is still held by users or API clients"
            )));
        }
        if !self.store.delete_role(id, current.version).await? {
            return Err(Error::EtagMismatch(format!("roles/{id}")));
        }
        self.audit(
            caller,
            "PERMISSION_CHANGED",
            &format!("roles/{id}"),
            &[("deleted", "true".into())],
        )
        .await
    }
}
