//! `crm bench auth`: what authenticating one request costs, in-process: the signature check
//! alone, and the whole of what the auth layer does per request (kid lookup in the cached
//! JWKS, signature, claims, deny list, principal).
use crm_platform::{
    auth::{Authenticator, JwksSource},
    denylist::DenyList,
    token::{Grant, Issuer, Jwks, SigningKey, Verifier},
};
use std::{future::Future, hint::black_box, pin::Pin, time::Instant};

struct Fixed(Jwks);

impl JwksSource for Fixed {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<Jwks>> + Send + '_>> {
        let jwks = self.0.clone();
        Box::pin(async move { Ok(jwks) })
    }
}

/// Runs the measurement with `calls` iterations and prints µs per call.
pub async fn run(calls: u32) -> anyhow::Result<()> {
    let issuer = Issuer::new(
        SigningKey::generate()?,
        None,
        crm_identity::ISSUER,
        crm_identity::AUDIENCE,
        chrono::Duration::minutes(15),
    );
    // A realistic token: the sales manager role's grant.
    let role = crm_identity::roles::built_ins()
        .into_iter()
        .find(|r| r.id == crm_identity::roles::SALES_MANAGER)
        .ok_or_else(|| anyhow::anyhow!("no sales manager role"))?;
    let grant = Grant {
        sub: format!("users/{}", uuid::Uuid::now_v7()),
        unit: "/g/cn/east/sales/".to_owned(),
        roles: vec![format!("roles/{}", role.id)],
        perms: role.permissions.iter().map(|p| p.to_string()).collect(),
        scopes: role
            .scopes
            .iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect(),
    };
    let (token, _) = issuer.issue(&grant, chrono::Utc::now())?;
    let verifier = Verifier::new(&issuer.jwks(), crm_identity::ISSUER, crm_identity::AUDIENCE)?;
    let auth = Authenticator::new(
        crm_identity::ISSUER,
        crm_identity::AUDIENCE,
        Box::new(Fixed(issuer.jwks())),
        DenyList::memory(),
    );
    let now = chrono::Utc::now().timestamp();
    for _ in 0..1000 {
        black_box(verifier.verify(&token, now)?);
        black_box(auth.authenticate(&token).await?);
    }
    let start = Instant::now();
    for _ in 0..calls {
        black_box(verifier.verify(black_box(&token), now)?);
    }
    let verify = start.elapsed();
    let start = Instant::now();
    for _ in 0..calls {
        black_box(auth.authenticate(black_box(&token)).await?);
    }
    let full = start.elapsed();
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(calls);
    println!(
        "token: {} bytes, {} permissions, {} scopes",
        token.len(),
        grant.perms.len(),
        grant.scopes.len()
    );
    println!(
        "signature + claims (Verifier::verify):        {:8.2} µs/call ({calls} calls)",
        us(verify)
    );
    println!(
        "per request, token seen before (verified-token cache + deny list): {:8.2} µs/call ({calls} calls)",
        us(full)
    );
    Ok(())
}
