//! Field-level encryption of sensitive customer data (national ID numbers,
//! bank account numbers): AES-256-GCM with per-field associated data, key
//! rotation by key id, a keyed blind index for exact-match search, and
//! display masking.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use base64::engine::general_purpose::{GeneralPurpose as B64, GeneralPurposeConfig};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::{Engine, alphabet, engine::DecodePaddingMode};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Format tag of stored values: bumping it lets a future scheme coexist.
const VERSION: &str = "v1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// 128 bits of HMAC output is ample for equality lookups and halves index size.
const INDEX_LEN: usize = 16;

/// Keys come from Secrets written by people and tools: accept them with or
/// without '=' padding rather than failing a deployment over it.
const KEY_B64: B64 = B64::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Key material from configuration (a Kubernetes Secret in production).
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CryptoConfig {
    /// Encryption keys by id: base64 of 32 bytes each. Old keys stay listed until rotation is done.
    pub keys: BTreeMap<String, String>,
    /// The key id new values are encrypted with.
    pub current: String,
    /// Key of the blind index (base64, 32 bytes). Never rotated silently: changing it requires re-indexing.
    pub index_key: String,
}

// Hand-written so that logging a config (e.g. at startup) never leaks keys.
impl fmt::Debug for CryptoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoConfig")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .field("index_key", &"<redacted>")
            .finish()
    }
}

/// Errors never carry plaintext, ciphertext or key bytes, so they are safe to log.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CryptoError {
    #[error("no encryption keys configured")]
    NoKeys,
    #[error("current key id {0:?} is not among the configured keys")]
    UnknownCurrent(String),
    #[error("encryption key {id:?} is invalid: {reason}")]
    BadKey { id: String, reason: String },
    #[error("blind index key is invalid: {0}")]
    BadIndexKey(String),
    #[error("value is encrypted with unknown key id {0:?}")]
    UnknownKey(String),
    #[error("stored value is not in the expected encrypted format")]
    Malformed,
    #[error("decryption failed: wrong key or field, or the value was tampered with")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
    #[error("system random number generator failed")]
    Random,
}

/// Ready-to-use keys. Cheap to clone (shared), Send and Sync.
#[derive(Clone)]
pub struct Keyring {
    ciphers: Arc<BTreeMap<String, Aes256Gcm>>,
    current: String,
    index_key: hmac::Key,
    rng: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.ciphers.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .field("index_key", &"<redacted>")
            .finish()
    }
}

/// Decodes one 32-byte key; the bytes are wiped when the caller drops them.
fn decode_key(b64: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    // Trim because Secrets mounted from files often end with a newline.
    let b64 = b64.trim();
    if b64.is_empty() {
        return Err("key is empty".into());
    }
    let bytes = Zeroizing::new(KEY_B64.decode(b64).map_err(|_| "key is not valid base64")?);
    match bytes.len() {
        KEY_LEN => Ok(bytes),
        n => Err(format!("key decodes to {n} bytes, expected {KEY_LEN}")),
    }
}

/// Key ids end up inside stored values delimited by '.', so keep them to a
/// safe alphabet instead of escaping.
fn valid_key_id(id: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    (1..=64).contains(&id.len()) && id.bytes().all(ok)
}

/// Splits "v1.<key id>.<payload>" without decoding the payload.
fn split_stored(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(VERSION)?.strip_prefix('.')?;
    rest.split_once('.')
        .filter(|(id, payload)| valid_key_id(id) && !payload.is_empty())
}

