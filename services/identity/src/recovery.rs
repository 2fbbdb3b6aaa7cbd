//! Recovering a lost administrator: `crm identity reset-admin`. The service refuses every change
//! that would leave no active administrator, but the last one can still forget their password,
//! leave, or be taken over. Then an operator with shell access to the server, and so to the
//! identity database, makes a user administrator again. That access is the authorisation; the
//! reset is recorded in the security audit log like any administrator's change.
use crate::{
    error::Error,
    password, roles,
    service::{auth::random_secret, directory::check_login},
    store::{EventRow, ResetBefore, Store, UserRow},
};
use uuid::Uuid;

/// The actor of the audit records of a reset: no user or API client did it.
pub const ACTOR: &str = "cli";
/// The command, named in the records' details so that an auditor can tell it from a reset
/// through the API.
pub const COMMAND: &str = "crm identity reset-admin";

/// A reset to make.
#[derive(Debug, Clone)]
pub struct ResetAdmin {
    /// Who becomes administrator; created when unknown.
    pub login_name: String,
    /// The new password; `None` generates one.
    pub password: Option<String>,
    /// The operating-system account that ran the command, for the audit record, when known.
    pub os_user: Option<String>,
}

/// What a reset did.
#[derive(Debug, Clone)]
pub struct AdminReset {
    /// The user now: active, unlocked, holding the Administrator role.
    pub user: UserRow,
    /// Whether the user was created.
    pub created: bool,
    /// The generated password, to show this once; `None` when it was given.
    pub generated_password: Option<String>,
    /// Sessions of the user that were revoked.
    pub sessions_revoked: u64,
}

/// Makes `reset.login_name` an active, unlocked administrator with a new password that must be
/// changed at the next login, ending its sessions; creates the user in the root unit when the
/// login name is unknown (and the built-in roles and the root when no server created them yet).
/// Writes PASSWORD_RESET, and ROLE_CHANGED / USER_STATUS_CHANGED when those changed, with the
/// actor "cli", in the same transaction.
pub async fn reset_admin(store: &Store, reset: ResetAdmin) -> Result<AdminReset, Error> {
    check_login(&reset.login_name).map_err(|e| Error::field("login_name", e))?;
    let (password, generated) = match reset.password.filter(|p| !p.is_empty()) {
        Some(p) => {
            password::check_policy(&p, &reset.login_name)
                .map_err(|e| Error::field("password", e))?;
            (p, false)
        }
        None => (generate(&reset.login_name)?, true),
    };
    crate::ensure_built_in_roles(store).await?;
    let root = crate::ensure_root(store).await?;
    let now = crm_platform::db::now();
    let new = UserRow {
        id: Uuid::now_v7(),
        login_name: reset.login_name.clone(),
        display_name: reset.login_name.clone(),
        email: None,
        phone: None,
        unit_id: root.id,
        status: "ACTIVE".to_owned(),
        password_hash: password::hash(&password)
            .map_err(|e| Error::Internal(format!("hashing: {e}")))?,
        // The password was printed on a terminal or sits in an environment variable: its
        // owner replaces it with one only they know.
        password_change_required: true,
        failed_login_count: 0,
        locked_until: None,
        last_login_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let os_user = reset.os_user.unwrap_or_default();
    let (user, before) = store
        .reset_admin(&new, |after, before| events(after, before, &os_user, now))
        .await?;
    Ok(AdminReset {
        created: before.user.is_none(),
        sessions_revoked: before.sessions_revoked,
        generated_password: generated.then_some(password),
        user,
    })
}

/// A random password that passes the policy. The policy refuses one containing the login name,
/// which a random one can by chance for a short name: draw again.
fn generate(login_name: &str) -> Result<String, Error> {
    for _ in 0..16 {
        let p = random_secret()?;
        if password::check_policy(&p, login_name).is_ok() {
            return Ok(p);
        }
    }
    Err(Error::Internal(
        "no generated password passed the password policy".into(),
    ))
}

/// The security events of a reset; details as documented per type in `security.proto`, plus
/// "reason", "command", "created" and "os_user" on each.
fn events(
    after: &UserRow,
    before: &ResetBefore,
    os_user: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<EventRow> {
    let common = [
        ("reason", "admin_reset".to_owned()),
        ("command", COMMAND.to_owned()),
        ("created", before.user.is_none().to_string()),
        ("os_user", os_user.to_owned()),
    ];
    let event = |r#type: &str, extra: &[(&str, String)]| {
        // A JSON object of strings, built as a Value: printing one cannot fail, so no error
        // path can leave the reset unrecorded.
        let details: serde_json::Map<String, serde_json::Value> = common
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
            .collect();
        EventRow {
            id: Uuid::now_v7(),
            r#type: r#type.to_owned(),
            actor: ACTOR.to_owned(),
            target: format!("users/{}", after.id),
            time: now,
            source_ip: String::new(),
            request_id: String::new(),
            trace_id: String::new(),
            details: serde_json::Value::Object(details).to_string(),
        }
    };
    let mut out = vec![event(
        "PASSWORD_RESET",
        &[
            ("require_password_change", "true".to_owned()),
            ("sessions_revoked", before.sessions_revoked.to_string()),
        ],
    )];
    if !before.roles.contains(&roles::ADMINISTRATOR) {
        let names = |ids: &[Uuid]| {
            ids.iter()
                .map(|r| format!("roles/{r}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut after_roles = before.roles.clone();
        after_roles.push(roles::ADMINISTRATOR);
        out.push(event(
            "ROLE_CHANGED",
            &[
                ("roles_before", names(&before.roles)),
                ("roles_after", names(&after_roles)),
            ],
        ));
    }
    if let Some(old) = &before.user {
        let status_before = if old.status == "ACTIVE" && old.locked_until.is_some_and(|t| t > now) {
            "LOCKED"
        } else {
            old.status.as_str()
        };
        if status_before != "ACTIVE" {
            out.push(event(
                "USER_STATUS_CHANGED",
                &[
                    ("status_before", status_before.to_owned()),
                    ("status_after", "ACTIVE".to_owned()),
                ],
            ));
        }
    }
    out
}
