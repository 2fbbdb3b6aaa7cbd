//! The organisation tree and users.
use super::{Caller, Identity};
use crate::{
    error::Error,
    password,
    store::{Guarded, UnitRow, UserRow},
};
use crm_platform::auth::Principal;
use uuid::Uuid;

/// Unit kinds from the top of the tree down; a unit may not rank above its parent.
pub const UNIT_KINDS: &[&str] = &["GROUP", "COMPANY", "REGION", "DEPARTMENT", "TEAM"];

/// A unit to create.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub code: String,
    pub kind: String,
    pub parent: Option<Uuid>,
    pub display_name: String,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub unit: Uuid,
    pub password: String,
    pub require_password_change: bool,
    pub roles: Vec<Uuid>,
}

/// Checks a unit code: lower-case letters, digits and "-", 1-32 characters.
pub fn check_code(code: &str) -> Result<(), &'static str> {
    let ok = (1..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("must be 1-32 lower-case letters, digits or \"-\"")
    }
}

/// Checks a login name: 3-64 characters of letters, digits, ".", "_", "-", "@".
pub fn check_login(login: &str) -> Result<(), &'static str> {
    let ok = (3..=64).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err("must be 3-64 letters, digits, \".\", \"_\", \"-\" or \"@\"")
    }
}

