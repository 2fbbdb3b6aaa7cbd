//! Signed, SSRF-safe webhook delivery following the "Standard Webhooks" conventions:
//! `whsec_` secrets, `v1,<base64 hmac-sha256>` signatures over `{id}.{timestamp}.{body}`,
//! a URL/IP guard against requests into internal networks, and an exponential retry schedule.

mod sender;

pub use sender::{Attempt, Sender};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Delay before the first retry; doubled after every further failure.
pub const DEFAULT_BASE: Duration = Duration::from_secs(5);
/// Give up once the next try would fall later than this after the first attempt.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// No single wait between tries is longer than this, however many tries failed.
const MAX_DELAY: Duration = Duration::from_secs(60 * 60);

const SECRET_PREFIX: &str = "whsec_";

/// A new endpoint secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    // SystemRandom reads the OS generator; it only fails if the OS cannot supply entropy,
    // in which case continuing with a predictable secret would be worse than aborting.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        panic!("os random number generator unavailable");
    }
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// Secrets issued by us are `whsec_<base64>`; anything else (e.g. a secret pasted from
/// another system) is used verbatim so that both sides still agree on the key.
fn secret_key(secret: &str) -> hmac::Key {
    let bytes = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    hmac::Key::new(hmac::HMAC_SHA256, &bytes)
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// The `webhook-signature` header value: `v1,<base64 hmac-sha256>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(
        &secret_key(secret),
        &signed_content(msg_id, timestamp, body),
    );
    format!("v1,{}", B64.encode(tag.as_ref()))
}

/// Checks a `webhook-signature` header (several space-separated signatures are allowed so
/// that secrets can be rotated) and that `timestamp` is within `tolerance_secs` of `now`,
/// which stops an intercepted delivery from being replayed later.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    signature_header: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return false;
    }
    let key = secret_key(secret);
    let content = signed_content(msg_id, timestamp, body);
    signature_header
        .split_whitespace()
        .filter_map(|sig| sig.strip_prefix("v1,"))
        .filter_map(|b64| B64.decode(b64).ok())
        // ring::hmac::verify compares in constant time.
        .any(|tag| hmac::verify(&key, &content, &tag).is_ok())
}

/// Why an address must not be the target of a webhook, or None for a public address.
fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, ..) => "unspecified",
        (127, ..) => "loopback",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared address space (cgnat)",
        (192, 0, 0) | (192, 88, 99) => "reserved",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved for documentation",
        (198, 18..=19, _) => "reserved for benchmarking",
        (224..=239, ..) => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        (240..=255, ..) => "reserved",
        _ => return None,
    };
    Some(reason)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded_v4 =
        || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Addresses that carry an IPv4 address reach that IPv4 host (mapped, compatible,
    // SIIT-translated, NAT64), so they are judged by it: ::ffff:127.0.0.1 is loopback.
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0, 0, ..] | [0, 0, 0, 0, 0xffff, 0, ..] => {
            return forbidden_v4(embedded_v4());
        }
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => return forbidden_v4(embedded_v4()),
        // 6to4 embeds the IPv4 address in bits 16..48.
        [0x2002, hi, lo, ..] => {
            return forbidden_v4(Ipv4Addr::new(
                (hi >> 8) as u8,
                hi as u8,
                (lo >> 8) as u8,
                lo as u8,
            ));
        }
        _ => {}
    }
    let reason = match s {
        [0x64, 0xff9b, 1, ..] => "private (local nat64)",
        [x, ..] if x & 0xfe00 == 0xfc00 => "private (unique local)",
        [x, ..] if x & 0xffc0 == 0xfe80 => "link-local",
        [x, ..] if x & 0xffc0 == 0xfec0 => "site-local",
        [x, ..] if x & 0xff00 == 0xff00 => "multicast",
        [0x2001, 0xdb8, ..] | [0x3fff, 0..=0x0fff, ..] => "reserved for documentation",
        [0x2001, 2, 0, ..] => "reserved for benchmarking",
        // Teredo and the rest of the IETF protocol-assignment block tunnel to hosts we
        // cannot judge.
        [0x2001, 0..=0x01ff, ..] => "reserved",
        [0x100, 0, 0, 0, ..] => "reserved (discard-only)",
        _ => return None,
    };
    Some(reason)
}

/// True for addresses that a webhook must never reach: loopback, private, link-local
/// (incl. cloud metadata 169.254.169.254), CGNAT, multicast, reserved ranges, and IPv6
/// forms that embed such an IPv4 address.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

/// Which destinations a webhook URL may point to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Allow loopback/private/link-local targets: for tests and self-hosted setups only.
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("invalid url: {0}")]
    Invalid(String),
    #[error("scheme must be http or https")]
    Scheme,
    #[error("url must have a host")]
    MissingHost,
    #[error("url must not contain a user name or password")]
    Credentials,
    #[error("url must not contain a fragment")]
    Fragment,
    #[error("host {0} is local")]
    LocalHost(String),
    #[error("address {addr} is {reason}")]
    ForbiddenAddress { addr: IpAddr, reason: &'static str },
}

