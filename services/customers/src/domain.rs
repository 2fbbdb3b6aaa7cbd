//! Customer values, parsed once at the edge ("parse, don't validate"): a value of these types
//! is valid by construction. No I/O here.

/// A customer's display name as written: not blank, at most 200 characters, no control
/// characters. Spaces around it are kept: text comes back exactly as it went in (search and
/// duplicate keys normalise names on their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Maximum length in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.trim().is_empty() {
            return Err("is required");
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 200 characters");
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: one `@`, a non-empty local part, a dotted domain of valid labels. The
/// domain is lower-cased; the local part is kept as entered (it may be case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("is not an email address (no @)");
        };
        if local.is_empty() || local.len() > 64 {
            return Err("is not an email address (bad local part)");
        }
        if local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
        {
            return Err("is not an email address (bad local part)");
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err("is not an email address (bad domain)");
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Regions a default phone region may name, with their country calling codes.
pub const PHONE_REGIONS: &[(&str, &str)] = &[
    ("CN", "86"),
    ("HK", "852"),
    ("MO", "853"),
    ("TW", "886"),
    ("SG", "65"),
    ("MY", "60"),
    ("JP", "81"),
    ("KR", "82"),
    ("IN", "91"),
    ("AU", "61"),
    ("US", "1"),
    ("CA", "1"),
    ("GB", "44"),
    ("DE", "49"),
    ("FR", "33"),
    ("IT", "39"),
    ("ES", "34"),
    ("NL", "31"),
    ("CH", "41"),
    ("AT", "43"),
    ("SE", "46"),
    ("PL", "48"),
    ("BR", "55"),
    ("MX", "52"),
];

/// The calling code numbers without one are read in (`CRM_CUSTOMERS__PHONE_REGION`).
static DEFAULT_CALLING_CODE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
/// The configured region itself: the country of imported addresses that name none.
static DEFAULT_REGION: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The configured default region ("CN" when never set), an ISO 3166-1 alpha-2 code.
pub fn default_region() -> &'static str {
    DEFAULT_REGION.get().copied().unwrap_or("CN")
}

/// Sets the region of numbers written without a country code (once, at start-up; "CN" when
/// never set). Fails for a region not in [`PHONE_REGIONS`].
pub fn set_default_phone_region(region: &str) -> Result<(), String> {
    let (region, code) = PHONE_REGIONS
        .iter()
        .find(|(r, _)| r.eq_ignore_ascii_case(region.trim()))
        .map(|(r, c)| (*r, *c))
        .ok_or_else(|| {
            let known: Vec<_> = PHONE_REGIONS.iter().map(|(r, _)| *r).collect();
            format!("phone region {region:?} is not one of {}", known.join(", "))
        })?;
    // A second start in the same process (tests) keeps the first setting.
    let _ = DEFAULT_CALLING_CODE.set(code);
    let _ = DEFAULT_REGION.set(region);
    Ok(())
}

/// A number written without its country code, in the default region.
fn national(digits: &str) -> Result<String, &'static str> {
    let code = DEFAULT_CALLING_CODE.get().copied().unwrap_or("86");
    let rest = match code {
        // Chinese mobiles: 11 digits starting with 1; landlines: 0, area code, number.
        "86" if digits.len() == 11 && digits.starts_with('1') => digits,
        "86" if digits.starts_with('0') && (10..=12).contains(&digits.len()) => &digits[1..],
        "86" => {
            return Err(
                "is not a Chinese mobile (11 digits starting with 1) or landline (0 and area code) \
                number; write other numbers with + and the country code",
            );
        }
        // North America: 10 digits, or 1 and 10 digits.
        "1" if digits.len() == 11 && digits.starts_with('1') => &digits[1..],
        "1" => digits,
        // Elsewhere a leading 0 is the trunk prefix.
        _ => digits.strip_prefix('0').unwrap_or(digits),
    };
    Ok(format!("{code}{rest}"))
}

/// A phone number in E.164 form: `+`, country code and subscriber number, 8 to 15 digits.
/// Spaces, dashes, dots and parentheses are accepted and removed; a leading `00` is read as `+`;
/// a number without either is read in the default region ([`set_default_phone_region`]), so a
/// Chinese mobile such as "138 1234 5678" becomes "+8613812345678".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact = without_separators(raw);
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest.to_owned()
        } else if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_digit()) {
            national(&compact)?
        } else {
            return Err(
                "must be a phone number: digits, with + and the country code for numbers abroad",
            );
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("must contain only digits after the +");
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err("must have a country code and 8 to 15 digits");
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The E.164 number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as written, without the separators people put between its digits.
fn without_separators(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect()
}

/// Filter literals of phone fields. `phone = "…"` and `!=` take a number in any format a write
/// takes, read in the configured default region, so they compare with the stored E.164 form.
pub fn phone_literal(raw: &str) -> Result<String, String> {
    Phone::parse(raw)
        .map(|p| p.0)
        .map_err(|reason| reason.to_owned())
}

/// `phone:"…"` looks for a run of digits in the stored E.164 number, so the literal is reduced
/// to its digits (separators and a leading `+` dropped). A national trunk `0` is not removed:
/// a fragment has no known position in the number, so "0013 8000" must stay "00138000".
pub fn phone_fragment(raw: &str) -> Result<String, String> {
    let compact = without_separators(raw);
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("must be digits of a phone number, e.g. phone:\"0013 8000\"".to_owned());
    }
    Ok(digits.to_owned())
}

