//! Cost of verifying one access token, and of peeking its kid.
//!
//! `cargo run --release --example verify_cost -p crm-platform` (a figure for BENCHMARKS.md)
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use crm_platform::token::{Grant, Issuer, SigningKey, TokenError, Verifier, peek_kid};

const CALLS: u32 = 100_000;

fn main() -> Result<(), TokenError> {
    let key = SigningKey::generate()?;
    let issuer = Issuer::new(
        key,
        None,
        "https://id.crm.example",
        "crm-api",
        chrono::Duration::minutes(15),
    );
    // A realistic sales manager: 20 permissions over 4 resource families.
    let families = ["customers", "contacts", "sales", "activities"];
    let perms = families
        .iter()
        .flat_map(|f| {
            ["read", "create", "update", "delete", "export"]
                .map(|verb| format!("{f}.{}.{verb}", f.trim_end_matches('s')))
        })
        .collect::<Vec<_>>();
    let scopes = BTreeMap::from(
        [
            ("customers", "SUBTREE"),
            ("contacts", "SUBTREE"),
            ("sales", "UNIT"),
            ("activities", "OWN"),
        ]
        .map(|(f, s)| (f.to_owned(), s.to_owned())),
    );
    let grant = Grant {
        sub: "users/0197a0c4-6c8e-7d2a-9d7f-2f4b5c6d7e8f".to_owned(),
        unit: "/g/cn/east/sales/".to_owned(),
        roles: vec!["sales-manager".to_owned(), "employee".to_owned()],
        perms,
        scopes,
    };
    let now = chrono::Utc::now();
    let (token, claims) = issuer.issue(&grant, now)?;
    let verifier = Verifier::new(&issuer.jwks(), "https://id.crm.example", "crm-api")?;
    let now = now.timestamp();
    println!(
        "token: {} bytes, {} perms, {} scopes",
        token.len(),
        claims.perms.len(),
        claims.scopes.len()
    );

    // Warm up caches and the allocator before timing.
    for _ in 0..1_000 {
        black_box(verifier.verify(black_box(&token), now)?);
    }
    let start = Instant::now();
    for _ in 0..CALLS {
        black_box(verifier.verify(black_box(&token), now)?);
    }
    let verify = start.elapsed();

    let start = Instant::now();
    for _ in 0..CALLS {
        black_box(peek_kid(black_box(&token))?);
    }
    let peek = start.elapsed();

    let per_call = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(CALLS);
    println!("verify:   {:8.2} µs/call ({CALLS} calls)", per_call(verify));
    println!("peek_kid: {:8.3} µs/call ({CALLS} calls)", per_call(peek));
    Ok(())
}