/// Refuses an address the policy does not allow, naming it and why.
pub(crate) fn check_ip(ip: IpAddr, policy: &UrlPolicy) -> Result<(), UrlError> {
    match forbidden_reason(ip) {
        Some(reason) if !policy.allow_private => {
            Err(UrlError::ForbiddenAddress { addr: ip, reason })
        }
        _ => Ok(()),
    }
}

/// Refuses names that resolve to this machine by convention (RFC 6761), whatever DNS says.
pub(crate) fn check_host_name(host: &str, policy: &UrlPolicy) -> Result<(), UrlError> {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if !policy.allow_private && (name == "localhost" || name.ends_with(".localhost")) {
        return Err(UrlError::LocalHost(host.to_owned()));
    }
    Ok(())
}

/// Validates a webhook URL when it is registered and again before each delivery. Host
/// names are only checked by name here; the sender checks what they resolve to.
pub fn check_url(raw: &str, policy: &UrlPolicy) -> Result<url::Url, UrlError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| UrlError::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    // Credentials in the URL would be sent to (and logged by) the receiver and our logs.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    // The url crate normalises hosts the WHATWG way, so "0x7f.1" or "2130706433"
    // already arrive here as the IPv4 address 127.0.0.1.
    match url.host() {
        None => return Err(UrlError::MissingHost),
        Some(url::Host::Domain("")) => return Err(UrlError::MissingHost),
        Some(url::Host::Domain(d)) => check_host_name(d, policy)?,
        Some(url::Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), policy)?,
        Some(url::Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), policy)?,
    }
    Ok(url)
}