impl Keyring {
    pub fn from_config(config: &CryptoConfig) -> Result<Keyring, CryptoError> {
        if config.keys.is_empty() {
            return Err(CryptoError::NoKeys);
        }
        let mut ciphers = BTreeMap::new();
        // Kept only to check that the index key is not reused as an encryption key.
        let mut raw_keys = Vec::new();
        for (id, b64) in &config.keys {
            let bad = |reason: String| CryptoError::BadKey {
                id: id.clone(),
                reason,
            };
            if !valid_key_id(id) {
                return Err(bad("key id must be 1-64 chars of [A-Za-z0-9_-]".into()));
            }
            let bytes = decode_key(b64).map_err(bad)?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| bad("rejected by AES-256-GCM".into()))?;
            ciphers.insert(id.clone(), cipher);
            raw_keys.push(bytes);
        }
        if !ciphers.contains_key(&config.current) {
            return Err(CryptoError::UnknownCurrent(config.current.clone()));
        }
        let index_bytes = decode_key(&config.index_key).map_err(CryptoError::BadIndexKey)?;
        // One key for two purposes would tie the index's secrecy to the data
        // keys' and break the promise that data keys rotate independently.
        if raw_keys.iter().any(|k| **k == *index_bytes) {
            return Err(CryptoError::BadIndexKey(
                "index key must differ from every encryption key".into(),
            ));
        }
        Ok(Keyring {
            ciphers: Arc::new(ciphers),
            current: config.current.clone(),
            index_key: hmac::Key::new(hmac::HMAC_SHA256, &index_bytes),
            rng: SystemRandom::new(),
        })
    }

    /// A keyring with fresh random keys (crm dev writes them to a file on
    /// first start), with the config to persist. Fails only if the OS random
    /// source does, which must not be papered over with weak keys.
    pub fn generate() -> Result<(Keyring, CryptoConfig), CryptoError> {
        let rng = SystemRandom::new();
        let random_key = || -> Result<String, CryptoError> {
            let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
            rng.fill(bytes.as_mut()).map_err(|_| CryptoError::Random)?;
            Ok(STANDARD.encode(bytes.as_ref()))
        };
        let config = CryptoConfig {
            keys: BTreeMap::from([("k1".to_string(), random_key()?)]),
            current: "k1".into(),
            index_key: random_key()?,
        };
        Ok((Keyring::from_config(&config)?, config))
    }

    /// Encrypts with the current key. `field` is bound as associated data so a
    /// ciphertext cannot be moved to another column. Output:
    /// "v1.<key id>.<base64url-nopad(nonce || ciphertext+tag)>".
    pub fn encrypt(&self, field: &str, plaintext: &str) -> Result<String, CryptoError> {
        let cipher = self
            .ciphers
            .get(&self.current)
            .ok_or_else(|| CryptoError::UnknownCurrent(self.current.clone()))?;
        // Random 96-bit nonces: safe for well under 2^32 values per key, far
        // beyond a CRM's row counts, and rotation resets the count anyway.
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let (msg, aad) = (plaintext.as_bytes(), field.as_bytes());
        let sealed = cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg, aad })
            .map_err(|_| CryptoError::Encrypt)?;
        let payload = URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat());
        Ok(format!("{VERSION}.{}.{payload}", self.current))
    }

    /// Decrypts a value produced by `encrypt` under any configured key id.
    pub fn decrypt(&self, field: &str, stored: &str) -> Result<String, CryptoError> {
        let (id, payload) = split_stored(stored).ok_or(CryptoError::Malformed)?;
        let cipher = self
            .ciphers
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, msg) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| CryptoError::Malformed)?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg,
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        // Authenticated bytes that are not UTF-8 were not written by `encrypt`;
        // wipe them rather than leave them in freed memory.
        String::from_utf8(plain).map_err(|e| {
            drop(Zeroizing::new(e.into_bytes()));
            CryptoError::Malformed
        })
    }

    /// The key id a stored value uses (None when malformed).
    pub fn key_id(stored: &str) -> Option<&str> {
        split_stored(stored).map(|(id, _)| id)
    }

    /// True when the value is not under the current key (for `rotate-keys`).
    /// Malformed values count as needing rotation so the tool surfaces them
    /// (via `rotate`'s error) instead of silently skipping them.
    pub fn needs_rotation(&self, stored: &str) -> bool {
        Self::key_id(stored) != Some(self.current.as_str())
    }

    /// How every value under the current key starts ("v1.<key id>."), for counting in SQL
    /// what [`Keyring::needs_rotation`] would flag without reading every value.
    pub fn current_prefix(&self) -> String {
        format!("{VERSION}.{}.", self.current)
    }

    /// Re-encrypts under the current key (decrypt + encrypt, fresh nonce).
    pub fn rotate(&self, field: &str, stored: &str) -> Result<String, CryptoError> {
        let plain = Zeroizing::new(self.decrypt(field, stored)?);
        self.encrypt(field, &plain)
    }

    /// Blind index for exact-match search: base64url-nopad of the first 16
    /// bytes of HMAC-SHA256(index_key, field || 0x00 || normalized). The field
    /// prefix makes equal values in different columns unlinkable; the 0x00
    /// separator keeps ("ab", "c") and ("a", "bc") apart.
    pub fn blind_index(&self, field: &str, normalized: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.index_key);
        ctx.update(field.as_bytes());
        ctx.update(&[0]);
        ctx.update(normalized.as_bytes());
        URL_SAFE_NO_PAD.encode(&ctx.sign().as_ref()[..INDEX_LEN])
    }
}

