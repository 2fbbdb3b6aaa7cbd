#![allow(clippy::unwrap_used)]

use super::*;
use jsonwebtoken::EncodingKey;
use serde_json::json;

mod keys;

const ISS: &str = "https://id.crm.test";
const AUD: &str = "crm-api";
/// 2025-06-15T15:06:40Z: fixed so every time rule is checked to the second.
const NOW: i64 = 1_750_000_000;
const TTL: i64 = 900;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn grant() -> Grant {
    Grant {
        sub: "users/0197a0c4-6c8e-7d2a-9d7f-2f4b5c6d7e8f".to_owned(),
        unit: "/g/cn/east/".to_owned(),
        roles: vec!["sales".to_owned()],
        perms: vec![
            "customers.customer.read".to_owned(),
            "customers.customer.update".to_owned(),
        ],
        scopes: BTreeMap::from([
            ("customers".to_owned(), "SUBTREE".to_owned()),
            ("sales".to_owned(), "OWN".to_owned()),
        ]),
    }
}

fn issuer(key: SigningKey) -> Issuer {
    Issuer::new(key, None, ISS, AUD, chrono::Duration::seconds(TTL))
}

fn verifier_for(issuer: &Issuer) -> Verifier {
    Verifier::new(&issuer.jwks(), ISS, AUD).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with arbitrary header and payload, EdDSA-signed by `key`: for claims the issuer
/// would never produce.
fn sign_raw(key: &SigningKey, header: &serde_json::Value, payload: &serde_json::Value) -> String {
    let message = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(payload).unwrap())
    );
    let enc = EncodingKey::from_ed_der(key.pkcs8());
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &enc, Algorithm::EdDSA).unwrap();
    format!("{message}.{sig}")
}

fn valid_payload() -> serde_json::Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "clients/erp", "unit": "/", "roles": [], "perms": [],
        "scopes": {}, "jti": "0197a0c4-0000-7000-8000-000000000001",
        "iat": NOW, "nbf": NOW, "exp": NOW + TTL,
    })
}

fn eddsa_header(kid: &str) -> serde_json::Value {
    json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})
}

#[test]
fn round_trip_returns_the_issued_claims() {
    let iss = issuer(SigningKey::generate().unwrap());
    let (token, claims) = iss.issue(&grant(), at(NOW)).unwrap();

    assert_eq!(verifier_for(&iss).verify(&token, NOW), Ok(claims.clone()));
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISS, AUD));
    assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + TTL));
    assert_eq!(claims.sub, grant().sub);
    assert_eq!(claims.scopes, grant().scopes);
    let jti = uuid::Uuid::parse_str(&claims.jti).unwrap();
    assert_eq!(jti.get_version_num(), 7);

    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid.as_deref(), Some(iss.current().kid()));
    assert_eq!(peek_kid(&token), Ok(iss.current().kid().to_owned()));
}

#[test]
fn each_token_gets_its_own_jti() {
    let iss = issuer(SigningKey::generate().unwrap());
    let (_, a) = iss.issue(&grant(), at(NOW)).unwrap();
    let (_, b) = iss.issue(&grant(), at(NOW)).unwrap();
    assert_ne!(a.jti, b.jti);
}

#[test]
fn expired_beyond_leeway() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let (token, claims) = iss.issue(&grant(), at(NOW)).unwrap();
    let last_ok = NOW + TTL + DEFAULT_LEEWAY_SECS;
    assert_eq!(v.verify(&token, last_ok), Ok(claims));
    assert_eq!(v.verify(&token, last_ok + 1), Err(TokenError::Expired));
    let strict = v.with_leeway(0);
    assert_eq!(
        strict.verify(&token, NOW + TTL + 1),
        Err(TokenError::Expired)
    );
}

