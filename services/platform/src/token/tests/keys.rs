//! Keys, JWKS and rotation.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn rotation_keeps_the_previous_key_for_one_generation() {
    let mut iss = issuer(SigningKey::generate().unwrap());
    let first_kid = iss.current().kid().to_owned();
    let (old, old_claims) = iss.issue(&grant(), at(NOW)).unwrap();

    iss.rotate(SigningKey::generate().unwrap());
    assert_eq!(
        iss.previous().map(SigningKey::kid),
        Some(first_kid.as_str())
    );
    let jwks = iss.jwks();
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(jwks.keys[0].kid, iss.current().kid());
    let v = Verifier::new(&jwks, ISS, AUD).unwrap();
    assert_eq!(v.verify(&old, NOW), Ok(old_claims));
    let (new, _) = iss.issue(&grant(), at(NOW)).unwrap();
    assert_eq!(peek_kid(&new), Ok(iss.current().kid().to_owned()));
    assert!(v.verify(&new, NOW).is_ok());

    iss.rotate(SigningKey::generate().unwrap());
    let v = Verifier::new(&iss.jwks(), ISS, AUD).unwrap();
    assert_eq!(iss.jwks().keys.len(), 2);
    assert_eq!(v.verify(&old, NOW), Err(TokenError::UnknownKey(first_kid)));
    assert!(v.verify(&new, NOW).is_ok());
}

#[test]
fn jwks_json_shape() {
    let key = SigningKey::generate().unwrap();
    let iss = issuer(key.clone());
    let value = serde_json::to_value(iss.jwks()).unwrap();
    let keys = value["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let jwk = keys[0].as_object().unwrap();
    let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], key.kid());
    let x = jwk["x"].as_str().unwrap();
    assert_eq!(x.len(), 43);
    assert!(
        x.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap().len(), 32);
    // The kid is a UUIDv7 in simple form.
    assert_eq!(key.kid().len(), 32);
    assert_eq!(
        uuid::Uuid::parse_str(key.kid()).unwrap().get_version_num(),
        7
    );

    let back: Jwks = serde_json::from_value(value).unwrap();
    assert_eq!(back, iss.jwks());
}

#[test]
fn pkcs8_round_trip() {
    let original = SigningKey::generate().unwrap();
    let loaded = SigningKey::from_pkcs8(original.kid(), original.pkcs8()).unwrap();
    assert_eq!(loaded.jwk(), original.jwk());
    let (token, claims) = issuer(loaded).issue(&grant(), at(NOW)).unwrap();
    let v = Verifier::new(
        &Jwks {
            keys: vec![original.jwk()],
        },
        ISS,
        AUD,
    )
    .unwrap();
    assert_eq!(v.verify(&token, NOW), Ok(claims));

    assert!(matches!(
        SigningKey::from_pkcs8("k", b"not a key"),
        Err(TokenError::Key(_))
    ));
    assert!(matches!(
        SigningKey::from_pkcs8("", original.pkcs8()),
        Err(TokenError::Key(_))
    ));
    let debug = format!("{original:?}");
    assert!(debug.contains("[redacted]") && debug.contains(original.kid()));
}

#[test]
fn pkcs8_v1_from_openssl_loads() {
    // `openssl genpkey -algorithm ed25519 -outform DER`: a v1 document, no public key inside.
    let seed = [7u8; 32];
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    let key = SigningKey::from_pkcs8("v1", &der).unwrap();
    let (token, claims) = issuer(key.clone()).issue(&grant(), at(NOW)).unwrap();
    let v = Verifier::new(
        &Jwks {
            keys: vec![key.jwk()],
        },
        ISS,
        AUD,
    )
    .unwrap();
    assert_eq!(v.verify(&token, NOW), Ok(claims));
}

#[test]
fn verifier_keys() {
    let key = SigningKey::generate().unwrap();
    let mut jwks: Jwks = serde_json::from_value(json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "kid": "dh", "x": key.jwk().x},
        {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": key.jwk().x},
    ]}))
    .unwrap();
    assert_eq!(
        Verifier::new(&jwks, ISS, AUD).unwrap_err(),
        TokenError::Key("jwks has no ed25519 signing keys".to_owned())
    );
    jwks.keys.push(key.jwk());
    let v = Verifier::new(&jwks, ISS, AUD).unwrap();
    assert!(v.knows(key.kid()));
    assert!(!v.knows("rsa-1") && !v.knows("dh") && !v.knows("enc"));

    // Optional alg and use may be absent.
    let mut bare = key.jwk();
    bare.alg.clear();
    bare.use_.clear();
    assert!(Verifier::new(&Jwks { keys: vec![bare] }, ISS, AUD).is_ok());

    let mut broken = Vec::new();
    let mut short = key.jwk();
    short.x = b64(&[1u8; 31]);
    broken.push(short);
    let mut not_b64 = key.jwk();
    not_b64.x = "***".to_owned();
    broken.push(not_b64);
    // y = 2 has no x on the curve: 32 well-formed bytes that are not a public key.
    let mut not_a_point = key.jwk();
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    not_a_point.x = b64(&y2);
    broken.push(not_a_point.clone());
    let mut no_kid = key.jwk();
    no_kid.kid.clear();
    broken.push(no_kid);
    for jwk in broken {
        let result = Verifier::new(
            &Jwks {
                keys: vec![jwk.clone()],
            },
            ISS,
            AUD,
        );
        assert!(matches!(result, Err(TokenError::Key(_))), "{jwk:?}");
    }
    assert_eq!(
        Verifier::new(
            &Jwks {
                keys: vec![not_a_point]
            },
            ISS,
            AUD
        )
        .unwrap_err(),
        TokenError::Key(format!(
            "invalid ed25519 key {:?}: x is not a curve point",
            key.kid()
        ))
    );
    let twice = Jwks {
        keys: vec![key.jwk(), SigningKey::generate().unwrap().jwk()],
    };
    let mut twice = twice;
    twice.keys[1].kid = key.kid().to_owned();
    assert!(matches!(
        Verifier::new(&twice, ISS, AUD),
        Err(TokenError::Key(_))
    ));
}

#[test]
fn issue_refuses_bad_input() {
    let key = SigningKey::generate().unwrap();
    let no_sub = Grant {
        sub: String::new(),
        ..grant()
    };
    assert_eq!(
        issuer(key.clone()).issue(&no_sub, at(NOW)).unwrap_err(),
        TokenError::Malformed
    );
    let zero_ttl = Issuer::new(key, None, ISS, AUD, chrono::Duration::zero());
    assert!(matches!(
        zero_ttl.issue(&grant(), at(NOW)),
        Err(TokenError::Key(_))
    ));
}
