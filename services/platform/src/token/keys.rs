//! Signing keys and their public form: JWK (RFC 8037 OKP) and JWKS.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use super::TokenError;

/// Length of an Ed25519 public key.
const ED25519_PUBLIC_KEY_LEN: usize = 32;

/// An Ed25519 signing key with its key id.
#[derive(Clone)]
pub struct SigningKey {
    pub(super) kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    pub(super) encoding: EncodingKey,
    created_at: DateTime<Utc>,
}

// Hand-written so the private key never reaches a log through `{:?}`.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("pkcs8", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// A fresh key. Its kid is a UUIDv7 in simple form (32 hex characters): unique without
    /// coordination between replicas, and kids sort by creation time.
    pub fn generate() -> Result<SigningKey, TokenError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| TokenError::Key("ed25519 key generation failed".to_owned()))?;
        let kid = uuid::Uuid::now_v7().simple().to_string();
        SigningKey::from_pkcs8(&kid, doc.as_ref())
    }

    /// Loads a stored key: a PKCS#8 v1 or v2 DER document (v1 is what `openssl genpkey`
    /// writes). `created_at` is set to now; use [`SigningKey::with_created_at`] to restore the
    /// stored creation time.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<SigningKey, TokenError> {
        if kid.is_empty() {
            return Err(TokenError::Key("key id must not be empty".to_owned()));
        }
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| TokenError::Key(format!("invalid ed25519 pkcs#8 key: {e}")))?;
        let public = pair.public_key().as_ref().to_vec();
        let encoding = EncodingKey::from_ed_der(der);
        // ring parsed the document, but jsonwebtoken signs through another implementation and
        // "maybe_unchecked" does not compare a v2 document's public key with its private key.
        // One probe signature, checked against the public key we will publish, proves now,
        // not at the first login, that published JWKs verify what this key signs.
        let probe = b"crm signing key probe";
        let signature = jsonwebtoken::crypto::sign(probe, &encoding, Algorithm::EdDSA)
            .map_err(|e| TokenError::Key(format!("ed25519 key unusable for signing: {e}")))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Key("ed25519 probe signature not base64url".to_owned()))?;
        UnparsedPublicKey::new(&ED25519, &public)
            .verify(probe, &signature)
            .map_err(|_| TokenError::Key("ed25519 public key does not match private key".into()))?;
        Ok(SigningKey {
            kid: kid.to_owned(),
            pkcs8: der.to_vec(),
            public,
            encoding,
            created_at: Utc::now(),
        })
    }

    /// The same key with its recorded creation time (for rotation policies).
    pub fn with_created_at(mut self, created_at: DateTime<Utc>) -> SigningKey {
        self.created_at = created_at;
        self
    }

    /// The PKCS#8 DER document, for storing the key. Secret.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key id, as in token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// When the key was made (or loaded, unless restored with `with_created_at`).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The public key as a JWK (RFC 8037 OKP form).
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(&self.public),
            kid: self.kid.clone(),
            alg: "EdDSA".to_owned(),
            use_: "sig".to_owned(),
        }
    }
}

/// Public keys as published at /.well-known/jwks.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys; order carries no meaning.
    pub keys: Vec<Jwk>,
}

/// One public key of a [`Jwks`]. Every field defaults to empty when reading, so a JWKS that
/// also carries keys of other types (RSA, EC) still parses; [`Verifier::new`] skips those.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: "OKP" for Ed25519.
    #[serde(default)]
    pub kty: String,
    /// Curve: "Ed25519".
    #[serde(default)]
    pub crv: String,
    /// The 32-byte public key, base64url without padding (43 characters).
    #[serde(default)]
    pub x: String,
    /// Key id, matched against the token header's `kid`.
    #[serde(default)]
    pub kid: String,
    /// "EdDSA".
    #[serde(default)]
    pub alg: String,
    /// "sig".
    #[serde(default, rename = "use")]
    pub use_: String,
}

/// Whether a JWK is an Ed25519 signature key. `alg` and `use` are optional in RFC 7517, so only
/// a present, different value disqualifies.
pub(super) fn is_ed25519_signing_key(jwk: &Jwk) -> bool {
    jwk.kty == "OKP"
        && jwk.crv == "Ed25519"
        && (jwk.alg.is_empty() || jwk.alg == "EdDSA")
        && (jwk.use_.is_empty() || jwk.use_ == "sig")
}

pub(super) fn decoding_key(jwk: &Jwk) -> Result<DecodingKey, TokenError> {
    let invalid = |why: &str| TokenError::Key(format!("invalid ed25519 key {:?}: {why}", jwk.kid));
    let x = URL_SAFE_NO_PAD
        .decode(&jwk.x)
        .map_err(|_| invalid("x is not base64url"))?;
    // Checked here because jsonwebtoken's EdDSA verifier slices the first 32 bytes and would
    // panic on a shorter key, and silently ignore the rest of a longer one.
    if x.len() != ED25519_PUBLIC_KEY_LEN {
        return Err(invalid("x is not 32 bytes"));
    }
    let key = DecodingKey::from_ed_der(&x);
    // A dummy verification parses the point now: an invalid curve point is a key error at
    // startup rather than a `BadSignature` on every token.
    jsonwebtoken::crypto::verify("", b"", &key, Algorithm::EdDSA)
        .map_err(|_| invalid("x is not a curve point"))?;
    Ok(key)
}