impl Identity {
    /// Creates a unit below its parent (or the root, when the tree is empty).
    pub async fn create_unit(&self, _caller: &Caller, new: NewUnit) -> Result<UnitRow, Error> {
        check_code(&new.code).map_err(|e| Error::field("unit.code", e))?;
        let rank = UNIT_KINDS
            .iter()
            .position(|k| *k == new.kind)
            .ok_or_else(|| Error::field("unit.kind", "is required"))?;
        let path = match new.parent {
            Some(parent) => {
                let parent = self
                    .store
                    .unit(parent)
                    .await?
                    .ok_or_else(|| Error::field("unit.parent", "does not exist"))?;
                let parent_rank = UNIT_KINDS
                    .iter()
                    .position(|k| *k == parent.kind)
                    .unwrap_or(0);
                if rank < parent_rank {
                    return Err(Error::field(
                        "unit.kind",
                        format!("cannot be below a {}", parent.kind),
                    ));
                }
                format!("{}{}/", parent.path, new.code)
            }
            None => {
                if self.store.root_unit().await?.is_some() {
                    return Err(Error::field(
                        "unit.parent",
                        "is required: the tree already has its root",
                    ));
                }
                format!("/{}/", new.code)
            }
        };
        let now = crm_platform::db::now();
        let row = UnitRow {
            id: Uuid::now_v7(),
            code: new.code,
            kind: new.kind,
            parent_id: new.parent,
            path,
            display_name: new.display_name,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_unit(&row).await {
            Ok(()) => Ok(row),
            Err(crm_platform::db::DbError::UniqueViolation { .. }) => Err(Error::AlreadyExists(
                format!("a unit with code {:?}", row.code),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// One unit.
    pub async fn get_unit(&self, id: Uuid) -> Result<UnitRow, Error> {
        self.store
            .unit(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("units/{id}")))
    }

    /// Creates a user (the password policy applies; roles may only grant what the caller holds).
    pub async fn create_user(&self, caller: &Caller, new: NewUser) -> Result<UserRow, Error> {
        check_login(&new.login_name).map_err(|e| Error::field("user.login_name", e))?;
        password::check_policy(&new.password, &new.login_name)
            .map_err(|e| Error::field("password", e))?;
        if self.store.unit(new.unit).await?.is_none() {
            return Err(Error::field("user.unit", "does not exist"));
        }
        self.check_grantable(caller, &new.roles).await?;
        let now = crm_platform::db::now();
        let hash =
            password::hash(&new.password).map_err(|e| Error::Internal(format!("hashing: {e}")))?;
        let row = UserRow {
            id: Uuid::now_v7(),
            login_name: new.login_name,
            display_name: new.display_name,
            email: new.email,
            phone: new.phone,
            unit_id: new.unit,
            status: "ACTIVE".to_owned(),
            password_hash: hash,
            password_change_required: new.require_password_change,
            failed_login_count: 0,
            locked_until: None,
            last_login_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_user(&row, &new.roles).await {
            Ok(()) => Ok(row),
            Err(e) if e.is_unique("login_name") => Err(Error::AlreadyExists(format!(
                "login name {:?}",
                row.login_name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// One user.
    pub async fn get_user(&self, id: Uuid) -> Result<UserRow, Error> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("users/{id}")))
    }

    /// Refuses to grant roles with permissions the caller does not hold (no escalation).
    pub async fn check_grantable(&self, caller: &Caller, roles: &[Uuid]) -> Result<(), Error> {
        let principal = caller.principal.clone().unwrap_or_else(Principal::system);
        for id in roles {
            let role = self
                .store
                .role(*id)
                .await?
                .ok_or_else(|| Error::field("roles", format!("roles/{id} does not exist")))?;
            let perms: Vec<String> = serde_json::from_str(&role.permissions)
                .map_err(|e| Error::Internal(e.to_string()))?;
            if let Some(missing) = perms.iter().find(|p| !principal.has(p)) {
                return Err(Error::PermissionDenied(format!(
                    "granting roles/{id} needs {missing}, which the caller does not hold"
                )));
            }
        }
        Ok(())
    }

    /// Replaces a user's roles.
    pub async fn assign_roles(
        &self,
        caller: &Caller,
        user: Uuid,
        roles: Vec<Uuid>,
        etag: Option<i64>,
    ) -> Result<UserRow, Error> {
        let current = self.get_user(user).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("users/{user}")));
        }
        self.check_grantable(caller, &roles).await?;
        let written = self
            .store
            .set_roles(user, current.version, &roles, crm_platform::db::now())
            .await?;
        guarded(written, &format!("users/{user}"), || {
            format!("taking the Administrator role from users/{user}")
        })?;
        let names: Vec<String> = roles.iter().map(|r| format!("roles/{r}")).collect();
        self.audit(
            caller,
            "ROLE_CHANGED",
            &format!("users/{user}"),
            &[("roles", names.join(","))],
        )
        .await?;
        self.get_user(user).await
    }

    /// Changes one's own password, proving the old one.
    pub async fn change_password(
        &self,
        caller: &Caller,
        user: Uuid,
        old: &str,
        new: &str,
    ) -> Result<UserRow, Error> {
        let row = self.get_user(user).await?;
        if !password::verify(old, &row.password_hash) {
            self.audit(
                caller,
                "LOGIN_FAILED",
                &format!("users/{user}"),
                &[("reason", "wrong old password".into())],
            )
            .await?;
            return Err(Error::field("old_password", "is not the current password"));
        }
        password::check_policy(new, &row.login_name)
            .map_err(|e| Error::field("new_password", e))?;
        let hash = password::hash(new).map_err(|e| Error::Internal(format!("hashing: {e}")))?;
        self.store
            .set_password(user, &hash, false, crm_platform::db::now())
            .await?;
        self.audit(caller, "PASSWORD_CHANGED", &format!("users/{user}"), &[])
            .await?;
        self.get_user(user).await
    }

    /// Sets another user's password (administrators); unlocks the account.
    pub async fn reset_password(
        &self,
        caller: &Caller,
        user: Uuid,
        new: &str,
        require_change: bool,
    ) -> Result<UserRow, Error> {
        let row = self.get_user(user).await?;
        password::check_policy(new, &row.login_name)
            .map_err(|e| Error::field("new_password", e))?;
        let hash = password::hash(new).map_err(|e| Error::Internal(format!("hashing: {e}")))?;
        self.store
            .set_password(user, &hash, require_change, crm_platform::db::now())
            .await?;
        self.audit(caller, "PASSWORD_RESET", &format!("users/{user}"), &[])
            .await?;
        self.get_user(user).await
    }
}

/// Changes to a user: `None` leaves a field; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub unit: Option<Uuid>,
    /// "ACTIVE" or "DISABLED".
    pub status: Option<String>,
}

impl Identity {
    /// Changes a user's profile, unit or status. Disabling ends every session of the user at
    /// once (their access tokens run out within the access token lifetime).
    pub async fn update_user(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
        changes: UserChanges,
    ) -> Result<UserRow, Error> {
        let current = self.get_user(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("users/{id}")));
        }
        let mut next = current.clone();
        if let Some(name) = changes.display_name {
            if name.trim().is_empty() {
                return Err(Error::field("user.display_name", "is required"));
            }
            next.display_name = name;
        }
        if let Some(email) = changes.email {
            next.email = email;
        }
        if let Some(phone) = changes.phone {
            next.phone = phone;
        }
        if let Some(unit) = changes.unit {
            if self.store.unit(unit).await?.is_none() {
                return Err(Error::field("user.unit", "does not exist"));
            }
            next.unit_id = unit;
        }
        if let Some(status) = changes.status {
            if !matches!(status.as_str(), "ACTIVE" | "DISABLED") {
                return Err(Error::field(
                    "user.status",
                    "must be ACTIVE or DISABLED (LOCKED is set by failed logins)",
                ));
            }
            next.status = status;
        }
        next.updated_at = crm_platform::db::now();
        let written = self.store.update_user(&next, current.version).await?;
        guarded(written, &format!("users/{id}"), || {
            format!("setting users/{id} to {}", next.status)
        })?;
        if next.status != current.status {
            if next.status == "DISABLED" {
                self.store.revoke_user_sessions(id, next.updated_at).await?;
            }
            self.audit(
                caller,
                "USER_STATUS_CHANGED",
                &format!("users/{id}"),
                &[("status", next.status.clone())],
            )
            .await?;
        }
        self.get_user(id).await
    }

    /// Deletes a user (their sessions end; the audit log keeps their name).
    pub async fn delete_user(
        &self,
        caller: &Caller,
        id: Uuid,
        etag: Option<i64>,
    ) -> Result<(), Error> {
        let current = self.get_user(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("users/{id}")));
        }
        if caller.principal.as_ref().and_then(Principal::user_id) == Some(id) {
            return Err(Error::FailedPrecondition(
                "users cannot delete themselves".into(),
            ));
        }
        let written = self.store.delete_user(id, current.version).await?;
        guarded(written, &format!("users/{id}"), || {
            format!("deleting users/{id}")
        })?;
        self.audit(
            caller,
            "USER_STATUS_CHANGED",
            &format!("users/{id}"),
            &[("status", "DELETED".into())],
        )
        .await
    }
}