/// Format tag of values sealed with a per-subject data key.
const DATA_VERSION: &str = "d1";

/// A random per-subject key (envelope encryption): the subject's values are sealed with it, and
/// it is stored only wrapped by the keyring. Deleting the wrapped key makes every copy of the
/// subject's values unreadable, backups included (crypto-shredding); rotating the keyring only
/// re-wraps these keys.
#[derive(Clone)]
pub struct DataKey(Aes256Gcm);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl Keyring {
    /// A fresh data key and its wrapped form (encrypted with the current key, bound to
    /// `owner`, e.g. "customer:<id>", so a wrapped key moved to another subject does not open).
    pub fn new_data_key(&self, owner: &str) -> Result<(DataKey, String), CryptoError> {
        let mut raw = Zeroizing::new([0u8; KEY_LEN]);
        self.rng
            .fill(raw.as_mut())
            .map_err(|_| CryptoError::Random)?;
        let encoded = Zeroizing::new(STANDARD.encode(raw.as_ref()));
        let wrapped = self.encrypt(owner, &encoded)?;
        let cipher = Aes256Gcm::new_from_slice(raw.as_ref()).map_err(|_| CryptoError::Encrypt)?;
        Ok((DataKey(cipher), wrapped))
    }

    /// Opens a wrapped data key of `owner`.
    pub fn unwrap_data_key(&self, owner: &str, wrapped: &str) -> Result<DataKey, CryptoError> {
        let encoded = Zeroizing::new(self.decrypt(owner, wrapped)?);
        let raw = Zeroizing::new(
            STANDARD
                .decode(encoded.as_bytes())
                .map_err(|_| CryptoError::Malformed)?,
        );
        Aes256Gcm::new_from_slice(&raw)
            .map(DataKey)
            .map_err(|_| CryptoError::Malformed)
    }
}

impl DataKey {
    /// Seals `plaintext` with `aad` bound: "d1.<base64url-nopad(nonce || ciphertext+tag)>".
    pub fn seal(
        &self,
        keyring: &Keyring,
        aad: &str,
        plaintext: &str,
    ) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        keyring
            .rng
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;
        let sealed = self
            .0
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let payload = URL_SAFE_NO_PAD.encode([&nonce[..], &sealed].concat());
        Ok(format!("{DATA_VERSION}.{payload}"))
    }

    /// Opens a value sealed by [`DataKey::seal`].
    pub fn open(&self, aad: &str, stored: &str) -> Result<String, CryptoError> {
        let payload = stored
            .strip_prefix(DATA_VERSION)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(CryptoError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, msg) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| CryptoError::Malformed)?;
        let plain = self
            .0
            .decrypt(
                &nonce,
                Payload {
                    msg,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|e| {
            drop(Zeroizing::new(e.into_bytes()));
            CryptoError::Malformed
        })
    }

    /// Whether a stored value was sealed with a data key (else with the keyring itself).
    pub fn sealed(stored: &str) -> bool {
        stored.starts_with("d1.")
    }
}

/// Masks a value for display: always 12 '*' then the last 4 chars, so the
/// mask does not reveal the length; 4 chars or fewer become "****" (showing
/// the "last 4" would show everything). Counts chars, not bytes.
pub fn mask(value: &str) -> String {
    match value.chars().count() {
        0..=4 => "****".to_string(),
        n => format!(
            "************{}",
            value.chars().skip(n - 4).collect::<String>()
        ),
    }
}

