//! The descriptive fields of a customer (legal name, lifecycle stage, industry, region, size,
//! source channel, tags, external id, birth date, language, notes): parsed and checked once at
//! the edge, then applied to a stored row field by field (creates apply all, updates the masked
//! ones). No I/O here.
use crate::store::CustomerRow;

/// Lifecycle stages, in proto order (proto value = index + 1).
pub const STAGES: &[&str] = &["PROSPECT", "NEW", "ACTIVE", "AT_RISK", "CHURNED"];
/// Value tiers, in proto order.
pub const TIERS: &[&str] = &["A", "B", "C"];
/// Company sizes, in proto order.
pub const SIZES: &[&str] = &["MICRO", "SMALL", "MEDIUM", "LARGE", "ENTERPRISE"];
/// Source channels, in proto order.
pub const CHANNELS: &[&str] = &[
    "WEB_FORM",
    "SOCIAL",
    "STORE",
    "TRADE_SHOW",
    "REFERRAL",
    "E_COMMERCE",
    "API_IMPORT",
    "MANUAL",
    "OTHER",
];

/// The stage of a customer nobody has classified yet.
pub const DEFAULT_STAGE: &str = "PROSPECT";
/// The tier of a customer without purchases.
pub const DEFAULT_TIER: &str = "C";

/// Most tags a customer may carry.
pub const MAX_TAGS: usize = 50;

/// The stored name of a proto enum value: `Ok(None)` for "unspecified" (0).
pub fn enum_name(
    value: i32,
    names: &'static [&'static str],
) -> Result<Option<&'static str>, String> {
    if value == 0 {
        return Ok(None);
    }
    usize::try_from(value - 1)
        .ok()
        .and_then(|i| names.get(i).copied())
        .map(Some)
        .ok_or_else(|| format!("must be one of {}", names.join(", ")))
}

/// The proto value of a stored enum name (0 when unknown or absent).
pub fn enum_value(stored: Option<&str>, names: &[&str]) -> i32 {
    stored
        .and_then(|s| names.iter().position(|n| *n == s))
        .map_or(0, |i| i32::try_from(i + 1).unwrap_or(0))
}

/// Single-line free text of at most `max` characters, kept exactly as written (spaces around
/// it included: text comes back as it went in); `None` when empty.
pub fn short_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(Some(raw.to_owned()))
}

/// A person's full name from its parts, in the script's order: family name first and no space
/// when either part is written in Han characters ("张伟"), else given name first ("Wei Zhang").
/// `None` when both parts are blank.
pub fn compose_name(given: &str, family: &str) -> Option<String> {
    let (given, family) = (given.trim(), family.trim());
    let han = |s: &str| s.chars().any(crm_dedup::names::is_han);
    match (given.is_empty(), family.is_empty()) {
        (true, true) => None,
        (false, true) => Some(given.to_owned()),
        (true, false) => Some(family.to_owned()),
        _ if han(given) || han(family) => Some(format!("{family}{given}")),
        _ => Some(format!("{given} {family}")),
    }
}

/// A key another system matches on (external ids): single-line text of at most `max`
/// characters, trimmed. Unlike free text, spaces around a key are never part of it: a
/// spreadsheet's " 007" is the key "007", and keeping the space would break upserts by it.
pub fn key_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    short_text(raw.trim(), max)
}

/// Notes: multi-line text of at most 10,000 characters (tabs and line breaks allowed), kept
/// exactly as written, trailing spaces and line breaks included.
pub fn notes(raw: &str) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > 10_000 {
        return Err("must be at most 10000 characters".to_owned());
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".to_owned());
    }
    Ok(Some(raw.to_owned()))
}

/// Tags: each trimmed, 1-50 characters, no commas or control characters; duplicates ignoring
/// case are merged (the first spelling is kept); at most [`MAX_TAGS`].
pub fn tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tag in raw {
        let t = tag.trim();
        if t.is_empty() {
            return Err("must not contain empty tags".to_owned());
        }
        if t.chars().count() > 50 || t.contains(',') || t.chars().any(char::is_control) {
            return Err(format!("tag {t:?} must be 1-50 characters without commas"));
        }
        if !out.iter().any(|o| o.to_lowercase() == t.to_lowercase()) {
            out.push(t.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

/// A corporate system's name: lower-case letters, digits, '-' and '_', 1-50 characters.
pub fn source(raw: &str) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ok = s.len() <= 50
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(
            "must be 1-50 lower-case letters, digits, '-' or '_' (e.g. \"sap\")".to_owned(),
        );
    }
    Ok(Some(s.to_owned()))
}

/// A calendar date "YYYY-MM-DD" between 1800-01-01 and the end of next year. Only this form:
/// "03/04/2020" is ambiguous and refused, never guessed.
pub fn date(raw: &str) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let parsed = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| "must be a date \"YYYY-MM-DD\"".to_owned())?;
    use chrono::Datelike;
    let next_year = chrono::Utc::now().year() + 1;
    if parsed.year() < 1800 || parsed.year() > next_year {
        return Err(format!("must be between 1800 and {next_year}"));
    }
    Ok(Some(parsed.format("%Y-%m-%d").to_string()))
}

/// A BCP 47 language tag, normalized: language lower-case, script title-case, region upper-case
/// ("zh-hans-cn" → "zh-Hans-CN").
pub fn language(raw: &str) -> Result<Option<String>, String> {
    let s = raw.trim().replace('_', "-");
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || "must be a language tag such as \"zh-CN\", \"en\" or \"de-CH\"".to_owned();
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or_default();
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let mut out = vec![lang.to_ascii_lowercase()];
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        out.push(match part.len() {
            2 if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
            4 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                let lower = part.to_ascii_lowercase();
                let mut chars = lower.chars();
                chars
                    .next()
                    .map(|f| f.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
            _ => part.to_ascii_lowercase(),
        });
    }
    Ok(Some(out.join("-")))
}