/// Filter literals of email fields. `email = "…"` and `!=` take a whole address, normalised as
/// a write would be (trimmed, domain lower-cased); anything else could never match. The local
/// part keeps its case here and the filter compares it case-insensitively in SQL.
pub fn email_literal(raw: &str) -> Result<String, String> {
    Email::parse(raw)
        .map(|e| e.0)
        .map_err(|reason| reason.to_owned())
}

/// `email:"…"` takes any part of an address ("acme", "@acme.example"), trimmed; the substring
/// match ignores case already.
pub fn email_fragment(raw: &str) -> Result<String, String> {
    Ok(raw.trim().to_owned())
}

/// Person or organisation. Stored as its API name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A natural person.
    Person,
    /// A company or institution.
    Organization,
}

impl Kind {
    /// The stored and filterable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "PERSON",
            Kind::Organization => "ORGANIZATION",
        }
    }

    /// Reads a stored name.
    pub fn from_stored(s: &str) -> Option<Kind> {
        match s {
            "PERSON" => Some(Kind::Person),
            "ORGANIZATION" => Some(Kind::Organization),
            _ => None,
        }
    }
}

/// A customer's resource name, "customers/{uuid}".
pub fn parse_name(name: &str) -> Result<uuid::Uuid, &'static str> {
    name.strip_prefix("customers/")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .ok_or("must be a customer resource name: customers/{uuid}")
}

/// The resource name of a customer id.
pub fn name_of(id: uuid::Uuid) -> String {
    format!("customers/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(
            DisplayName::parse("  Acme GmbH ").map(|n| n.0),
            Ok("  Acme GmbH ".into()),
            "kept as written"
        );
        assert_eq!(DisplayName::parse("张伟").map(|n| n.0), Ok("张伟".into()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(
            DisplayName::parse(&"张".repeat(200)).is_ok(),
            "counts characters, not bytes"
        );
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Li.Na@Example.COM ").map(|e| e.0),
            Ok("Li.Na@example.com".into())
        );
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@example.com").is_err());
        assert!(Email::parse("a@-bad.com").is_err());
        assert!(Email::parse("a@ex..com").is_err());
        assert!(Email::parse("a@@example.com").is_err());
        assert!(
            Email::parse("王@例子.中国").is_ok(),
            "internationalized domains"
        );
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("+86 138-1234-5678").map(|p| p.0),
            Ok("+8613812345678".into())
        );
        assert_eq!(
            Phone::parse("0049 (30) 123456").map(|p| p.0),
            Ok("+4930123456".into())
        );
        // Without a country code: the default region (CN unless configured).
        assert_eq!(
            Phone::parse("138 1234 5678").map(|p| p.0),
            Ok("+8613812345678".into())
        );
        assert_eq!(
            Phone::parse("010-8888 6666").map(|p| p.0),
            Ok("+861088886666".into())
        );
        assert!(
            Phone::parse("12345").is_err(),
            "neither mobile nor landline"
        );
        assert!(Phone::parse("+86 138 abc").is_err());
        assert!(Phone::parse("+1234").is_err());
        assert!(Phone::parse("+0123456789").is_err());
    }

    #[test]
    fn filter_literals() {
        for raw in [
            "13800138000",
            "+8613800138000",
            "138-0013-8000",
            "+86 138 0013 8000",
        ] {
            assert_eq!(phone_literal(raw), Ok("+8613800138000".into()), "{raw}");
        }
        assert!(phone_literal("abc").is_err());
        assert!(phone_literal("").is_err());
        assert_eq!(phone_fragment(" +86 138"), Ok("86138".into()));
        assert_eq!(phone_fragment("(0013) 8000"), Ok("00138000".into()));
        assert!(phone_fragment("abc").is_err());
        assert!(
            phone_fragment("+").is_err(),
            "no digits would match everything"
        );
        assert!(phone_fragment("138x").is_err());
        assert_eq!(
            email_literal(" INFO@acme.EXAMPLE "),
            Ok("INFO@acme.example".into())
        );
        assert!(email_literal("not an email").is_err());
        assert!(email_literal("info@").is_err());
        assert_eq!(email_fragment(" @Acme "), Ok("@Acme".into()));
    }

    #[test]
    fn names() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_name(&name_of(id)), Ok(id));
        assert!(parse_name("customers/not-a-uuid").is_err());
        assert!(parse_name(&id.to_string()).is_err());
    }
}
