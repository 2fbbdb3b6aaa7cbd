//! The signed-in user's session: the identity service's tokens, sealed (AES-256-GCM) into an
//! HttpOnly cookie.
//!
//! Sealing keeps the gateway stateless, so any replica serves any request and a restart signs
//! nobody out; the keys rotate like the customers service's field keys (a list of keys, one
//! current). The browser can neither read nor forge the tokens. Logout revokes the refresh
//! token family and the access token at the identity service, so a copied cookie dies with it.
use crm_platform::crypto::Keyring;
use http::{HeaderMap, HeaderValue, header};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// Name of the session cookie.
pub const COOKIE: &str = "crm_session";
/// Name of the cookie that keeps the language chosen before signing in.
pub const LANG_COOKIE: &str = "crm_lang";
/// Associated data of the sealed cookie: a value sealed for another purpose does not open here.
const AAD: &str = "crm-web.session";

/// What the cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The access token (JWT) sent to the services.
    pub access: String,
    /// The refresh token, exchanged for a new pair when the access token expires.
    pub refresh: String,
    /// When the access token expires (Unix seconds).
    pub expires: i64,
    /// The CSRF token of this session (random, 128 bits, hex).
    pub csrf: String,
    /// The user's id.
    pub user: String,
    /// Name shown in the header.
    pub display: String,
    /// Preferred locale tag ("" = follow the browser).
    #[serde(default)]
    pub locale: String,
    /// IANA time zone ("" = UTC).
    #[serde(default)]
    pub tz: String,
}

/// Seals and opens session cookies.
#[derive(Clone, Debug)]
pub struct Sealer {
    keyring: Keyring,
    secure: bool,
}

impl Sealer {
    /// A sealer with `keyring`; `secure` marks cookies Secure (served over TLS).
    pub fn new(keyring: Keyring, secure: bool) -> Sealer {
        Sealer { keyring, secure }
    }

    /// The session in the request's cookie, if it opens.
    pub fn open(&self, headers: &HeaderMap) -> Option<Session> {
        let sealed = cookie(headers, COOKIE)?;
        let json = self.keyring.decrypt(AAD, sealed).ok()?;
        serde_json::from_str(&json).ok()
    }

    /// The `Set-Cookie` value storing `session`.
    pub fn seal(&self, session: &Session) -> anyhow::Result<HeaderValue> {
        let json = serde_json::to_string(session)?;
        let sealed = self
            .keyring
            .encrypt(AAD, &json)
            .map_err(|e| anyhow::anyhow!("seal session: {e}"))?;
        self.set_cookie(COOKIE, &sealed, None)
    }

    /// The `Set-Cookie` value deleting the session cookie.
    pub fn clear(&self) -> HeaderValue {
        self.set_cookie(COOKIE, "", Some(0))
            .unwrap_or_else(|_| HeaderValue::from_static("crm_session=; Path=/; Max-Age=0"))
    }

    /// A `Set-Cookie` header value; `max_age` None makes it last as long as the browser session.
    pub fn set_cookie(
        &self,
        name: &str,
        value: &str,
        max_age: Option<i64>,
    ) -> anyhow::Result<HeaderValue> {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        Ok(HeaderValue::from_str(&cookie)?)
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// 128 random bits as hex (CSRF tokens).
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("system random number generator failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    // Fold every byte in: the time depends on the length only, never on where they differ.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        let (keyring, _) = Keyring::generate().expect("keys");
        Sealer::new(keyring, true)
    }

    fn session() -> Session {
        Session {
            access: "a.b.c".into(),
            refresh: "r".into(),
            expires: 1,
            csrf: random_token().expect("random"),
            user: "u".into(),
            display: "张 伟 ".into(),
            locale: "zh-CN".into(),
            tz: "Asia/Shanghai".into(),
        }
    }

    fn headers_with(cookie_header: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(cookie_header).expect("header"),
        );
        h
    }

    #[test]
    fn a_sealed_session_opens_only_with_its_keys_and_unchanged() {
        let s = sealer();
        let set = s.seal(&session()).expect("seal");
        let set = set.to_str().expect("ascii");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        let value = set.split(';').next().expect("pair");
        let opened = s
            .open(&headers_with(&format!("other=1; {value}")))
            .expect("opens");
        assert_eq!(opened.display, "张 伟 ");
        assert_eq!(opened.tz, "Asia/Shanghai");
        // Another process's keys cannot open it, and a changed byte breaks it.
        assert!(sealer().open(&headers_with(value)).is_none());
        let mut tampered = value.to_string();
        tampered.pop();
        tampered.push('A');
        assert!(s.open(&headers_with(&tampered)).is_none() || tampered == value);
    }

    #[test]
    fn csrf_tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token().expect("a"), random_token().expect("b"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..31]));
    }
}