/// The descriptive fields of a customer, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Legal name.
    pub legal_name: Option<String>,
    /// A stage set by hand (pins it).
    pub lifecycle_stage: Option<&'static str>,
    /// Whether the stage is pinned.
    pub stage_pinned: bool,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Company size.
    pub company_size: Option<&'static str>,
    /// Source channel.
    pub source_channel: Option<&'static str>,
    /// Tags.
    pub tags: Vec<String>,
    /// Id in the corporate system.
    pub external_id: Option<String>,
    /// The corporate system.
    pub source: Option<String>,
    /// "YYYY-MM-DD".
    pub birth_date: Option<String>,
    /// BCP 47.
    pub preferred_language: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// A person's given name.
    pub given_name: Option<String>,
    /// A person's family name.
    pub family_name: Option<String>,
}

/// Profile fields an update mask may name.
pub const FIELDS: &[&str] = &[
    "legal_name",
    "lifecycle_stage",
    "stage_pinned",
    "industry",
    "region",
    "company_size",
    "source_channel",
    "tags",
    "external_id",
    "source",
    "birth_date",
    "preferred_language",
    "notes",
    "given_name",
    "family_name",
];

impl Profile {
    /// Writes the fields for which `wants` is true onto `row`. Setting a stage pins it; the
    /// external id and its source go together.
    pub fn apply(&self, row: &mut CustomerRow, wants: impl Fn(&str) -> bool) {
        if wants("legal_name") {
            row.legal_name = self.legal_name.clone();
        }
        if wants("stage_pinned") {
            row.stage_pinned = self.stage_pinned;
        }
        if wants("lifecycle_stage")
            && let Some(stage) = self.lifecycle_stage
        {
            row.lifecycle_stage = stage.to_owned();
            row.stage_pinned = true;
        }
        if wants("industry") {
            row.industry = self.industry.clone();
        }
        if wants("region") {
            row.region = self.region.clone();
        }
        if wants("company_size") {
            row.company_size = self.company_size.map(str::to_owned);
        }
        if wants("source_channel") {
            row.source_channel = self.source_channel.map(str::to_owned);
        }
        if wants("tags") {
            row.tags = serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".to_owned());
        }
        if wants("external_id") || wants("source") {
            row.external_id = self.external_id.clone();
            row.source = self.source.clone();
        }
        if wants("birth_date") {
            row.birth_date = self.birth_date.clone();
        }
        if wants("preferred_language") {
            row.preferred_language = self.preferred_language.clone();
        }
        if wants("notes") {
            row.notes = self.notes.clone();
        }
        if wants("given_name") {
            row.given_name = self.given_name.clone();
        }
        if wants("family_name") {
            row.family_name = self.family_name.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_map_both_ways_and_reject_unknown_values() {
        assert_eq!(enum_name(3, STAGES), Ok(Some("ACTIVE")));
        assert_eq!(enum_name(0, STAGES), Ok(None));
        assert!(enum_name(6, STAGES).unwrap_err().contains("PROSPECT"));
        assert!(enum_name(-1, TIERS).is_err());
        assert_eq!(enum_value(Some("AT_RISK"), STAGES), 4);
        assert_eq!(enum_value(Some("nonsense"), STAGES), 0);
        assert_eq!(enum_value(None, SIZES), 0);
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_bounded() {
        let t = tags(&[" VIP ".into(), "vip".into(), "重点客户".into()]).unwrap();
        assert_eq!(t, ["VIP", "重点客户"]);
        assert!(tags(&["a,b".into()]).is_err());
        assert!(tags(&["".into()]).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert!(tags(&many).unwrap_err().contains("50"));
    }

    #[test]
    fn dates_only_in_iso_form() {
        assert_eq!(date("1990-03-07").unwrap().as_deref(), Some("1990-03-07"));
        assert!(date("03/07/1990").is_err(), "ambiguous forms are refused");
        assert!(date("1990-3-7").is_err());
        assert!(date("1990-02-30").is_err());
        assert!(date("1700-01-01").is_err());
        assert_eq!(date(" ").unwrap(), None);
    }

    #[test]
    fn languages_are_normalized() {
        assert_eq!(language("zh_cn").unwrap().as_deref(), Some("zh-CN"));
        assert_eq!(
            language("ZH-hans-cn").unwrap().as_deref(),
            Some("zh-Hans-CN")
        );
        assert_eq!(language("en").unwrap().as_deref(), Some("en"));
        assert!(language("english please").is_err());
        assert!(language("e").is_err());
    }

    #[test]
    fn sources_and_text() {
        assert_eq!(source("sap").unwrap().as_deref(), Some("sap"));
        assert!(source("SAP").is_err());
        assert!(source("s a p").is_err());
        assert!(short_text(&"x".repeat(101), 100).is_err());
        assert!(short_text("a\u{7}b", 100).is_err());
        assert_eq!(
            notes("line 1\r\nline 2\n").unwrap().as_deref(),
            Some("line 1\r\nline 2\n"),
            "kept as written"
        );
        assert_eq!(
            short_text(" trailing spaces   ", 100).unwrap().as_deref(),
            Some(" trailing spaces   ")
        );
        assert_eq!(short_text("", 100).unwrap(), None);
        assert_eq!(key_text(" 007 ", 100).unwrap().as_deref(), Some("007"));
        assert_eq!(key_text("  ", 100).unwrap(), None);
        assert!(notes("bell \u{7}").is_err());
    }
}
