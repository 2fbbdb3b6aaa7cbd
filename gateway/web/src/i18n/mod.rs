//! Translations and locale-aware formatting.
//!
//! Catalogs are plain `key = text` files (`i18n/<locale>.txt`) embedded in the binary: one
//! line per message, `#` starts a comment, `{0}` is the one positional argument a message may
//! take. A plain format keeps catalogs editable by translators without tooling, and a test checks
//! that every locale has the same keys and that templates hold no text outside the catalogs.
//!
//! The locale of a request comes from the user's saved preference, then `Accept-Language`,
//! then English. Times are shown in the user's time zone (UTC when none is set).
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use std::{collections::HashMap, sync::OnceLock};

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Locale {
    /// Every supported locale, the default first.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// The BCP 47 tag (`lang` attribute, preferences).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The locale of a BCP 47 tag, loosely: "zh", "zh-cn", "zh_Hans_CN" are Chinese.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "zh" => Some(Locale::ZhCn),
            _ => None,
        }
    }

    /// The best supported locale of an `Accept-Language` header, by its q-values.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let Some(locale) = pieces.next().and_then(Locale::parse) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../../i18n/en.txt"),
            Locale::ZhCn => include_str!("../../i18n/zh-CN.txt"),
        }
    }
}

/// The messages of one locale.
#[derive(Debug)]
pub struct Catalog {
    locale: Locale,
    messages: HashMap<&'static str, &'static str>,
}

impl Catalog {
    /// Parses a catalog; the error names the line.
    pub fn parse(locale: Locale, source: &'static str) -> Result<Catalog, String> {
        let mut messages = HashMap::new();
        for (n, line) in source.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, text) = line.split_once(" = ").ok_or_else(|| {
                format!("{}: line {}: expected `key = text`", locale.tag(), n + 1)
            })?;
            if messages.insert(key.trim(), text).is_some() {
                return Err(format!(
                    "{}: line {}: duplicate key {key}",
                    locale.tag(),
                    n + 1
                ));
            }
        }
        Ok(Catalog { locale, messages })
    }

    /// The keys of the catalog.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.messages.keys().copied()
    }
}

static CATALOGS: OnceLock<Vec<Catalog>> = OnceLock::new();

/// Parses every catalog; called once at start so a broken catalog stops the start, not a page.
pub fn init() -> anyhow::Result<()> {
    if CATALOGS.get().is_some() {
        return Ok(());
    }
    let catalogs = Locale::ALL
        .iter()
        .map(|&l| Catalog::parse(l, l.source()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("i18n catalog: {e}"))?;
    let _ = CATALOGS.set(catalogs);
    Ok(())
}

/// Translation and formatting for one request: the user's locale and time zone.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The request's locale.
    pub locale: Locale,
    /// The user's time zone.
    pub tz: Tz,
}

impl Tr {
    /// A translator for `locale` showing times in `tz`.
    pub fn new(locale: Locale, tz: Tz) -> Tr {
        Tr { locale, tz }
    }