/// When to try again after the `attempt`-th (1-based) failed attempt: `base * 2^(attempt-1)`
/// after `now`, at most an hour, or None once that is past `first_attempt_at + max_age`.
pub fn next_attempt_at(
    attempt: u32,
    first_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
    base: Duration,
    max_age: Duration,
) -> Option<DateTime<Utc>> {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let delay = base.saturating_mul(factor).min(MAX_DELAY);
    let next = now.checked_add_signed(TimeDelta::from_std(delay).ok()?)?;
    // A max_age too large to represent means "never give up".
    let deadline = TimeDelta::from_std(max_age)
        .ok()
        .and_then(|age| first_attempt_at.checked_add_signed(age));
    match deadline {
        Some(deadline) if next > deadline => None,
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn generated_secret_has_prefix_and_32_bytes() {
        let s = generate_secret();
        let raw = B64.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, generate_secret());
    }

    #[test]
    fn known_vectors() {
        // Computed independently with python3 hmac/hashlib (matches the Standard Webhooks spec example).
        assert_eq!(
            sign(SECRET, ID, TS, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // No whsec_ prefix: raw bytes of the secret are the key.
        assert_eq!(
            sign("not-a-whsec-secret", "id1", 100, b"hello"),
            "v1,pMhr3Qv0xzXUSrUh59fKxY8GRI7wTPqsWuSgoX3+P1M="
        );
    }

    #[test]
    fn roundtrip_and_tampering() {
        let secret = generate_secret();
        let sig = sign(&secret, ID, TS, BODY);
        assert!(verify(&secret, ID, TS, BODY, &sig, TS, 300));
        assert!(!verify(&secret, ID, TS, b"{\"test\": 1}", &sig, TS, 300));
        assert!(!verify(&secret, ID, TS + 1, BODY, &sig, TS, 300));
        assert!(!verify(&secret, "msg_other", TS, BODY, &sig, TS, 300));
        assert!(!verify(&generate_secret(), ID, TS, BODY, &sig, TS, 300));
        // Several signatures: any valid one is enough; garbage entries are skipped.
        let multi = format!("v1,AAAA v2,zzz v1,!!notb64 {sig}");
        assert!(verify(&secret, ID, TS, BODY, &multi, TS, 300));
        assert!(!verify(&secret, ID, TS, BODY, "v1,AAAA", TS, 300));
        assert!(!verify(&secret, ID, TS, BODY, "", TS, 300));
    }

    #[test]
    fn tolerance() {
        let sig = sign(SECRET, ID, TS, BODY);
        assert!(verify(SECRET, ID, TS, BODY, &sig, TS + 300, 300));
        assert!(verify(SECRET, ID, TS, BODY, &sig, TS - 300, 300));
        assert!(!verify(SECRET, ID, TS, BODY, &sig, TS + 301, 300));
        assert!(!verify(SECRET, ID, TS, BODY, &sig, TS - 301, 300));
        assert!(!verify(SECRET, ID, TS, BODY, &sig, i64::MAX, 300));
    }

    #[test]
    fn forbidden_ip_table() {
        let forbidden = concat!(
            "127.0.0.1 127.255.255.254 0.0.0.0 0.1.2.3 10.0.0.1 172.16.0.1 172.31.255.255 ",
            "192.168.1.1 169.254.169.254 100.64.0.1 100.127.255.255 255.255.255.255 224.0.0.1 ",
            "239.255.255.250 198.18.0.1 198.19.255.255 192.0.2.1 198.51.100.7 203.0.113.9 ",
            "240.0.0.1 192.0.0.8 ::1 :: fc00::1 fd12:3456::1 fe80::1 febf::1 ff02::1 ",
            "::ffff:127.0.0.1 ::ffff:10.0.0.1 ::ffff:169.254.169.254 ::127.0.0.1 ",
            "64:ff9b::10.0.0.1 64:ff9b::7f00:1 2002:7f00:1:: 2001:db8::1 ::ffff:0:10.1.1.1 ",
        );
        for ip in forbidden.split_whitespace() {
            assert!(
                is_forbidden_ip(ip.parse().unwrap()),
                "{ip} should be forbidden"
            );
        }
        let allowed = concat!(
            "8.8.8.8 1.1.1.1 172.15.255.255 172.32.0.1 100.63.255.255 100.128.0.1 192.169.0.1 ",
            "198.17.255.255 198.20.0.1 169.253.0.1 11.0.0.1 2606:4700::1 2001:4860:4860::8888 ",
            "::ffff:8.8.8.8 64:ff9b::8.8.8.8 2002:0808:0808::1 ",
        );
        for ip in allowed.split_whitespace() {
            assert!(
                !is_forbidden_ip(ip.parse().unwrap()),
                "{ip} should be allowed"
            );
        }
    }

    #[test]
    fn check_url_cases() {
        let strict = UrlPolicy::default();
        let open = UrlPolicy {
            allow_private: true,
        };
        let err = |u: &str| check_url(u, &strict).unwrap_err().to_string();
        assert_eq!(err("ftp://example.com/x"), "scheme must be http or https");
        assert_eq!(err("http://127.0.0.1/"), "address 127.0.0.1 is loopback");
        assert_eq!(err("http://[::1]/"), "address ::1 is loopback");
        assert_eq!(err("http://10.0.0.1/hook"), "address 10.0.0.1 is private");
        assert_eq!(err("http://2130706433/"), "address 127.0.0.1 is loopback");
        assert_eq!(
            err("http://[::ffff:169.254.169.254]/"),
            "address ::ffff:169.254.169.254 is link-local"
        );
        assert_eq!(err("http://localhost:8080"), "host localhost is local");
        assert_eq!(
            err("http://api.LOCALHOST./"),
            "host api.localhost. is local"
        );
        assert_eq!(
            err("http://user:pw@example.com/"),
            "url must not contain a user name or password"
        );
        assert_eq!(
            err("https://example.com/hook#frag"),
            "url must not contain a fragment"
        );
        assert!(err("not a url").starts_with("invalid url"));
        assert!(check_url("file:///etc/passwd", &strict).is_err());
        assert_eq!(
            check_url("https://example.com/hook", &strict)
                .unwrap()
                .as_str(),
            "https://example.com/hook"
        );
        for u in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://localhost:8080",
        ] {
            assert!(
                check_url(u, &open).is_ok(),
                "{u} should pass with allow_private"
            );
        }
        // Credentials and schemes stay refused even when private targets are allowed.
        assert!(check_url("ftp://127.0.0.1/", &open).is_err());
        assert!(check_url("http://u:p@127.0.0.1/", &open).is_err());
    }

    #[test]
    fn retry_schedule() {
        let first = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let now = first + TimeDelta::minutes(10);
        let at = |n| {
            next_attempt_at(n, first, now, DEFAULT_BASE, DEFAULT_MAX_AGE)
                .map(|t| (t - now).num_seconds())
        };
        assert_eq!(at(1), Some(5));
        assert_eq!(at(2), Some(10));
        assert_eq!(at(3), Some(20));
        assert_eq!(at(10), Some(2560));
        assert_eq!(at(11), Some(3600));
        assert_eq!(at(40), Some(3600));
        assert_eq!(at(u32::MAX), Some(3600));
        // Past max_age: give up.
        let late = first + TimeDelta::hours(23) + TimeDelta::minutes(30);
        assert_eq!(
            next_attempt_at(20, first, late, DEFAULT_BASE, DEFAULT_MAX_AGE),
            None
        );
        assert!(next_attempt_at(1, first, late, DEFAULT_BASE, DEFAULT_MAX_AGE).is_some());
        assert_eq!(
            next_attempt_at(1, first, first, DEFAULT_BASE, Duration::from_secs(4)),
            None
        );
        assert!(next_attempt_at(1, first, first, DEFAULT_BASE, Duration::MAX).is_some());
    }
}
