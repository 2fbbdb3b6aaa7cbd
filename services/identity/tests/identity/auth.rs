use super::{ADMIN_PASSWORD, anonymous, identity, system};
use crm_identity::{
    error::Error,
    roles,
    service::{
        Caller,
        access::{ClientChanges, NewClient},
        directory::{NewUnit, NewUser, UserChanges},
    },
    store::{EventKey, MIGRATIONS},
};
use crm_platform::{auth::Principal, db::Db, permissions as p, token::Verifier};

crm_platform::backend_tests!(MIGRATIONS;
    login_issues_verifiable_tokens_with_the_roles_grant,
    unknown_user_and_wrong_password_look_the_same,
    failed_logins_lock_the_account,
    password_policy_is_enforced,
    refresh_rotates_and_reuse_revokes_the_session,
    logout_revokes_refresh_and_access_tokens,
    client_credentials_rotation_and_address_ranges,
    roles_cannot_be_granted_beyond_ones_own,
    repeated_failures_raise_an_alert,
    disabling_a_user_or_client_ends_their_access,
);

fn verifier(identity: &crm_identity::service::Identity) -> Verifier {
    Verifier::new(
        &crm_identity::jwks(identity).unwrap(),
        crm_identity::ISSUER,
        crm_identity::AUDIENCE,
    )
    .unwrap()
}

async fn new_user(
    identity: &crm_identity::service::Identity,
    login: &str,
    roles: Vec<uuid::Uuid>,
) -> uuid::Uuid {
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let user = NewUser {
        login_name: login.into(),
        display_name: login.into(),
        email: None,
        phone: None,
        unit: root.id,
        password: "a long enough password".into(),
        require_password_change: false,
        roles,
    };
    identity.create_user(&system(), user).await.unwrap().id
}

async fn login_issues_verifiable_tokens_with_the_roles_grant(db: Db) {
    let identity = identity(db).await;
    let tokens = identity
        .login(&anonymous("10.1.1.1"), "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(tokens.expires_in, 900);
    assert!(!tokens.refresh_token.is_empty());
    let claims = verifier(&identity)
        .verify(&tokens.access_token, chrono::Utc::now().timestamp())
        .unwrap();
    assert!(claims.sub.starts_with("users/"));
    assert_eq!(claims.unit, "/g/");
    assert!(claims.perms.iter().any(|x| x == p::IDENTITY_USER_WRITE));
    assert_eq!(claims.scopes["customers"], "ALL");

    let rep = new_user(&identity, "li.na", vec![roles::SALES_REP]).await;
    let tokens = identity
        .login(&anonymous("10.1.1.1"), "li.na", "a long enough password")
        .await
        .unwrap();
    let claims = verifier(&identity)
        .verify(&tokens.access_token, chrono::Utc::now().timestamp())
        .unwrap();
    assert_eq!(claims.sub, format!("users/{rep}"));
    assert_eq!(claims.scopes["customers"], "OWN");
    assert!(
        !claims
            .perms
            .iter()
            .any(|x| x == p::CUSTOMERS_CUSTOMER_DELETE)
    );
    let n = identity
        .store
        .count_events(
            "LOGIN_SUCCEEDED",
            EventKey::Target,
            &format!("users/{rep}"),
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "every login is audited");
}

async fn unknown_user_and_wrong_password_look_the_same(db: Db) {
    let identity = identity(db).await;
    let unknown = identity
        .login(&anonymous("10.1.1.2"), "nobody", "whatever password")
        .await
        .unwrap_err();
    let wrong = identity
        .login(&anonymous("10.1.1.2"), "admin", "not the password")
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), wrong.to_string());
    assert!(matches!(unknown, Error::BadCredentials) && matches!(wrong, Error::BadCredentials));
}

