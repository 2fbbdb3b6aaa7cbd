//! Customer values, parsed once at the edge ("parse, don't validate"): a value of these types
//! is valid by construction. No I/O here.

/// A customer's display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Maximum length in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required");
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 200 characters");
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(s.to_owned()))
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

/// A phone number in E.164 form: `+`, country code and subscriber number, 8 to 15 digits.
/// Spaces, dashes, dots and parentheses are accepted and removed; a leading `00` is read as `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest
        } else {
            return Err("must be in international form, starting with + and the country code");
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
            Ok("Acme GmbH".into())
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
        assert!(Phone::parse("13812345678").is_err(), "needs a country code");
        assert!(Phone::parse("+86 138 abc").is_err());
        assert!(Phone::parse("+1234").is_err());
        assert!(Phone::parse("+0123456789").is_err());
    }

    #[test]
    fn names() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_name(&name_of(id)), Ok(id));
        assert!(parse_name("customers/not-a-uuid").is_err());
        assert!(parse_name(&id.to_string()).is_err());
    }
}