/// Normalizes a sensitive identifier before indexing/encrypting: trims,
/// removes whitespace (including the full-width U+3000 space of CJK input)
/// and '-', uppercases ASCII letters (Chinese ID numbers end in X or x).
pub fn normalize_identifier(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::CryptoError::*;
    use super::*;

    const K1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 x 0x01
    const K2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="; // 32 x 0x02
    const IDX: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="; // 32 x 0x03
    const SHORT: &str = "AQEBAQEBAQEBAQEBAQEBAQ=="; // 16 bytes
    const NID: &str = "110101199003074578";

    fn cfg() -> CryptoConfig {
        let keys = BTreeMap::from([("k1".into(), K1.into()), ("k2".into(), K2.into())]);
        let (current, index_key) = ("k1".into(), IDX.into());
        CryptoConfig {
            keys,
            current,
            index_key,
        }
    }

    fn with(f: impl Fn(&mut CryptoConfig)) -> Result<Keyring, CryptoError> {
        let mut c = cfg();
        f(&mut c);
        Keyring::from_config(&c)
    }

    #[test]
    fn data_keys_seal_their_owner_only_and_survive_rotation() {
        let ring = Keyring::from_config(&cfg()).unwrap();
        let (key, wrapped) = ring.new_data_key("customer:a").unwrap();
        let sealed = key.seal(&ring, "national_id:a", NID).unwrap();
        assert!(DataKey::sealed(&sealed) && !sealed.contains(NID));
        let opened = ring.unwrap_data_key("customer:a", &wrapped).unwrap();
        assert_eq!(opened.open("national_id:a", &sealed).unwrap(), NID);
        // Bound to its owner and its field.
        assert!(ring.unwrap_data_key("customer:b", &wrapped).is_err());
        assert!(opened.open("bank_account:a", &sealed).is_err());
        let (other, _) = ring.new_data_key("customer:a").unwrap();
        assert!(other.open("national_id:a", &sealed).is_err(), "another key");
        // Rotating the keyring re-wraps the key; the sealed values stay as they are.
        let rotated = with(|c| c.current = "k2".into()).unwrap();
        let rewrapped = rotated.rotate("customer:a", &wrapped).unwrap();
        assert!(rewrapped.starts_with("v1.k2."));
        let again = rotated.unwrap_data_key("customer:a", &rewrapped).unwrap();
        assert_eq!(again.open("national_id:a", &sealed).unwrap(), NID);
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
    }

    fn ring(current: &str) -> Keyring {
        with(|c| c.current = current.into()).unwrap()
    }

    #[test]
    fn round_trip_format_and_random_nonce() {
        let kr = ring("k1");
        for plain in [NID, "", "张三-身份证"] {
            let ct = kr.encrypt("national_id", plain).unwrap();
            assert!(ct.starts_with("v1.k1.") && !ct.contains(NID), "{ct}");
            assert_eq!(Keyring::key_id(&ct), Some("k1"));
            assert_eq!(kr.decrypt("national_id", &ct).unwrap(), plain);
        }
        let (a, b) = (kr.encrypt("f", NID).unwrap(), kr.encrypt("f", NID).unwrap());
        assert_ne!(a, b);
        assert_eq!(kr.decrypt("f", &a).unwrap(), kr.decrypt("f", &b).unwrap());
    }

    #[test]
    fn wrong_field_tampering_and_unknown_key_fail() {
        let kr = ring("k1");
        let ct = kr.encrypt("national_id", NID).unwrap();
        assert_eq!(kr.decrypt("bank_account", &ct), Err(Decrypt));
        let k9 = ct.replacen("k1", "k9", 1);
        assert_eq!(kr.decrypt("national_id", &k9), Err(UnknownKey("k9".into())));
        // Flip one bit in the nonce, the ciphertext and the tag in turn.
        let bytes = URL_SAFE_NO_PAD.decode(&ct[6..]).unwrap();
        for pos in [0, NONCE_LEN, bytes.len() - 1] {
            let mut t = bytes.clone();
            t[pos] ^= 1;
            let bad = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode(&t));
            assert_eq!(kr.decrypt("national_id", &bad), Err(Decrypt), "pos {pos}");
        }
        let short = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode([0u8; 27]));
        for bad in [&short, "v1.k1.!!!", "v2.k1.AAAA", "", "v1.k1.", "v1..AAAA"] {
            assert_eq!(kr.decrypt("f", bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn rotation_moves_value_to_current_key() {
        let (old, new) = (ring("k1"), ring("k2"));
        let ct = old.encrypt("national_id", NID).unwrap();
        assert!(!old.needs_rotation(&ct) && new.needs_rotation(&ct));
        let rotated = new.rotate("national_id", &ct).unwrap();
        assert_eq!(Keyring::key_id(&rotated), Some("k2"));
        assert!(!new.needs_rotation(&rotated));
        assert_eq!(new.decrypt("national_id", &rotated).unwrap(), NID);
        // Malformed values are flagged, and rotate reports them.
        assert!(new.needs_rotation("garbage"));
        assert_eq!(new.rotate("national_id", "garbage"), Err(Malformed));
    }

    #[test]
    fn blind_index_properties() {
        let kr = ring("k1");
        let a = kr.blind_index("national_id", &normalize_identifier(NID));
        let spaced = normalize_identifier(" 110101 19900307-457 8 ");
        assert_eq!(a, kr.blind_index("national_id", &spaced));
        assert_eq!(a.len(), 22); // 16 bytes, base64url without padding
        assert_eq!(a, ring("k2").blind_index("national_id", NID)); // data keys don't matter
        assert_ne!(a, kr.blind_index("bank_account", NID));
        assert_ne!(a, kr.blind_index("national_id", "110101199003074579"));
        let idx2 = "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=";
        let other = with(|c| c.index_key = idx2.into()).unwrap();
        assert_ne!(a, other.blind_index("national_id", NID));
        assert_ne!(kr.blind_index("ab", "c"), kr.blind_index("a", "bc"));
        // Known answer: first 16 bytes of HMAC-SHA256(0x03 * 32, "f\0v").
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &[3u8; 32]), b"f\0v");
        let expected = URL_SAFE_NO_PAD.encode(&tag.as_ref()[..16]);
        assert_eq!(kr.blind_index("f", "v"), expected);
    }

    #[test]
    fn normalize_and_mask() {
        let n = normalize_identifier;
        assert_eq!(n(" 11010119900307457x "), "11010119900307457X");
        assert_eq!(n("6222-0212\u{3000}3456"), "622202123456");
        assert_eq!(n("ab-ç"), "ABç");
        assert_eq!(mask("6222021234567890123"), "************0123");
        assert_eq!(mask("12345"), "************2345");
        for short in ["1234", "123", "", "张三李四"] {
            assert_eq!(mask(short), "****");
        }
        assert_eq!(mask("张三李四王五"), "************李四王五");
    }

    #[test]
    fn debug_hides_key_material() {
        let (c, kr) = (cfg(), ring("k1"));
        for text in [format!("{c:?}"), format!("{kr:?}")] {
            for secret in [K1, K2, IDX, "AQEBAQ", "AgICAg", "AwMDAw"] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("\"k1\"") && text.contains("\"k2\""), "{text}");
        }
    }

    #[test]
    fn from_config_errors_name_the_problem() {
        let err = |f: &dyn Fn(&mut CryptoConfig)| with(f).unwrap_err();
        assert_eq!(err(&|c| c.keys.clear()), NoKeys);
        assert_eq!(
            err(&|c| c.current = "k3".into()),
            UnknownCurrent("k3".into())
        );
        let bad_key = |id: &str, val: &str, needle: &str| {
            let e = err(&|c| drop(c.keys.insert(id.into(), val.into())));
            let msg = e.to_string();
            assert!(matches!(&e, BadKey { id: i, .. } if i == id), "{msg}");
            assert!(msg.contains(needle) && !msg.contains(&val[..6]), "{msg}");
        };
        bad_key("k1", SHORT, "16 bytes, expected 32");
        bad_key("k2", "not base64 at all!", "not valid base64");
        bad_key("a.b", K1, "key id");
        let e = err(&|c| c.index_key.clear()).to_string();
        assert_eq!(e, "blind index key is invalid: key is empty");
        let e = err(&|c| c.index_key = K2.into());
        assert!(matches!(e, BadIndexKey(r) if r.contains("differ")));
        assert!(matches!(
            err(&|c| c.index_key = SHORT.into()),
            BadIndexKey(_)
        ));
        // Unpadded base64 with a trailing newline, as `echo` into a Secret gives, is fine.
        assert!(with(|c| drop(c.keys.insert("k1".into(), format!("{}\n", &K1[..43])))).is_ok());
    }

    #[test]
    fn generate_gives_fresh_working_keys() {
        let ((kr, cfg), (_, cfg2)) = (Keyring::generate().unwrap(), Keyring::generate().unwrap());
        assert_ne!(cfg.keys["k1"], cfg2.keys["k1"]);
        let again = Keyring::from_config(&cfg).unwrap();
        let ct = kr.encrypt("f", "x").unwrap();
        assert_eq!(again.decrypt("f", &ct).unwrap(), "x");
        assert_eq!(kr.blind_index("f", "x"), again.blind_index("f", "x"));
        fn check<T: Send + Sync + Clone>() {}
        check::<Keyring>();
    }
}