#[test]
fn not_yet_valid_before_nbf_minus_leeway() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let (token, _) = iss.issue(&grant(), at(NOW)).unwrap();
    assert!(v.verify(&token, NOW - DEFAULT_LEEWAY_SECS).is_ok());
    assert_eq!(
        v.verify(&token, NOW - DEFAULT_LEEWAY_SECS - 1),
        Err(TokenError::NotYetValid)
    );

    let key = iss.current();
    let mut payload = valid_payload();
    payload["nbf"] = json!(NOW + 3600);
    let future_nbf = sign_raw(key, &eddsa_header(key.kid()), &payload);
    assert_eq!(v.verify(&future_nbf, NOW), Err(TokenError::NotYetValid));

    let mut payload = valid_payload();
    payload["iat"] = json!(NOW + 3600);
    let future_iat = sign_raw(key, &eddsa_header(key.kid()), &payload);
    assert_eq!(v.verify(&future_iat, NOW), Err(TokenError::NotYetValid));

    // The helper itself makes acceptable tokens: the refusals above are about the times.
    let fine = sign_raw(key, &eddsa_header(key.kid()), &valid_payload());
    assert!(v.verify(&fine, NOW).is_ok());
}

#[test]
fn signature_by_another_key_with_the_same_kid() {
    let real = issuer(SigningKey::generate().unwrap());
    let kid = real.current().kid().to_owned();
    let other = SigningKey::generate().unwrap();
    let forger = issuer(SigningKey::from_pkcs8(&kid, other.pkcs8()).unwrap());
    let (forged, _) = forger.issue(&grant(), at(NOW)).unwrap();
    assert_eq!(peek_kid(&forged), Ok(kid));
    assert_eq!(
        verifier_for(&real).verify(&forged, NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn alg_none_is_refused() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let kid = iss.current().kid();
    let header = b64(&serde_json::to_vec(&json!({"alg": "none", "kid": kid})).unwrap());
    let payload = b64(&serde_json::to_vec(&valid_payload()).unwrap());
    assert_eq!(
        v.verify(&format!("{header}.{payload}."), NOW),
        Err(TokenError::WrongAlgorithm)
    );
    // Same with the real signature left in place.
    let (token, _) = iss.issue(&grant(), at(NOW)).unwrap();
    let sig = token.rsplit('.').next().unwrap();
    assert_eq!(
        v.verify(&format!("{header}.{payload}.{sig}"), NOW),
        Err(TokenError::WrongAlgorithm)
    );
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let jwk = iss.current().jwk();
    let raw_public = URL_SAFE_NO_PAD.decode(&jwk.x).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(jwk.kid.clone());
    for secret in [raw_public.as_slice(), jwk.x.as_bytes()] {
        let hs = jsonwebtoken::encode(&header, &valid_payload(), &EncodingKey::from_secret(secret))
            .unwrap();
        assert_eq!(v.verify(&hs, NOW), Err(TokenError::WrongAlgorithm));
    }
    // An HMAC signature under a header that claims EdDSA is just a bad signature.
    let message = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&eddsa_header(&jwk.kid)).unwrap()),
        b64(&serde_json::to_vec(&valid_payload()).unwrap())
    );
    let mac = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(&raw_public),
        Algorithm::HS256,
    )
    .unwrap();
    assert_eq!(
        v.verify(&format!("{message}.{mac}"), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn unknown_or_missing_kid() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let stranger = issuer(SigningKey::from_pkcs8("nope", iss.current().pkcs8()).unwrap());
    let (token, _) = stranger.issue(&grant(), at(NOW)).unwrap();
    assert_eq!(
        v.verify(&token, NOW),
        Err(TokenError::UnknownKey("nope".to_owned()))
    );
    assert!(!v.knows("nope"));
    assert!(v.knows(iss.current().kid()));

    let key = iss.current();
    let no_kid = sign_raw(key, &json!({"alg": "EdDSA"}), &valid_payload());
    assert_eq!(v.verify(&no_kid, NOW), Err(TokenError::Malformed));
    assert_eq!(peek_kid(&no_kid), Err(TokenError::Malformed));

    // An attacker's kid is cut before it reaches an error message (and a log line).
    let long = "k".repeat(1000);
    let long_kid = sign_raw(key, &eddsa_header(&long), &valid_payload());
    assert_eq!(
        v.verify(&long_kid, NOW),
        Err(TokenError::UnknownKey("k".repeat(MAX_KID_IN_ERROR)))
    );
}

#[test]
fn wrong_issuer_or_audience() {
    let iss = issuer(SigningKey::generate().unwrap());
    let (token, _) = iss.issue(&grant(), at(NOW)).unwrap();
    let jwks = iss.jwks();
    let other_iss = Verifier::new(&jwks, "https://evil.test", AUD).unwrap();
    assert_eq!(other_iss.verify(&token, NOW), Err(TokenError::WrongIssuer));
    let other_aud = Verifier::new(&jwks, ISS, "billing-api").unwrap();
    assert_eq!(
        other_aud.verify(&token, NOW),
        Err(TokenError::WrongAudience)
    );
}

#[test]
fn tampered_payload_fails_the_signature() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let (token, claims) = iss.issue(&grant(), at(NOW)).unwrap();
    let mut parts = token.split('.');
    let (header, _, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut escalated = claims;
    escalated
        .scopes
        .insert("customers".to_owned(), "ALL".to_owned());
    let payload = b64(&serde_json::to_vec(&escalated).unwrap());
    assert_eq!(
        v.verify(&format!("{header}.{payload}.{sig}"), NOW),
        Err(TokenError::BadSignature)
    );
    // A signature of the right length but one bit off.
    let mut raw_sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    raw_sig[10] ^= 1;
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        v.verify(&format!("{message}.{}", b64(&raw_sig)), NOW),
        Err(TokenError::BadSignature)
    );
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        v.verify(&format!("{message}."), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn garbage_is_malformed() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let (token, _) = iss.issue(&grant(), at(NOW)).unwrap();
    let not_json = b64(b"not json");
    let too_long = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
    let extra_part = format!("{token}.x");
    let padded = token.replacen('.', "=.", 1);
    let cases = [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "...",
        "a.b.c.d",
        "%%%.%%%.%%%",
        "Bearer x.y.z",
        &format!("{not_json}.{not_json}.{not_json}"),
        &too_long,
        &extra_part,
        &padded,
    ];
    for garbage in cases {
        assert_eq!(
            v.verify(garbage, NOW),
            Err(TokenError::Malformed),
            "{garbage}"
        );
        assert_eq!(peek_kid(garbage), Err(TokenError::Malformed), "{garbage}");
    }
}

#[test]
fn required_claims_and_header_rules() {
    let iss = issuer(SigningKey::generate().unwrap());
    let v = verifier_for(&iss);
    let key = iss.current();
    for claim in ["exp", "nbf", "iat", "jti", "sub", "iss", "aud"] {
        let mut payload = valid_payload();
        payload.as_object_mut().unwrap().remove(claim);
        let token = sign_raw(key, &eddsa_header(key.kid()), &payload);
        assert_eq!(v.verify(&token, NOW), Err(TokenError::Malformed), "{claim}");
    }
    for (claim, value) in [
        ("sub", json!("")),
        ("jti", json!("")),
        ("exp", json!("soon")),
        ("aud", json!([AUD])),
    ] {
        let mut payload = valid_payload();
        payload[claim] = value;
        let token = sign_raw(key, &eddsa_header(key.kid()), &payload);
        assert_eq!(v.verify(&token, NOW), Err(TokenError::Malformed), "{claim}");
    }
    let kid = key.kid();
    for header in [
        json!({"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}),
        json!({"alg": "EdDSA", "kid": kid, "crit": ["exp"]}),
    ] {
        let token = sign_raw(key, &header, &valid_payload());
        assert_eq!(
            v.verify(&token, NOW),
            Err(TokenError::Malformed),
            "{header}"
        );
    }
    // Unknown header fields are fine, and so is an absent typ.
    let token = sign_raw(
        key,
        &json!({"alg": "EdDSA", "kid": kid, "x-trace": 1}),
        &valid_payload(),
    );
    assert!(v.verify(&token, NOW).is_ok());
}