impl Identity {
    /// Changes a unit's display name or kind (a kind may not rank above its parent's or below
    /// its children's).
    pub async fn update_unit(
        &self,
        id: Uuid,
        etag: Option<i64>,
        display_name: Option<String>,
        kind: Option<String>,
    ) -> Result<UnitRow, Error> {
        let current = self.get_unit(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        let mut next = current.clone();
        if let Some(name) = display_name {
            if name.trim().is_empty() {
                return Err(Error::field("unit.display_name", "is required"));
            }
            next.display_name = name;
        }
        if let Some(kind) = kind {
            let rank = rank(&kind).ok_or_else(|| Error::field("unit.kind", "is required"))?;
            if let Some(parent) = current.parent_id
                && let Some(parent) = self.store.unit(parent).await?
                && rank < self::rank(&parent.kind).unwrap_or(0)
            {
                return Err(Error::field(
                    "unit.kind",
                    format!("cannot be above its parent, a {}", parent.kind),
                ));
            }
            let mut q = crate::store::Store::list_query("units");
            q.push("parent_id = ");
            q.push_bind(crm_platform::sql::SqlValue::Uuid(id));
            let children: Vec<UnitRow> = self.store.fetch(q).await?;
            if children
                .iter()
                .any(|c| self::rank(&c.kind).unwrap_or(0) < rank)
            {
                return Err(Error::field(
                    "unit.kind",
                    "cannot be below one of its children",
                ));
            }
            next.kind = kind;
        }
        next.updated_at = crm_platform::db::now();
        if !self.store.update_unit(&next, current.version).await? {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        self.get_unit(id).await
    }

    /// Deletes an empty unit (no children, users or API clients); never the root.
    pub async fn delete_unit(&self, id: Uuid, etag: Option<i64>) -> Result<(), Error> {
        let current = self.get_unit(id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        if current.parent_id.is_none() {
            return Err(Error::FailedPrecondition(
                "the root unit cannot be deleted".into(),
            ));
        }
        if self.store.unit_dependents(id).await? > 0 {
            return Err(Error::FailedPrecondition(format!(
                "units/{id} still has units, users or API clients"
            )));
        }
        if !self
            .store
            .delete_at_version("units", id, current.version)
            .await?
        {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        Ok(())
    }

    /// Moves a unit and its subtree below another parent.
    pub async fn move_unit(
        &self,
        id: Uuid,
        new_parent: Uuid,
        etag: Option<i64>,
    ) -> Result<UnitRow, Error> {
        let unit = self.get_unit(id).await?;
        if etag.is_some_and(|e| e != unit.version) {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        if unit.parent_id.is_none() {
            return Err(Error::field("name", "the root unit cannot be moved"));
        }
        let parent = self
            .store
            .unit(new_parent)
            .await?
            .ok_or_else(|| Error::field("new_parent", "does not exist"))?;
        if parent.path.starts_with(&unit.path) {
            return Err(Error::field(
                "new_parent",
                "is the unit itself or inside its subtree",
            ));
        }
        if rank(&unit.kind).unwrap_or(0) < rank(&parent.kind).unwrap_or(0) {
            return Err(Error::field(
                "new_parent",
                format!("a {} cannot be below a {}", unit.kind, parent.kind),
            ));
        }
        let new_path = format!("{}{}/", parent.path, unit.code);
        if !self
            .store
            .move_unit(&unit, new_parent, &new_path, crm_platform::db::now())
            .await?
        {
            return Err(Error::EtagMismatch(format!("units/{id}")));
        }
        self.get_unit(id).await
    }
}

/// The error of a write under the last-administrator rule: `name` was stale, or `what` would
/// have left no active administrator.
fn guarded(written: Guarded, name: &str, what: impl FnOnce() -> String) -> Result<(), Error> {
    match written {
        Guarded::Done => Ok(()),
        Guarded::Stale => Err(Error::EtagMismatch(name.to_owned())),
        Guarded::LastAdministrator => Err(Error::LastAdministrator(what())),
    }
}

/// The rank of a unit kind, 0 for the top (GROUP).
pub fn rank(kind: &str) -> Option<usize> {
    UNIT_KINDS.iter().position(|k| *k == kind)
}
