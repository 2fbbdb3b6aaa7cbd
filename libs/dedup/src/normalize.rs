//! Normalisers for contact fields: e-mail, phone, address, birth date, and
//! the shared text folding used by the name code.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower-cases and strips accents: NFKD decomposition, combining marks
/// dropped, plus a few letters that NFKD does not decompose (ß, æ, ø, ł…).
/// NFKD (not NFD) also folds full-width forms typed with Chinese input
/// methods ("（中国）", "１３８") to their ASCII equivalents.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        // NFKD leaves ASCII unchanged and it has no combining marks.
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for lc in c.to_lowercase() {
            match lc {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' | 'ð' => out.push('d'),
                'ı' => out.push('i'),
                other => out.push(other),
            }
        }
    }
    out
}

/// Providers on which `local+tag@domain` is delivered to `local@domain`, so
/// the tag can be dropped safely. Deliberately small: on other domains the
/// `+` may be a real part of the mailbox name.
pub const PLUS_ADDRESSING: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "fastmail.com",
    "fastmail.fm",
    "proton.me",
    "protonmail.com",
    "pm.me",
];

/// Free-mail domains: a shared domain on these says nothing about identity.
pub const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sohu.com",
    "foxmail.com",
    "aliyun.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "aol.com",
];

/// Normalises an e-mail address; `None` if it is not shaped like one.
///
/// Rules: trim, strip `mailto:` and angle brackets, lower-case. For Gmail
/// (`googlemail.com` is an alias and is mapped to `gmail.com`) dots in the
/// local part are ignored by the provider, so they are removed. The `+tag`
/// suffix is removed only on [`PLUS_ADDRESSING`] providers. Other domains
/// are left untouched because their local parts may be case/dot sensitive.
pub fn normalize_email(raw: &str) -> Option<String> {
    let s = raw.trim().trim_start_matches('<').trim_end_matches('>');
    let s = s.trim();
    let s = s
        .strip_prefix("mailto:")
        .or_else(|| s.strip_prefix("MAILTO:"))
        .unwrap_or(s);
    let s = s.to_lowercase();
    let (local, domain) = s.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || local.contains('@')
        || s.chars().any(char::is_whitespace)
    {
        return None;
    }
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let mut local = local.to_string();
    if PLUS_ADDRESSING.contains(&domain)
        && let Some(pos) = local.find('+')
    {
        local.truncate(pos);
    }
    if domain == "gmail.com" {
        local.retain(|c| c != '.');
    }
    if local.is_empty() {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

/// Domain part of an already normalised e-mail.
pub fn email_domain(normalized: &str) -> Option<&str> {
    normalized.rsplit_once('@').map(|(_, d)| d)
}

/// True for consumer mail providers shared by unrelated people.
pub fn is_free_mail_domain(domain: &str) -> bool {
    FREE_MAIL.contains(&domain)
}

/// Calling codes whose national numbers carry a trunk `0` that must be
/// dropped in E.164 ("+86 (0)10 …", "+49 030 …"). Italy (39) keeps its 0.
const TRUNK_ZERO: &[&str] = &[
    "86", "44", "49", "33", "41", "43", "31", "32", "46", "61", "81", "82", "91",
];

/// Normalises a phone number to E.164 (`+` followed by 8–15 digits).
///
/// * `+` and `00` mark an international number; a trunk `0` directly after
///   the calling code (and a literal "(0)") is removed.
/// * Separators (space, `-`, `.`, `/`, parentheses) are ignored; anything
///   from an extension marker (`ext`, `x`, `#`, `转`, `,`, `;`) on is cut.
/// * Without a prefix the number is read in `default_cc`. For `86`: mobiles
///   (11 digits, `1[3-9]…`), landlines with trunk 0 + area code, `400/800`
///   service numbers, and `86…` typed without the plus. Elsewhere a leading
///   trunk `0` is dropped and the rest prefixed with the code.
/// * `None` for fewer than 8 digits in total, more than 15, local numbers
///   without area code (they cannot be made unique), placeholder numbers made
///   of a single repeated digit, or any stray characters.
pub fn normalize_phone(raw: &str, default_cc: &str) -> Option<String> {
    let folded = fold(raw);
    let mut s = folded.trim();
    s = s.strip_prefix("tel:").unwrap_or(s).trim();
    let owned = s.replace("(0)", "");
    let mut s = owned.as_str();
    if let Some(cut) = s.find(|c: char| c.is_alphabetic() || matches!(c, '#' | ',' | ';')) {
        s = &s[..cut];
    }
    let s = s.trim();
    // A '+' is only meaningful in front ("(+86) 138…" is common).
    let (plus, body) = match s.find('+') {
        Some(p) if s[..p].chars().all(|c| c == '(' || c == ' ') => {
            (true, format!("{}{}", &s[..p], &s[p + 1..]))
        }
        Some(_) => return None,
        None => (false, s.to_string()),
    };
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
    {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let international = if plus {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00")
    };
    let e164 = match international {
        Some(intl) => drop_trunk_zero(intl),
        None => national_to_e164(&digits, default_cc)?,
    };
    let len = e164.len();
    let first = e164.chars().next()?;
    if !(8..=15).contains(&len) || first == '0' || e164.chars().all(|c| c == first) {
        return None;
    }
    Some(format!("+{e164}"))
}

fn drop_trunk_zero(intl: &str) -> String {
    for cc in TRUNK_ZERO {
        if let Some(rest) = intl.strip_prefix(cc)
            && let Some(national) = rest.strip_prefix('0')
        {
            return format!("{cc}{national}");
        }
    }
    intl.to_string()
}

fn national_to_e164(d: &str, cc: &str) -> Option<String> {
    let b = d.as_bytes();
    if cc == "86" {
        let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if mobile {
            return Some(format!("86{d}"));
        }
        if b.len() == 13 && d.starts_with("861") {
            return Some(d.to_string());
        }
        if let Some(rest) = d.strip_prefix('0') {
            // Area code (2-3 digits) + subscriber (7-8 digits).
            return (9..=11).contains(&rest.len()).then(|| format!("86{rest}"));
        }
        if b.len() == 10 && (d.starts_with("400") || d.starts_with("800")) {
            return Some(format!("86{d}"));
        }
        // A bare 7-8 digit local number lacks its area code: not unique.
        return None;
    }
    if cc == "1" {
        return match b.len() {
            10 => Some(format!("1{d}")),
            11 if b[0] == b'1' => Some(d.to_string()),
            _ => None,
        };
    }
    let national = d.strip_prefix('0').unwrap_or(d);
    (national.len() >= 6).then(|| format!("{cc}{national}"))
}

/// Address reduced to comparable form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalizedAddress {
    /// Folded (lower-case, no accents), punctuation replaced by spaces,
    /// whitespace collapsed.
    pub text: String,
    /// A 4–6 digit run taken as the postal code: the longest such run, the
    /// last one on ties (house numbers tend to be shorter and come first in
    /// Western addresses; Chinese addresses put the code at the end).
    pub postal_code: Option<String>,
}

/// Normalises a free-text address; `None` for blank input.
pub fn normalize_address(raw: &str) -> Option<NormalizedAddress> {
    let folded = fold(raw);
    let cleaned: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let text = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    let mut best: Option<&str> = None;
    let mut start = None;
    let bytes = text.as_bytes();
    for i in 0..=bytes.len() {
        let is_digit = i < bytes.len() && bytes[i].is_ascii_digit();
        match (is_digit, start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                let run = &text[st..i];
                if (4..=6).contains(&run.len()) && best.is_none_or(|b| run.len() >= b.len()) {
                    best = Some(run);
                }
                start = None;
            }
            _ => {}
        }
    }
    Some(NormalizedAddress {
        postal_code: best.map(str::to_string),
        text,
    })
}

/// Token set of a normalised address used for similarity: whitespace tokens,
/// with runs of Han characters split into character bigrams because Chinese
/// addresses are written without spaces.
pub fn address_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        let chars: Vec<char> = tok.chars().collect();
        if chars.len() > 2 && chars.iter().any(|c| crate::names::is_han(*c)) {
            for w in chars.windows(2) {
                out.push(w.iter().collect());
            }
        } else {
            out.push(tok.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A validated calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BirthDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl std::fmt::Display for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses `YYYY-MM-DD` (also `/` or `.` separators, 1-digit month/day).
/// `None` for invalid dates and for `1900-01-01`, the usual "unknown"
/// placeholder in CRM exports, which would otherwise look like agreement.
pub fn parse_birth_date(raw: &str) -> Option<BirthDate> {
    let mut parts = raw.trim().split(['-', '/', '.']);
    let year: u16 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1800..=2200).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let max_day = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > max_day || (year, month, day) == (1900, 1, 1) {
        return None;
    }
    Some(BirthDate { year, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_strips_accents_and_width() {
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("José Núñez"), "jose nunez");
        assert_eq!(fold("Øre Łódź"), "ore lodz");
        assert_eq!(fold("（中国）"), "(中国)");
        assert_eq!(fold("张伟"), "张伟");
    }

    #[test]
    fn email_basic() {
        assert_eq!(
            normalize_email("  John.Doe@Example.COM "),
            Some("john.doe@example.com".into())
        );
        assert_eq!(normalize_email("mailto:a@b.de"), Some("a@b.de".into()));
        assert_eq!(normalize_email("<a@b.de>"), Some("a@b.de".into()));
        assert_eq!(normalize_email("not-an-email"), None);
        assert_eq!(normalize_email("a@localhost"), None);
        assert_eq!(normalize_email("@b.com"), None);
        assert_eq!(normalize_email("a b@c.com"), None);
    }

    #[test]
    fn email_gmail_dots_and_plus() {
        assert_eq!(
            normalize_email("J.O.H.N.Doe+crm@gmail.com"),
            Some("johndoe@gmail.com".into())
        );
        assert_eq!(
            normalize_email("john.doe@googlemail.com"),
            Some("johndoe@gmail.com".into())
        );
    }

    #[test]
    fn email_plus_only_on_known_providers() {
        assert_eq!(
            normalize_email("john.doe+news@outlook.com"),
            Some("john.doe@outlook.com".into())
        );
        assert_eq!(
            normalize_email("a.b+x@icloud.com"),
            Some("a.b@icloud.com".into())
        );
        assert_eq!(normalize_email("a+x@proton.me"), Some("a@proton.me".into()));
        // Unknown provider: both dots and the tag are kept.
        assert_eq!(
            normalize_email("john.doe+news@example.com"),
            Some("john.doe+news@example.com".into())
        );
    }

    #[test]
    fn email_domain_helpers() {
        assert_eq!(email_domain("a@acme.com"), Some("acme.com"));
        assert!(is_free_mail_domain("qq.com"));
        assert!(!is_free_mail_domain("acme.com"));
    }

    const CN: &str = "86";

    #[test]
    fn phone_chinese_mobile_formats() {
        let want = Some("+8613812345678".to_string());
        for raw in [
            "+86 138 1234 5678",
            "13812345678",
            "0086-138-1234-5678",
            "138.1234.5678",
            "(+86) 138 1234 5678",
            "8613812345678",
            "+86-138-1234-5678 ext. 12",
            "１３８１２３４５６７８",
            "tel:+8613812345678",
        ] {
            assert_eq!(normalize_phone(raw, CN), want, "{raw}");
        }
    }

    #[test]
    fn phone_chinese_landline() {
        let want = Some("+861012345678".to_string());
        assert_eq!(normalize_phone("010-1234 5678", CN), want);
        assert_eq!(normalize_phone("(010) 12345678", CN), want);
        assert_eq!(normalize_phone("+86 (0)10 1234 5678", CN), want);
        assert_eq!(normalize_phone("+86 010 1234 5678", CN), want);
        assert_eq!(normalize_phone("0086 10 12345678转123", CN), want);
        assert_eq!(
            normalize_phone("0755-8765432", CN),
            Some("+867558765432".into())
        );
        assert_eq!(
            normalize_phone("400-123-4567", CN),
            Some("+864001234567".into())
        );
    }

    #[test]
    fn phone_other_countries() {
        assert_eq!(
            normalize_phone("+49 (0)30 1234567", CN),
            Some("+49301234567".into())
        );
        assert_eq!(
            normalize_phone("0049 151 23456789", CN),
            Some("+4915123456789".into())
        );
        assert_eq!(
            normalize_phone("030 1234567", "49"),
            Some("+49301234567".into())
        );
        assert_eq!(
            normalize_phone("(212) 555-0187", "1"),
            Some("+12125550187".into())
        );
        assert_eq!(
            normalize_phone("+39 06 1234 5678", CN),
            Some("+390612345678".into())
        );
    }

    #[test]
    fn phone_rejects_implausible() {
        assert_eq!(normalize_phone("12345", CN), None);
        assert_eq!(normalize_phone("+86 1234", CN), None);
        assert_eq!(normalize_phone("8765432", CN), None, "no area code");
        assert_eq!(normalize_phone("call me", CN), None);
        assert_eq!(normalize_phone("", CN), None);
        assert_eq!(normalize_phone("+1 234 567 890 123 456 7", CN), None);
        assert_eq!(normalize_phone("+88888888888", CN), None);
        assert_eq!(normalize_phone("138*1234*5678", CN), None);
    }

    #[test]
    fn address_postal_code() {
        let a = normalize_address("Musterstraße 12,  10115   Berlin").unwrap();
        assert_eq!(a.text, "musterstrasse 12 10115 berlin");
        assert_eq!(a.postal_code.as_deref(), Some("10115"));
        let b = normalize_address("1600 Amphitheatre Pkwy, Mountain View, CA 94043").unwrap();
        assert_eq!(b.postal_code.as_deref(), Some("94043"));
        let c = normalize_address("北京市朝阳区建国路88号 100022").unwrap();
        assert_eq!(c.postal_code.as_deref(), Some("100022"));
        let d = normalize_address("Main Street 5").unwrap();
        assert_eq!(d.postal_code, None);
        assert_eq!(normalize_address("  ,, "), None);
        // A 7-digit run is not a postal code.
        let e = normalize_address("Box 1234567").unwrap();
        assert_eq!(e.postal_code, None);
    }

    #[test]
    fn address_tokens_bigrams_for_han() {
        let t = address_tokens("北京市朝阳区 100022");
        assert!(t.contains(&"朝阳".to_string()));
        assert!(t.contains(&"100022".to_string()));
    }

    #[test]
    fn birth_date_parsing() {
        let d = parse_birth_date("1980-02-29").unwrap();
        assert_eq!(d.to_string(), "1980-02-29");
        assert_eq!(parse_birth_date("1981-02-29"), None);
        assert_eq!(
            parse_birth_date("1980/3/7").unwrap().to_string(),
            "1980-03-07"
        );
        assert_eq!(parse_birth_date("1980-13-01"), None);
        assert_eq!(parse_birth_date("1900-01-01"), None);
        assert_eq!(parse_birth_date("yesterday"), None);
        assert_eq!(parse_birth_date("1980-01-01-01"), None);
    }
}
