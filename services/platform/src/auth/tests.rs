use super::*;
use crate::sql::{SqlBuf, SqlValue};
use crate::token::{Grant, Issuer, SigningKey};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn scope_conditions() {
    let mut buf = SqlBuf::new("");
    DataScope::Subtree("/g/east_1/".into()).push_condition(&mut buf, "owner_id", "owner_unit_path");
    assert_eq!(buf.sql, "owner_unit_path LIKE $1 ESCAPE '\\'");
    assert_eq!(buf.binds, vec![SqlValue::Text("/g/east\\_1/%".into())]);

    let id = uuid::Uuid::now_v7();
    let mut buf = SqlBuf::new("x AND ");
    buf.push_bind(SqlValue::Int(1));
    DataScope::Own(id).push_condition(&mut buf, "owner_id", "owner_unit_path");
    assert_eq!(buf.sql, "x AND $1owner_id = $2");
    let mut buf = SqlBuf::new("");
    DataScope::Nothing.push_condition(&mut buf, "o", "u");
    assert_eq!(buf.sql, "1 = 0");
}

fn grant(sub: &str, scopes: &[(&str, &str)]) -> Grant {
    Grant {
        sub: sub.into(),
        unit: "/g/east/".into(),
        roles: vec!["sales-rep".into()],
        perms: vec!["customers.customer.read".into()],
        scopes: scopes
            .iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect(),
    }
}

fn issuer() -> Issuer {
    Issuer::new(
        SigningKey::generate().unwrap(),
        None,
        "crm",
        "crm",
        chrono::Duration::minutes(15),
    )
}

#[test]
fn principals_from_claims_resolve_scopes() {
    let me = uuid::Uuid::now_v7();
    let (token, claims) = issuer()
        .issue(
            &grant(
                &format!("users/{me}"),
                &[("customers", "SUBTREE"), ("sales", "OWN")],
            ),
            chrono::Utc::now(),
        )
        .unwrap();
    let p = Principal::from_claims(&claims, &token).unwrap();
    assert_eq!(p.user_id(), Some(me));
    assert_eq!(p.scope("customers"), DataScope::Subtree("/g/east/".into()));
    assert_eq!(p.scope("sales"), DataScope::Own(me));
    assert_eq!(
        p.scope("marketing"),
        DataScope::Own(me),
        "no scope: own records"
    );
    assert!(p.has("customers.customer.read"));
    assert!(!p.has("customers.customer.write"));

    let (token, claims) = issuer()
        .issue(
            &grant("clients/erp", &[("sales", "OWN")]),
            chrono::Utc::now(),
        )
        .unwrap();
    let client = Principal::from_claims(&claims, &token).unwrap();
    assert_eq!(
        client.scope("customers"),
        DataScope::Nothing,
        "a client without a scope sees nothing"
    );
    assert_eq!(
        client.scope("sales"),
        DataScope::Nothing,
        "a client owns nothing"
    );

    let (token, claims) = issuer()
        .issue(&grant("robots/x", &[]), chrono::Utc::now())
        .unwrap();
    assert!(Principal::from_claims(&claims, &token).is_err());
    let (token, claims) = issuer()
        .issue(
            &grant("users/x", &[("customers", "EVERYTHING")]),
            chrono::Utc::now(),
        )
        .unwrap();
    assert!(Principal::from_claims(&claims, &token).is_err());
    assert_eq!(Principal::system().scope("customers"), DataScope::All);
}

#[test]
fn public_path_patterns() {
    assert!(matches("/healthz", ALWAYS_PUBLIC));
    assert!(matches("/grpc.health.v1.Health/Check", ALWAYS_PUBLIC));
    assert!(!matches("/healthz/x", ALWAYS_PUBLIC));
    assert!(!matches(
        "/crm.customers.v1.CustomerService/GetCustomer",
        ALWAYS_PUBLIC
    ));
}

/// A JWKS source counting its fetches, serving whatever keys the test puts in.
struct Source {
    jwks: std::sync::Mutex<Jwks>,
    fetches: AtomicUsize,
}

impl JwksSource for Arc<Source> {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<Jwks>> + Send + '_>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let jwks = self.jwks.lock().unwrap().clone();
        Box::pin(async move { Ok(jwks) })
    }
}

#[tokio::test]
async fn authenticator_verifies_caches_and_honours_the_deny_list() {
    let mut issuer = issuer();
    let source = Arc::new(Source {
        jwks: std::sync::Mutex::new(issuer.jwks()),
        fetches: AtomicUsize::new(0),
    });
    let auth = Authenticator::new("crm", "crm", Box::new(source.clone()), DenyList::memory());
    let me = uuid::Uuid::now_v7();
    let (token, claims) = issuer
        .issue(&grant(&format!("users/{me}"), &[]), chrono::Utc::now())
        .unwrap();

    let p = auth.authenticate(&token).await.unwrap();
    assert_eq!(p.user_id(), Some(me));
    auth.authenticate(&token).await.unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // A token of a key the cache does not know triggers one refetch.
    issuer.rotate(SigningKey::generate().unwrap());
    *source.jwks.lock().unwrap() = issuer.jwks();
    let (rotated, _) = issuer
        .issue(&grant(&format!("users/{me}"), &[]), chrono::Utc::now())
        .unwrap();
    // The first unknown kid right after start-up is within the refetch interval: refused.
    assert!(matches!(
        auth.authenticate(&rotated).await,
        Err(AuthError::Invalid(TokenError::UnknownKey(_)))
    ));
    *auth.last_fetch.lock().unwrap() = Some(Instant::now() - REFETCH_INTERVAL);
    auth.authenticate(&rotated).await.unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    // Garbage kids do not cause fetches within the interval.
    for _ in 0..5 {
        let other = Issuer::new(
            SigningKey::generate().unwrap(),
            None,
            "crm",
            "crm",
            chrono::Duration::minutes(5),
        );
        let (forged, _) = other
            .issue(&grant(&format!("users/{me}"), &[]), chrono::Utc::now())
            .unwrap();
        assert!(auth.authenticate(&forged).await.is_err());
    }
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        2,
        "refetches are rate-limited"
    );

    auth.deny_list()
        .revoke(&claims.jti, claims.exp)
        .await
        .unwrap();
    assert!(matches!(
        auth.authenticate(&token).await,
        Err(AuthError::Invalid(TokenError::Revoked))
    ));
    assert!(matches!(
        auth.authenticate("not a token").await,
        Err(AuthError::Invalid(_))
    ));
}
