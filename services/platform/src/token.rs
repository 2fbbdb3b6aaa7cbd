//! Access tokens: compact JWTs signed with Ed25519 (`alg: EdDSA`), their public keys as a JWKS,
//! and key rotation.
//!
//! The identity service holds an [`Issuer`]; every other service holds a [`Verifier`] built
//! from the published [`Jwks`]. Only EdDSA is ever accepted, whatever a token's header claims,
//! and time claims are checked against a `now` passed in, so the rules are testable to the
//! second.
use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde::{Deserialize, Serialize};

mod keys;
#[cfg(test)]
mod tests;

pub use keys::{Jwk, Jwks, SigningKey};
use keys::{decoding_key, is_ed25519_signing_key};

/// Longest token accepted. Real tokens are about 1–2 KiB; the cap bounds the work an
/// unauthenticated caller can cause before the signature is checked.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Default clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// Longest key id repeated in an error: the kid of a refused token is attacker-chosen text that
/// ends up in logs.
const MAX_KID_IN_ERROR: usize = 64;

/// Claims of a CRM access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, e.g. "https://id.crm.example".
    pub iss: String,
    /// Audience: the API the token is for.
    pub aud: String,
    /// "users/{uuid}" or "clients/{client_id}".
    pub sub: String,
    /// Unit path of the subject, e.g. "/g/cn/east/".
    pub unit: String,
    /// Role names, for display and audit; authorisation uses `perms` and `scopes`.
    pub roles: Vec<String>,
    /// Permission strings, e.g. "customers.customer.read".
    pub perms: Vec<String>,
    /// Resource family → "OWN" | "UNIT" | "SUBTREE" | "ALL".
    pub scopes: BTreeMap<String, String>,
    /// Token id (UUIDv7): the handle of the deny list.
    pub jti: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// What a token grants: the claims an [`Issuer`] does not fill in itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// "users/{uuid}" or "clients/{client_id}".
    pub sub: String,
    /// Unit path of the subject, e.g. "/g/cn/east/".
    pub unit: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Permission strings.
    pub perms: Vec<String>,
    /// Resource family → data scope.
    pub scopes: BTreeMap<String, String>,
}

/// Why a token was refused, or a key could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    /// Not a well-formed JWT of ours: shape, base64, JSON, a missing or empty required claim.
    #[error("malformed token")]
    Malformed,
    /// The `kid` is not in the verifier's key set; the caller may refetch the JWKS once.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The signature does not match the header and payload under the named key.
    #[error("bad token signature")]
    BadSignature,
    /// The header names an algorithm other than EdDSA.
    #[error("token algorithm not accepted")]
    WrongAlgorithm,
    /// `exp` is past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future, beyond the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("wrong token issuer")]
    WrongIssuer,
    /// `aud` is not this API.
    #[error("wrong token audience")]
    WrongAudience,
    /// The token id is on the deny list. Returned by the auth layer after
    /// `DenyList::is_revoked`; verification alone cannot know it.
    #[error("token revoked")]
    Revoked,
    /// A key could not be loaded or used, or an issuer is misconfigured.
    #[error("key error: {0}")]
    Key(String),
}

/// Signs tokens with the current key; the previous key stays published for verification until
/// its tokens expire.
#[derive(Debug)]
pub struct Issuer {
    current: SigningKey,
    previous: Option<SigningKey>,
    issuer: String,
    audience: String,
    ttl: chrono::Duration,
}

impl Issuer {
    /// An issuer signing with `current`. `ttl` must be at least one second, or `issue` fails.
    pub fn new(
        current: SigningKey,
        previous: Option<SigningKey>,
        issuer: &str,
        audience: &str,
        ttl: chrono::Duration,
    ) -> Self {
        Issuer {
            current,
            previous,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }

    /// Signs a token for `grant`: fills iss, aud, iat and nbf (= now), exp (= now + ttl) and a
    /// fresh jti. Returns the compact JWT (header `alg: EdDSA`, `typ: JWT`, `kid`) and its claims.
    pub fn issue(&self, grant: &Grant, now: DateTime<Utc>) -> Result<(String, Claims), TokenError> {
        // The verifier refuses an empty subject, so issuing one would only fail later.
        if grant.sub.is_empty() {
            return Err(TokenError::Malformed);
        }
        let ttl = self.ttl.num_seconds();
        if ttl < 1 {
            return Err(TokenError::Key(
                "token ttl must be at least one second".to_owned(),
            ));
        }
        let iat = now.timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: grant.sub.clone(),
            unit: grant.unit.clone(),
            roles: grant.roles.clone(),
            perms: grant.perms.clone(),
            scopes: grant.scopes.clone(),
            // The process-wide v7 context makes ids unique and ordered within this process,
            // and the random bits across replicas.
            jti: uuid::Uuid::now_v7().to_string(),
            iat,
            nbf: iat,
            exp: iat.saturating_add(ttl),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.current.encoding)
            .map_err(|e| TokenError::Key(format!("signing failed: {e}")))?;
        Ok((token, claims))
    }

    /// The public keys to publish: current, then previous.
    pub fn jwks(&self) -> Jwks {
        let keys = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(SigningKey::jwk)
            .collect();
        Jwks { keys }
    }