    /// The message `key`; the key itself when it is missing (a test keeps that from shipping).
    pub fn t<'k>(&self, key: &'k str) -> &'k str {
        CATALOGS
            .get()
            .and_then(|all| all.iter().find(|c| c.locale == self.locale))
            .and_then(|c| c.messages.get(key).copied())
            .unwrap_or(key)
    }

    /// The message `key` with `{0}` replaced by `arg`.
    pub fn t1(&self, key: &str, arg: impl std::fmt::Display) -> String {
        self.t(key).replace("{0}", &arg.to_string())
    }

    /// The matcher's reasons for a likely duplicate, in this locale, joined; one the catalog
    /// does not know is shown as the matcher wrote it.
    pub fn reasons(&self, reasons: &[String]) -> String {
        let one = |r: &str| {
            if let Some((_, key)) = REASONS.iter().find(|(text, _)| *text == r) {
                return self.t(key).to_owned();
            }
            if let Some(n) = r
                .strip_prefix("common name (")
                .and_then(|r| r.strip_suffix(" records)"))
            {
                return self.t1("reason.common_name", n);
            }
            if let Some(rest) = r.strip_prefix("name ") {
                return match rest.strip_suffix(" (pinyin)") {
                    Some(score) => self.t1("reason.name_pinyin", score),
                    None => self.t1("reason.name", rest),
                };
            }
            r.to_owned()
        };
        let sep = if self.lang() == "en" { ", " } else { "，" };
        reasons.iter().map(|r| one(r)).collect::<Vec<_>>().join(sep)
    }

    /// The BCP 47 tag of the locale.
    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    fn local(&self, ts: &Option<crm_proto::Timestamp>) -> Option<DateTime<Tz>> {
        let ts = ts.as_ref()?;
        let utc = DateTime::<Utc>::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)?;
        Some(utc.with_timezone(&self.tz))
    }

    /// A date and time in the user's zone ("7 Dec 2026, 09:30" / "2026年12月7日 09:30"); empty
    /// when unset.
    pub fn datetime(&self, ts: &Option<crm_proto::Timestamp>) -> String {
        self.local(ts)
            .map(|t| {
                let (h, m) = (t.hour(), t.minute());
                match self.locale {
                    Locale::En => format!(
                        "{} {} {}, {h:02}:{m:02}",
                        t.day(),
                        month_abbr(t.month()),
                        t.year()
                    ),
                    Locale::ZhCn => {
                        format!("{}年{}月{}日 {h:02}:{m:02}", t.year(), t.month(), t.day())
                    }
                }
            })
            .unwrap_or_default()
    }

    /// The date alone, in the user's zone.
    pub fn date(&self, ts: &Option<crm_proto::Timestamp>) -> String {
        self.local(ts)
            .map(|t| match self.locale {
                Locale::En => format!("{} {} {}", t.day(), month_abbr(t.month()), t.year()),
                Locale::ZhCn => format!("{}年{}月{}日", t.year(), t.month(), t.day()),
            })
            .unwrap_or_default()
    }

    /// The instant as an ISO 8601 string for `<time datetime>` and `datetime-local` inputs.
    pub fn iso(&self, ts: &Option<crm_proto::Timestamp>) -> String {
        self.local(ts)
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }

    /// An integer with grouping separators (both locales group by thousands with ",").
    pub fn number(&self, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        group(&n.unsigned_abs().to_string(), n < 0)
    }

    /// An amount in minor units of an ISO 4217 currency, with the currency's sign for the locale.
    pub fn money(&self, minor: i64, currency: &str) -> String {
        let digits = minor_digits(currency);
        let abs = minor.unsigned_abs();
        let scale = 10u64.pow(digits);
        let whole = group(&(abs / scale).to_string(), false);
        let amount = if digits == 0 {
            whole
        } else {
            format!("{whole}.{:0width$}", abs % scale, width = digits as usize)
        };
        let sign = if minor < 0 { "-" } else { "" };
        let symbol = match (currency, self.locale) {
            ("CNY", Locale::ZhCn) => "¥",
            ("CNY", Locale::En) => "CN¥",
            ("USD", Locale::En) => "$",
            ("USD", Locale::ZhCn) => "US$",
            ("EUR", _) => "€",
            ("GBP", _) => "£",
            ("JPY", Locale::ZhCn) => "JP¥",
            ("JPY", Locale::En) => "¥",
            ("HKD", _) => "HK$",
            _ => return format!("{sign}{amount} {currency}"),
        };
        format!("{sign}{symbol}{amount}")
    }
}

fn month_abbr(month: u32) -> &'static str {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("")
}

/// Digits after the decimal point of an ISO 4217 currency (the common zero-decimal ones).
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    }
}

fn group(digits: &str, negative: bool) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The time zone of an IANA name; UTC when empty or unknown.
pub fn time_zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests;

/// The matcher's fixed reasons (crm_dedup::Reason's Display) and their catalog keys.
const REASONS: &[(&str, &str)] = &[
    ("same email", "reason.same_email"),
    ("same phone", "reason.same_phone"),
    ("same email domain", "reason.same_email_domain"),
    ("same legal name", "reason.same_legal_name"),
    ("different legal name", "reason.different_legal_name"),
    ("same birth date", "reason.same_birth_date"),
    ("similar birth date", "reason.similar_birth_date"),
    ("different birth date", "reason.different_birth_date"),
    ("same address", "reason.same_address"),
    ("similar address", "reason.similar_address"),
    ("same postal code", "reason.same_postal_code"),
    ("different postal code", "reason.different_postal_code"),
    ("different email", "reason.different_email"),
    ("different email domain", "reason.different_email_domain"),
    ("different phone", "reason.different_phone"),
    ("different house number", "reason.different_house_number"),
    ("house number one typo apart", "reason.similar_house_number"),
    (
        "no shared contact, birth date or address",
        "reason.uncorroborated",
    ),
    ("same given name", "reason.same_given_name"),
    ("given name is a nickname of the other", "reason.nickname"),
    ("similar given name", "reason.similar_given_name"),
    ("given name initial", "reason.given_name_initial"),
    (
        "given name only partly similar",
        "reason.partly_similar_given_name",
    ),
    ("different given name", "reason.different_given_name"),
    ("same family name", "reason.same_family_name"),
    ("similar family name", "reason.similar_family_name"),
    (
        "family name only partly similar",
        "reason.partly_similar_family_name",
    ),
    ("different family name", "reason.different_family_name"),
    ("given and family name swapped", "reason.swapped_names"),
    ("same street", "reason.same_street"),
    ("different street", "reason.different_street"),
    ("different address", "reason.different_address"),
    ("birth dates two typos apart", "reason.near_birth_date"),
    (
        "contact shared by a household",
        "reason.shared_by_household",
    ),
];