async fn failed_logins_lock_the_account(db: Db) {
    let identity = identity(db).await;
    let user = new_user(&identity, "wang.fang", vec![]).await;
    for _ in 0..3 {
        assert!(matches!(
            identity
                .login(&anonymous("10.1.1.3"), "wang.fang", "wrong wrong wrong")
                .await,
            Err(Error::BadCredentials)
        ));
    }
    // Locked now: even the right password is refused, and says so (only to one who knows it).
    assert!(matches!(
        identity
            .login(
                &anonymous("10.1.1.3"),
                "wang.fang",
                "a long enough password"
            )
            .await,
        Err(Error::AccountLocked)
    ));
    assert!(matches!(
        identity
            .login(&anonymous("10.1.1.3"), "wang.fang", "still wrong")
            .await,
        Err(Error::BadCredentials)
    ));
    let locked = identity
        .store
        .count_events(
            "ACCOUNT_LOCKED",
            EventKey::Target,
            &format!("users/{user}"),
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(locked, 1);
    // An administrator's reset unlocks.
    identity
        .reset_password(&system(), user, "a brand new password", false)
        .await
        .unwrap();
    identity
        .login(&anonymous("10.1.1.3"), "wang.fang", "a brand new password")
        .await
        .unwrap();
}

async fn password_policy_is_enforced(db: Db) {
    let identity = identity(db).await;
    let root = identity.store.root_unit().await.unwrap().unwrap();
    for (password, why) in [
        ("short", "at least 12"),
        ("zhang.wei-is-great", "login name"),
    ] {
        let user = NewUser {
            login_name: "zhang.wei".into(),
            display_name: "Zhang Wei".into(),
            email: None,
            phone: None,
            unit: root.id,
            password: password.into(),
            require_password_change: false,
            roles: vec![],
        };
        match identity.create_user(&system(), user).await {
            Err(Error::InvalidArgument(v)) => {
                assert_eq!(v[0].field, "password");
                assert!(v[0].description.contains(why), "{}", v[0].description);
            }
            other => panic!("expected a policy violation, got {other:?}"),
        }
    }
}

async fn refresh_rotates_and_reuse_revokes_the_session(db: Db) {
    let identity = identity(db).await;
    let caller = anonymous("10.1.1.4");
    let first = identity
        .login(&caller, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let second = identity
        .refresh(&caller, &first.refresh_token)
        .await
        .unwrap();
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "refresh tokens rotate"
    );
    // The spent token again: reuse. The whole session dies, including the newest token.
    assert!(matches!(
        identity.refresh(&caller, &first.refresh_token).await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        identity.refresh(&caller, &second.refresh_token).await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        identity.refresh(&caller, "made-up").await,
        Err(Error::BadCredentials)
    ));
    let reused = identity
        .store
        .count_events(
            "REFRESH_TOKEN_REUSED",
            EventKey::SourceIp,
            "10.1.1.4",
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(reused, 1);
    // Another session is not affected.
    let other = identity
        .login(&caller, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    identity
        .refresh(&caller, &other.refresh_token)
        .await
        .unwrap();
}

async fn logout_revokes_refresh_and_access_tokens(db: Db) {
    let identity = identity(db).await;
    let caller = anonymous("10.1.1.5");
    let tokens = identity
        .login(&caller, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let claims = verifier(&identity)
        .verify(&tokens.access_token, chrono::Utc::now().timestamp())
        .unwrap();
    identity
        .logout(&caller, &tokens.refresh_token, &claims.jti)
        .await
        .unwrap();
    assert!(identity.deny.is_revoked(&claims.jti).await.unwrap());
    assert!(matches!(
        identity.refresh(&caller, &tokens.refresh_token).await,
        Err(Error::BadCredentials)
    ));
}

async fn client_credentials_rotation_and_address_ranges(db: Db) {
    let identity = identity(db).await;
    let new = NewClient {
        display_name: "ERP".into(),
        roles: vec![roles::INTEGRATION],
        unit: None,
        allowed_cidrs: vec!["10.8.0.0/16".into()],
    };
    let (client, secret) = identity.create_client(&system(), new).await.unwrap();
    assert_ne!(client.secret_hash, secret, "only a hash is stored");
    let erp = anonymous("10.8.1.1");
    let tokens = identity
        .client_token(&erp, &client.client_id, &secret)
        .await
        .unwrap();
    assert!(
        tokens.refresh_token.is_empty(),
        "machine clients get no refresh token"
    );
    let claims = verifier(&identity)
        .verify(&tokens.access_token, chrono::Utc::now().timestamp())
        .unwrap();
    assert_eq!(claims.sub, format!("clients/{}", client.client_id));
    assert_eq!(claims.scopes["customers"], "ALL");
    assert!(
        matches!(
            identity
                .client_token(&anonymous("192.168.1.1"), &client.client_id, &secret)
                .await,
            Err(Error::PermissionDenied(_))
        ),
        "outside the allowed range"
    );
    assert!(matches!(
        identity
            .client_token(&erp, &client.client_id, "wrong")
            .await,
        Err(Error::BadCredentials)
    ));

    // Rotation with a grace period: both secrets work; without one, only the new.
    let (_, second) = identity
        .rotate_client(&system(), client.id, Some(chrono::Duration::hours(1)), None)
        .await
        .unwrap();
    identity
        .client_token(&erp, &client.client_id, &secret)
        .await
        .unwrap();
    identity
        .client_token(&erp, &client.client_id, &second)
        .await
        .unwrap();
    let (_, third) = identity
        .rotate_client(&system(), client.id, Some(chrono::Duration::zero()), None)
        .await
        .unwrap();
    assert!(matches!(
        identity
            .client_token(&erp, &client.client_id, &second)
            .await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        identity
            .client_token(&erp, &client.client_id, &secret)
            .await,
        Err(Error::BadCredentials)
    ));
    identity
        .client_token(&erp, &client.client_id, &third)
        .await
        .unwrap();
}

async fn roles_cannot_be_granted_beyond_ones_own(db: Db) {
    let identity = identity(db).await;
    let target = new_user(&identity, "target.user", vec![]).await;
    // A user manager who may assign roles but holds no customer permissions.
    let manager = Principal {
        subject: crm_platform::auth::Subject::User(uuid::Uuid::now_v7()),
        permissions: [
            p::IDENTITY_ROLE_ASSIGN.to_owned(),
            p::IDENTITY_USER_READ.to_owned(),
        ]
        .into(),
        ..Principal::system()
    };
    let caller = Caller {
        principal: Some(manager),
        source_ip: "10.0.0.9".into(),
        request_id: "t".into(),
    };
    let err = identity
        .assign_roles(&caller, target, vec![roles::ADMINISTRATOR], None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(
        identity.store.roles_of(target).await.unwrap().is_empty(),
        "nothing was granted"
    );
    // An administrator may.
    let user = identity
        .assign_roles(&system(), target, vec![roles::SALES_REP], None)
        .await
        .unwrap();
    assert_eq!(user.version, 2);
    assert!(
        matches!(
            identity
                .assign_roles(&system(), target, vec![], Some(1))
                .await,
            Err(Error::EtagMismatch(_))
        ),
        "stale etag"
    );
    let unit = NewUnit {
        code: "east".into(),
        kind: "REGION".into(),
        parent: None,
        display_name: "East".into(),
    };
    assert!(
        matches!(
            identity.create_unit(&system(), unit).await,
            Err(Error::InvalidArgument(_))
        ),
        "a second root"
    );
}

async fn repeated_failures_raise_an_alert(db: Db) {
    let identity = identity(db).await;
    for _ in 0..10 {
        let _ = identity
            .login(&anonymous("203.0.113.7"), "admin", "guessing guessing")
            .await;
    }
    let mut q = crm_identity::store::Store::list_query("security_alerts");
    q.push("1 = 1");
    let alerts: Vec<crm_identity::store::AlertRow> = identity.store.fetch(q).await.unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "one open alert per rule and subject, not one per failure"
    );
    assert_eq!(alerts[0].rule, "REPEATED_LOGIN_FAILURES_ACCOUNT");
    assert!(alerts[0].count >= 10);

    // The alert is published as an event, written with it: one alert, one event.
    let events: Vec<(Vec<u8>,)> = crm_platform::with_pool!(identity.store.db(), |pool| {
        sqlx::query_as("SELECT event FROM outbox ORDER BY seq")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert_eq!(events.len(), 1);
    let event = crm_platform::events::decode(&events[0].0).unwrap();
    assert_eq!(event.r#type, "crm.identity.v1.security_alert.raised");
    assert_eq!(event.subject, format!("securityAlerts/{}", alerts[0].id));
    let alert: crm_proto::crm::identity::v1::SecurityAlert =
        crm_platform::events::payload(&event).unwrap();
    assert_eq!(alert.subject, alerts[0].subject);
    assert_eq!(
        event.audience.unwrap().read_permission,
        "identity.security_alert.read"
    );
}

async fn disabling_a_user_or_client_ends_their_access(db: Db) {
    let identity = identity(db).await;
    let caller = anonymous("10.1.1.6");
    let user = new_user(&identity, "leaver", vec![roles::SALES_REP]).await;
    let session = identity
        .login(&caller, "leaver", "a long enough password")
        .await
        .unwrap();
    let changes = UserChanges {
        status: Some("DISABLED".into()),
        ..UserChanges::default()
    };
    let updated = identity
        .update_user(&system(), user, Some(1), changes.clone())
        .await
        .unwrap();
    assert_eq!(updated.status, "DISABLED");
    assert!(
        matches!(
            identity
                .update_user(&system(), user, Some(1), changes)
                .await,
            Err(Error::EtagMismatch(_))
        ),
        "stale etag"
    );
    assert!(matches!(
        identity
            .login(&caller, "leaver", "a long enough password")
            .await,
        Err(Error::AccountDisabled)
    ));
    assert!(
        matches!(
            identity.refresh(&caller, &session.refresh_token).await,
            Err(Error::BadCredentials)
        ),
        "sessions end"
    );
    let bad = UserChanges {
        status: Some("LOCKED".into()),
        ..UserChanges::default()
    };
    assert!(matches!(
        identity.update_user(&system(), user, None, bad).await,
        Err(Error::InvalidArgument(_))
    ));
    identity.delete_user(&system(), user, None).await.unwrap();
    assert!(matches!(
        identity.get_user(user).await,
        Err(Error::NotFound(_))
    ));

    let new = NewClient {
        display_name: "Finance".into(),
        roles: vec![roles::INTEGRATION],
        unit: None,
        allowed_cidrs: vec![],
    };
    let (client, secret) = identity.create_client(&system(), new).await.unwrap();
    identity
        .client_token(&caller, &client.client_id, &secret)
        .await
        .unwrap();
    let off = ClientChanges {
        status: Some("DISABLED".into()),
        ..ClientChanges::default()
    };
    identity
        .update_client(&system(), client.id, None, off)
        .await
        .unwrap();
    assert!(matches!(
        identity
            .client_token(&caller, &client.client_id, &secret)
            .await,
        Err(Error::AccountDisabled)
    ));
    identity
        .delete_client(&system(), client.id, None)
        .await
        .unwrap();
    assert!(matches!(
        identity
            .client_token(&caller, &client.client_id, &secret)
            .await,
        Err(Error::BadCredentials)
    ));
}