    /// Starts signing with `next`. The current key becomes the previous one and stays in the
    /// JWKS; the old previous key is dropped, so rotate no more often than once per token ttl
    /// (plus verifier leeway), or tokens of the dropped key fail before they expire.
    pub fn rotate(&mut self, next: SigningKey) {
        self.previous = Some(std::mem::replace(&mut self.current, next));
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The key still published for tokens signed before the last rotation.
    pub fn previous(&self) -> Option<&SigningKey> {
        self.previous.as_ref()
    }
}

/// Verifies tokens against a JWKS. Only EdDSA is accepted, whatever the token header says
/// (defeats `alg: none` and algorithm confusion).
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    leeway: i64,
}

impl Verifier {
    /// A verifier for the Ed25519 keys of `jwks`.
    ///
    /// Keys of other types (`kty`, `crv`, `alg` or `use` not for Ed25519 signatures) are
    /// skipped: a shared JWKS may legitimately carry them, and one foreign key must not stop
    /// every service from verifying. An Ed25519 key that is itself broken (bad `x`, duplicate
    /// or empty `kid`) is an error, as is a set with no usable key: both are misconfigurations
    /// better found at startup than as refused logins.
    pub fn new(jwks: &Jwks, issuer: &str, audience: &str) -> Result<Verifier, TokenError> {
        let mut keys = HashMap::new();
        for jwk in jwks.keys.iter().filter(|k| is_ed25519_signing_key(k)) {
            if jwk.kid.is_empty() {
                return Err(TokenError::Key(
                    "ed25519 key without kid in jwks".to_owned(),
                ));
            }
            let key = decoding_key(jwk)?;
            if keys.insert(jwk.kid.clone(), key).is_some() {
                return Err(TokenError::Key(format!(
                    "duplicate kid {:?} in jwks",
                    jwk.kid
                )));
            }
        }
        if keys.is_empty() {
            return Err(TokenError::Key(
                "jwks has no ed25519 signing keys".to_owned(),
            ));
        }
        Ok(Verifier {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway: DEFAULT_LEEWAY_SECS,
        })
    }

    /// The same verifier with another clock-skew tolerance (negative counts as zero).
    pub fn with_leeway(mut self, seconds: i64) -> Verifier {
        self.leeway = seconds.max(0);
        self
    }

    /// Checks signature, issuer, audience and times (`now` in unix seconds) and returns the
    /// claims. Cheap checks run first so garbage costs no signature verification.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let parts = split(token)?;
        let header = parse_header(parts.header)?;
        // Pinned, never taken from the header: with `none`, HS256 keyed by our public key or
        // any other algorithm, the token is refused before a key is even looked up.
        if header.alg != "EdDSA" {
            return Err(TokenError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(TokenError::Malformed)?;
        let Some(key) = self.keys.get(&kid) else {
            return Err(TokenError::UnknownKey(truncate_kid(kid)));
        };
        let message = &token[..parts.header.len() + 1 + parts.payload.len()];
        match jsonwebtoken::crypto::verify(
            parts.signature,
            message.as_bytes(),
            key,
            Algorithm::EdDSA,
        ) {
            Ok(true) => {}
            Ok(false) => return Err(TokenError::BadSignature),
            Err(e) => {
                return Err(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => TokenError::Malformed,
                    _ => TokenError::BadSignature,
                });
            }
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| TokenError::Malformed)?;
        // Every claim is a required field of `Claims`, so a missing exp, nbf, iat, jti or sub
        // (or one of the wrong type) fails here.
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.sub.is_empty() || claims.jti.is_empty() {
            return Err(TokenError::Malformed);
        }
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        if now > claims.exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        // A token issued in the future is as suspect as one not valid yet.
        let latest = now.saturating_add(self.leeway);
        if claims.nbf > latest || claims.iat > latest {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// Whether `kid` is in the key set. On an unknown kid the caller refetches the JWKS, at
    /// most every few seconds: kids are attacker-chosen, and each refetch is a request.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }
}

/// The kid in a token's header, without verifying anything (to decide whether to refetch the
/// JWKS). A token without a kid is `Malformed`: ours always carry one.
pub fn peek_kid(token: &str) -> Result<String, TokenError> {
    let parts = split(token)?;
    parse_header(parts.header)?.kid.ok_or(TokenError::Malformed)
}

/// The three base64url parts of a compact JWS.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(header), Some(payload), Some(signature), None)
            if !header.is_empty() && !payload.is_empty() =>
        {
            Ok(Parts {
                header,
                payload,
                signature,
            })
        }
        _ => Err(TokenError::Malformed),
    }
}

/// The header fields this module acts on. Unknown fields are ignored, as RFC 7515 asks.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

fn parse_header(encoded: &str) -> Result<RawHeader, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| TokenError::Malformed)?;
    let header: RawHeader = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood; we understand none.
    if header.crit.is_some() {
        return Err(TokenError::Malformed);
    }
    // Explicit typing (RFC 8725 §3.11): a JWT of another kind signed by a shared key (say an
    // "at+jwt" of another profile) is not taken for one of our access tokens.
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(TokenError::Malformed);
    }
    Ok(header)
}

fn truncate_kid(mut kid: String) -> String {
    if let Some((at, _)) = kid.char_indices().nth(MAX_KID_IN_ERROR) {
        kid.truncate(at);
    }
    kid
}
