//! The last-administrator rule and `crm identity reset-admin`'s recovery.
use super::{ADMIN_PASSWORD, anonymous, identity, system};
use crm_identity::{
    error::Error,
    recovery::{self, ResetAdmin},
    roles,
    service::{
        Caller, Identity,
        access::RoleChanges,
        directory::{NewUser, UserChanges},
    },
    store::{EventRow, MIGRATIONS, Store},
};
use crm_platform::{
    auth::Principal,
    db::Db,
    error::{ErrorKind, ServiceError},
    permissions as p,
    token::Verifier,
};
use std::collections::BTreeMap;
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    last_administrator_cannot_drop_the_role,
    last_administrator_cannot_be_disabled_or_deleted,
    administrator_role_cannot_be_stripped_or_deleted,
    one_of_two_administrators_can_be_removed,
    concurrent_removals_leave_an_administrator,
    reset_admin_restores_a_lost_administrator,
    reset_admin_creates_an_unknown_login,
);

const PASSWORD: &str = "a long enough password";

/// The caller `login` signed in as, with the permissions its token grants.
async fn signed_in(identity: &Identity, login: &str, password: &str) -> Caller {
    let tokens = identity
        .login(&anonymous("10.2.0.1"), login, password)
        .await
        .unwrap();
    let verifier = Verifier::new(
        &crm_identity::jwks(identity).unwrap(),
        crm_identity::ISSUER,
        crm_identity::AUDIENCE,
    )
    .unwrap();
    let claims = verifier
        .verify(&tokens.access_token, chrono::Utc::now().timestamp())
        .unwrap();
    Caller {
        principal: Some(Principal::from_claims(&claims, &tokens.access_token).unwrap()),
        source_ip: "10.2.0.1".into(),
        request_id: "guard".into(),
    }
}

async fn user_id(identity: &Identity, login: &str) -> Uuid {
    identity
        .store
        .user_by_login(login)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn new_user(identity: &Identity, login: &str, roles: Vec<Uuid>) -> Uuid {
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let user = NewUser {
        login_name: login.into(),
        display_name: login.into(),
        email: None,
        phone: None,
        unit: root.id,
        password: PASSWORD.into(),
        require_password_change: false,
        roles,
    };
    identity.create_user(&system(), user).await.unwrap().id
}

async fn role_ids(identity: &Identity, user: Uuid) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = identity
        .store
        .roles_of(user)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// Active users holding the Administrator role, read afresh.
async fn active_administrators(identity: &Identity) -> Vec<String> {
    let mut q = Store::list_query("users");
    q.push("status = 'ACTIVE'");
    let users: Vec<crm_identity::store::UserRow> = identity.store.fetch(q).await.unwrap();
    let mut out = Vec::new();
    for u in users {
        if role_ids(identity, u.id)
            .await
            .contains(&roles::ADMINISTRATOR)
        {
            out.push(u.login_name);
        }
    }
    out.sort();
    out
}

/// The refusal of the rule: its own error, FAILED_PRECONDITION with the stable reason
/// LAST_ADMINISTRATOR and a message that says why.
fn assert_last_administrator(result: Result<impl std::fmt::Debug, Error>) {
    let err = result.expect_err("the change must be refused");
    assert!(matches!(err, Error::LastAdministrator(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(err.reason(), "LAST_ADMINISTRATOR");
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("no active administrator"),
        "{}",
        status.message()
    );
}

/// The security events `actor` wrote about `target`, oldest first.
async fn events_by(identity: &Identity, actor: &str, target: &str) -> Vec<EventRow> {
    let mut q = Store::list_query("security_events");
    q.push("actor = ");
    q.push_bind(crm_platform::sql::SqlValue::Text(actor.into()));
    q.push(" AND target = ");
    q.push_bind(crm_platform::sql::SqlValue::Text(target.into()));
    q.push(" ORDER BY id");
    identity.store.fetch(q).await.unwrap()
}

fn details(e: &EventRow) -> BTreeMap<String, String> {
    serde_json::from_str(&e.details).unwrap()
}

async fn last_administrator_cannot_drop_the_role(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let me = signed_in(&identity, "admin", ADMIN_PASSWORD).await;
    let before = identity.get_user(admin).await.unwrap();

    assert_last_administrator(identity.assign_roles(&me, admin, vec![], None).await);
    assert_last_administrator(
        identity
            .assign_roles(
                &me,
                admin,
                vec![roles::SALES_MANAGER, roles::AUDITOR],
                Some(before.version),
            )
            .await,
    );
    // Nothing changed: the roles, the version, and no ROLE_CHANGED was recorded.
    assert_eq!(role_ids(&identity, admin).await, vec![roles::ADMINISTRATOR]);
    assert_eq!(
        identity.get_user(admin).await.unwrap().version,
        before.version
    );
    assert!(
        events_by(&identity, &me.actor(), &format!("users/{admin}"))
            .await
            .iter()
            .all(|e| e.r#type != "ROLE_CHANGED")
    );

    // Adding roles beside Administrator is fine.
    identity
        .assign_roles(&me, admin, vec![roles::ADMINISTRATOR, roles::AUDITOR], None)
        .await
        .unwrap();
    assert_eq!(
        role_ids(&identity, admin).await,
        vec![roles::ADMINISTRATOR, roles::AUDITOR]
    );
}

async fn last_administrator_cannot_be_disabled_or_deleted(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let me = signed_in(&identity, "admin", ADMIN_PASSWORD).await;
    // An administrator that is disabled does not count.
    let deputy = new_user(&identity, "deputy", vec![roles::ADMINISTRATOR]).await;
    let off = UserChanges {
        status: Some("DISABLED".into()),
        ..UserChanges::default()
    };
    identity
        .update_user(&me, deputy, None, off.clone())
        .await
        .unwrap();

    assert_last_administrator(identity.update_user(&me, admin, None, off.clone()).await);
    assert_last_administrator(identity.update_user(&system(), admin, None, off).await);
    let after = identity.get_user(admin).await.unwrap();
    assert_eq!(after.status, "ACTIVE");
    identity
        .login(&anonymous("10.2.0.2"), "admin", ADMIN_PASSWORD)
        .await
        .expect("the administrator can still sign in");

    // Deleting is refused whoever asks (an administrator cannot delete themselves anyway).
    assert_last_administrator(identity.delete_user(&system(), admin, None).await);
    assert_eq!(
        identity.get_user(admin).await.unwrap().version,
        after.version
    );
    assert_eq!(role_ids(&identity, admin).await, vec![roles::ADMINISTRATOR]);

    // Other changes of the last administrator go through.
    let renamed = UserChanges {
        display_name: Some("Root".into()),
        ..UserChanges::default()
    };
    let renamed = identity
        .update_user(&me, admin, Some(after.version), renamed)
        .await
        .unwrap();
    assert_eq!(
        (renamed.display_name.as_str(), renamed.status.as_str()),
        ("Root", "ACTIVE")
    );
    assert_eq!(active_administrators(&identity).await, vec!["admin"]);
}

async fn administrator_role_cannot_be_stripped_or_deleted(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let me = signed_in(&identity, "admin", ADMIN_PASSWORD).await;
    let role = identity.get_role(roles::ADMINISTRATOR).await.unwrap();

    let strip = RoleChanges {
        permissions: Some(vec![p::CUSTOMERS_CUSTOMER_READ.into()]),
        ..RoleChanges::default()
    };
    let err = identity
        .update_role(&me, roles::ADMINISTRATOR, None, strip)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition, "{err:?}");
    let err = identity
        .delete_role(&me, roles::ADMINISTRATOR, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition, "{err:?}");

    assert_eq!(identity.get_role(roles::ADMINISTRATOR).await.unwrap(), role);
    let all: Vec<String> = serde_json::from_str(&role.permissions).unwrap();
    assert!(all.iter().any(|x| x == p::IDENTITY_ROLE_ASSIGN));
    assert_eq!(role_ids(&identity, admin).await, vec![roles::ADMINISTRATOR]);
    assert_eq!(active_administrators(&identity).await, vec!["admin"]);
}

async fn one_of_two_administrators_can_be_removed(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let me = signed_in(&identity, "admin", ADMIN_PASSWORD).await;

    // Demoted, disabled, deleted: each is fine while another active administrator remains.
    let deputy = new_user(&identity, "deputy", vec![roles::ADMINISTRATOR]).await;
    identity
        .assign_roles(&me, deputy, vec![roles::SALES_REP], None)
        .await
        .unwrap();
    assert_eq!(role_ids(&identity, deputy).await, vec![roles::SALES_REP]);

    let second = new_user(&identity, "second", vec![roles::ADMINISTRATOR]).await;
    let off = UserChanges {
        status: Some("DISABLED".into()),
        ..UserChanges::default()
    };
    let disabled = identity.update_user(&me, second, None, off).await.unwrap();
    assert_eq!(disabled.status, "DISABLED");
    identity.delete_user(&me, second, None).await.unwrap();
    assert!(matches!(
        identity.get_user(second).await,
        Err(Error::NotFound(_))
    ));

    // An administrator may give up their own role once someone else holds it.
    let heir = new_user(&identity, "heir", vec![roles::ADMINISTRATOR]).await;
    identity
        .assign_roles(&me, admin, vec![roles::AUDITOR], None)
        .await
        .unwrap();
    assert_eq!(role_ids(&identity, admin).await, vec![roles::AUDITOR]);
    assert_eq!(active_administrators(&identity).await, vec!["heir"]);
    // Now the heir is the last one.
    assert_last_administrator(identity.delete_user(&system(), heir, None).await);
    assert!(identity.get_user(heir).await.is_ok());
}

async fn concurrent_removals_leave_an_administrator(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let deputy = new_user(&identity, "deputy", vec![roles::ADMINISTRATOR]).await;
    let (one, other) = (system(), system());
    // Each demotes the other at the same time, several rounds: exactly one may win each round.
    for round in 0..5 {
        let (a, b) = tokio::join!(
            identity.assign_roles(&one, deputy, vec![], None),
            identity.assign_roles(&other, admin, vec![], None),
        );
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(Error::LastAdministrator(_))))
            .count();
        assert!(
            a.is_ok() || b.is_ok(),
            "round {round}: one demotion goes through: {a:?} {b:?}"
        );
        assert_eq!(refused, 1, "round {round}: {a:?} {b:?}");
        assert_eq!(
            active_administrators(&identity).await.len(),
            1,
            "round {round}"
        );
        // Both administrators again for the next round.
        let demoted = if a.is_ok() { deputy } else { admin };
        identity
            .assign_roles(&system(), demoted, vec![roles::ADMINISTRATOR], None)
            .await
            .unwrap();
    }
}

async fn reset_admin_restores_a_lost_administrator(db: Db) {
    let identity = identity(db).await;
    let admin = user_id(&identity, "admin").await;
    let session = identity
        .login(&anonymous("10.2.0.3"), "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    // Lose the administrator behind the service's back, as a bad manual edit or an attacker
    // with database access would: disabled, locked, without the role.
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    crm_platform::with_pool!(identity.store.db(), |pool| {
        sqlx::query("UPDATE users SET status = 'DISABLED', failed_login_count = 9, locked_until = $1 WHERE id = $2")
            .bind(until)
            .bind(admin)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(admin)
            .execute(pool)
            .await
            .unwrap();
    });
    assert!(active_administrators(&identity).await.is_empty());
    let lost = identity.get_user(admin).await.unwrap();

    let reset = ResetAdmin {
        login_name: "admin".into(),
        password: Some("the recovered password".into()),
        os_user: Some("ops".into()),
    };
    let done = recovery::reset_admin(&identity.store, reset).await.unwrap();
    assert!(!done.created);
    assert_eq!(
        done.generated_password, None,
        "a given password is not echoed"
    );
    assert_eq!(done.sessions_revoked, 1);

    let user = identity.get_user(admin).await.unwrap();
    assert_eq!(done.user, user);
    assert_eq!(user.status, "ACTIVE");
    assert_eq!((user.failed_login_count, user.locked_until), (0, None));
    assert!(user.password_change_required);
    assert!(user.version > lost.version);
    assert_eq!(role_ids(&identity, admin).await, vec![roles::ADMINISTRATOR]);
    assert_eq!(active_administrators(&identity).await, vec!["admin"]);
    assert!(matches!(
        identity
            .login(&anonymous("10.2.0.3"), "admin", ADMIN_PASSWORD)
            .await,
        Err(Error::BadCredentials)
    ));
    let tokens = identity
        .login(&anonymous("10.2.0.3"), "admin", "the recovered password")
        .await
        .unwrap();
    assert!(tokens.password_change_required);
    assert!(
        matches!(
            identity
                .refresh(&anonymous("10.2.0.3"), &session.refresh_token)
                .await,
            Err(Error::BadCredentials)
        ),
        "the sessions from before the reset end"
    );

    // Audited: who ("cli", and the operating-system account), what, and what it was before.
    let events = events_by(&identity, recovery::ACTOR, &format!("users/{admin}")).await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        vec!["PASSWORD_RESET", "ROLE_CHANGED", "USER_STATUS_CHANGED"]
    );
    for e in &events {
        let d = details(e);
        assert_eq!(d["reason"], "admin_reset");
        assert_eq!(d["command"], recovery::COMMAND);
        assert_eq!(d["os_user"], "ops");
        assert_eq!(d["created"], "false");
        assert!(!e.details.contains("recovered"), "never the password");
    }
    assert_eq!(details(&events[0])["require_password_change"], "true");
    assert_eq!(details(&events[1])["roles_before"], "");
    assert_eq!(
        details(&events[1])["roles_after"],
        format!("roles/{}", roles::ADMINISTRATOR)
    );
    assert_eq!(details(&events[2])["status_before"], "DISABLED");
    assert_eq!(details(&events[2])["status_after"], "ACTIVE");

    // The rule holds again for the recovered administrator.
    let off = UserChanges {
        status: Some("DISABLED".into()),
        ..UserChanges::default()
    };
    assert_last_administrator(identity.update_user(&system(), admin, None, off).await);

    // Run again on an administrator in good standing: only the password changes.
    let again = ResetAdmin {
        login_name: "admin".into(),
        password: None,
        os_user: None,
    };
    let done = recovery::reset_admin(&identity.store, again).await.unwrap();
    let password = done.generated_password.expect("generated");
    identity
        .login(&anonymous("10.2.0.3"), "admin", &password)
        .await
        .unwrap();
    let events = events_by(&identity, recovery::ACTOR, &format!("users/{admin}")).await;
    assert_eq!(events.len(), 4, "one PASSWORD_RESET more");
    assert_eq!(events[3].r#type, "PASSWORD_RESET");
}

async fn reset_admin_creates_an_unknown_login(db: Db) {
    // On a database no server has started on yet: the roles and the root come with it.
    let store = Store::new(db.clone());
    let reset = ResetAdmin {
        login_name: "rescue.admin".into(),
        password: None,
        os_user: Some("root".into()),
    };
    let done = recovery::reset_admin(&store, reset).await.unwrap();
    assert!(done.created);
    let password = done
        .generated_password
        .clone()
        .expect("generated and shown once");
    assert!(crm_identity::password::check_policy(&password, "rescue.admin").is_ok());
    assert_eq!(done.user.status, "ACTIVE");
    assert!(done.user.password_change_required);
    let root = store.root_unit().await.unwrap().expect("root created");
    assert_eq!((done.user.unit_id, root.path.as_str()), (root.id, "/g/"));
    assert!(
        store
            .role(roles::ADMINISTRATOR)
            .await
            .unwrap()
            .unwrap()
            .built_in
    );

    // A server starting on it afterwards keeps the rescued administrator and adds no "admin".
    let identity = identity(db).await;
    assert!(
        identity
            .store
            .user_by_login("admin")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(active_administrators(&identity).await, vec!["rescue.admin"]);
    identity
        .login(&anonymous("10.2.0.4"), "rescue.admin", &password)
        .await
        .unwrap();
    let events = events_by(
        &identity,
        recovery::ACTOR,
        &format!("users/{}", done.user.id),
    )
    .await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, vec!["PASSWORD_RESET", "ROLE_CHANGED"]);
    assert_eq!(details(&events[0])["created"], "true");
    assert_eq!(details(&events[0])["os_user"], "root");

    // Bad input changes nothing.
    for (login, password) in [("x", None), ("new.admin", Some("short".to_owned()))] {
        let bad = ResetAdmin {
            login_name: login.into(),
            password,
            os_user: None,
        };
        assert!(matches!(
            recovery::reset_admin(&identity.store, bad).await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(identity.store.user_by_login(login).await.unwrap().is_none());
    }
}
