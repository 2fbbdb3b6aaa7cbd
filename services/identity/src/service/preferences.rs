//! Personal settings of the signed-in user: language, time zone and the saved views of the web
//! UI. Each user reads and writes only their own; nobody else's exist for them (NOT_FOUND).
use super::{Caller, Identity};
use crate::{
    error::Error,
    store::{PreferencesRow, SavedViewRow},
};
use chrono::{DateTime, Utc};
use crm_platform::{auth::Principal, error::FieldViolation};
use sqlx::types::Json;
use uuid::Uuid;

/// The locales the UI has catalogs for, in their canonical spelling.
pub const LOCALES: &[&str] = &["en", "zh-CN"];
/// Saved views per user.
pub const MAX_VIEWS: usize = 50;
/// Columns per saved view.
pub const MAX_COLUMNS: usize = 30;

/// Whose preferences a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// "users/me/preferences": the caller's.
    Me,
    /// "users/{id}/preferences".
    User(Uuid),
}

/// A user's preferences, stored or (never saved) the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    pub user_id: Uuid,
    /// "", "en" or "zh-CN".
    pub locale: String,
    /// "" or a canonical IANA name.
    pub time_zone: String,
    pub saved_views: Vec<SavedViewRow>,
    /// The etag: 0 for the defaults, so that a client can send it back on its first save and
    /// still be refused if someone saved in between; stored rows start at 1.
    pub version: i64,
    /// `None` while they are the defaults.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Preferences {
    fn defaults(user_id: Uuid) -> Self {
        Self {
            user_id,
            locale: String::new(),
            time_zone: String::new(),
            saved_views: Vec::new(),
            version: 0,
            updated_at: None,
        }
    }
}

impl From<PreferencesRow> for Preferences {
    fn from(row: PreferencesRow) -> Self {
        Self {
            user_id: row.user_id,
            locale: row.locale,
            time_zone: row.time_zone,
            saved_views: row.saved_views.0,
            version: row.version,
            updated_at: Some(row.updated_at),
        }
    }
}

/// What to change; `None` leaves a field as it is. Values are checked by the update.
#[derive(Debug, Clone, Default)]
pub struct PreferencesChanges {
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub saved_views: Option<Vec<SavedViewRow>>,
}

/// The canonical spelling of a supported locale: case and "-"/"_" do not matter ("zh_cn" is
/// "zh-CN"); empty stays empty (follow the browser).
pub fn parse_locale(raw: &str) -> Result<&'static str, &'static str> {
    if raw.is_empty() {
        return Ok("");
    }
    let folded = raw.replace('_', "-");
    LOCALES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(&folded))
        .copied()
        .ok_or("must be \"en\" or \"zh-CN\", or empty to follow the browser")
}

/// The canonical spelling of an IANA time zone, found regardless of case ("asia/shanghai" is
/// "Asia/Shanghai"); empty stays empty (UTC).
pub fn parse_time_zone(raw: &str) -> Result<String, &'static str> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    if let Ok(tz) = raw.parse::<chrono_tz::Tz>() {
        return Ok(tz.name().to_owned());
    }
    // About 600 names: a scan costs less than the case-insensitive lookup table that
    // chrono-tz's `case-insensitive` feature generates at build time.
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(raw))
        .map(|tz| tz.name().to_owned())
        .ok_or("is not an IANA time zone name, e.g. \"Asia/Shanghai\"")
}

/// Collects the violations of one request, each naming its field path.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: String, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field,
            description: description.into(),
        });
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn is_list_char(c: char) -> bool {
    c.is_ascii_lowercase() || c == '.'
}

fn is_column_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
}

/// 1 to `max` characters, each one `allowed`.
fn token(s: &str, max: usize, allowed: fn(char) -> bool) -> bool {
    (1..=max).contains(&s.chars().count()) && s.chars().all(allowed)
}

/// Free text of at most `max` characters without control characters (line breaks and tabs
/// only where `multi_line`). Checked, never trimmed: it is stored as sent.
fn text(s: &str, max: usize, multi_line: bool) -> Result<(), String> {
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let bad = |c: char| c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t'));
    if s.chars().any(bad) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// Checks saved views against the limits of `crm.identity.v1.SavedView`.
fn check_views(views: &[SavedViewRow], v: &mut Violations) {
    const FIELD: &str = "preferences.saved_views";
    if views.len() > MAX_VIEWS {
        // Bounded work: a request with thousands of views is refused as a whole.
        v.add(
            FIELD.to_owned(),
            format!("must be at most {MAX_VIEWS} views"),
        );
        return;
    }
    let mut seen = std::collections::HashMap::new();
    for (i, view) in views.iter().enumerate() {
        let at = |f: &str| format!("{FIELD}[{i}].{f}");
        if !token(&view.id, 64, is_id_char) {
            v.add(
                at("id"),
                "must be 1-64 letters, digits, \"-\" or \"_\" (ASCII)",
            );
        } else if let Some(first) = seen.get(view.id.as_str()) {
            v.add(
                at("id"),
                format!("duplicates {FIELD}[{first}].id: view ids are unique"),
            );
        } else {
            seen.insert(view.id.as_str(), i);
        }
        if !token(&view.list, 64, is_list_char) {
            v.add(at("list"), "must be 1-64 lower-case letters or \".\"");
        }
        if view.title.trim().is_empty() {
            v.add(at("title"), "is required");
        } else if let Err(e) = text(&view.title, 100, false) {
            v.add(at("title"), e);
        }
        if view.columns.len() > MAX_COLUMNS {
            v.add(
                at("columns"),
                format!("must be at most {MAX_COLUMNS} columns"),
            );
        } else {
            for (k, column) in view.columns.iter().enumerate() {
                if !token(column, 64, is_column_char) {
                    v.add(
                        format!("{FIELD}[{i}].columns[{k}]"),
                        "must be 1-64 lower-case letters, digits, \"_\" or \".\"",
                    );
                }
            }
        }
        if let Err(e) = text(&view.filter, 2000, true) {
            v.add(at("filter"), e);
        }
        if let Err(e) = text(&view.order_by, 200, false) {
            v.add(at("order_by"), e);
        }
        if !(0..=1000).contains(&view.page_size) {
            v.add(at("page_size"), "must be 0 (the list's default) to 1000");
        }
        if let Err(e) = text(&view.query, 200, false) {
            v.add(at("query"), e);
        }
    }
}

/// Checks the changes and puts locale and time zone in their canonical spelling.
fn check(mut changes: PreferencesChanges) -> Result<PreferencesChanges, Error> {
    let mut v = Violations::default();
    if let Some(locale) = &changes.locale {
        match parse_locale(locale) {
            Ok(canonical) => changes.locale = Some(canonical.to_owned()),
            Err(e) => v.add("preferences.locale".to_owned(), e),
        }
    }
    if let Some(zone) = &changes.time_zone {
        match parse_time_zone(zone) {
            Ok(canonical) => changes.time_zone = Some(canonical),
            Err(e) => v.add("preferences.time_zone".to_owned(), e),
        }
    }
    if let Some(views) = &changes.saved_views {
        check_views(views, &mut v);
    }
    if v.0.is_empty() {
        Ok(changes)
    } else {
        Err(Error::InvalidArgument(v.0))
    }
}

/// Checks saved views sent outside the update mask: they change nothing, but a malformed one is
/// still refused (the request is wrong, and the caller should hear it).
pub fn check_unmasked_views(views: &[SavedViewRow]) -> Result<(), Error> {
    let mut v = Violations::default();
    check_views(views, &mut v);
    if v.0.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(v.0))
    }
}

/// Tries of a write without an etag that keeps meeting concurrent writes of the same user.
const TRIES: usize = 3;

impl Identity {
    /// The user whose preferences `whose` names, if the caller may see them: only a signed-in
    /// user, only their own. Anyone else's are NOT_FOUND, never a hint that the user exists.
    fn preferences_owner(&self, caller: &Caller, whose: Whose) -> Result<Uuid, Error> {
        let me = caller
            .principal
            .as_ref()
            .and_then(Principal::user_id)
            .ok_or_else(|| {
                Error::PermissionDenied(
                    "preferences belong to signed-in users; an API client has none".into(),
                )
            })?;
        match whose {
            Whose::Me => Ok(me),
            Whose::User(id) if id == me => Ok(id),
            Whose::User(id) => Err(Error::NotFound(format!("users/{id}/preferences"))),
        }
    }

    /// NOT_FOUND when the user is gone (deleted while their token still lives).
    async fn preferences_user_exists(&self, id: Uuid) -> Result<(), Error> {
        match self.store.user(id).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(format!("users/{id}/preferences"))),
        }
    }

    /// The caller's preferences; the defaults when they never saved any.
    #[tracing::instrument(skip_all)]
    pub async fn get_preferences(
        &self,
        caller: &Caller,
        whose: Whose,
    ) -> Result<Preferences, Error> {
        let id = self.preferences_owner(caller, whose)?;
        match self.store.preferences(id).await? {
            Some(row) => Ok(row.into()),
            None => {
                self.preferences_user_exists(id).await?;
                Ok(Preferences::defaults(id))
            }
        }
    }

    /// Changes the caller's preferences. `etag`, when given, must be the current version (0
    /// for the defaults). Without it the fields not changed are kept even when another write
    /// of the same user comes in between: it is re-read and the change applied again.
    /// Preferences are not security events: nothing is audited.
    #[tracing::instrument(skip_all)]
    pub async fn update_preferences(
        &self,
        caller: &Caller,
        whose: Whose,
        etag: Option<i64>,
        changes: PreferencesChanges,
    ) -> Result<Preferences, Error> {
        let id = self.preferences_owner(caller, whose)?;
        let changes = check(changes)?;
        self.preferences_user_exists(id).await?;
        let stale = || Error::EtagMismatch(format!("users/{id}/preferences"));
        for _ in 0..TRIES {
            let current = self.store.preferences(id).await?;
            let version = current.as_ref().map(|r| r.version);
            if etag.is_some_and(|e| e != version.unwrap_or(0)) {
                return Err(stale());
            }
            let now = crm_platform::db::now();
            let old = current
                .map(Preferences::from)
                .unwrap_or_else(|| Preferences::defaults(id));
            let row = PreferencesRow {
                user_id: id,
                locale: changes.locale.clone().unwrap_or(old.locale),
                time_zone: changes.time_zone.clone().unwrap_or(old.time_zone),
                saved_views: Json(changes.saved_views.clone().unwrap_or(old.saved_views)),
                version: old.version + 1,
                // Written by the first save only; an update keeps the stored one.
                created_at: now,
                updated_at: now,
            };
            if self.store.save_preferences(&row, version).await? {
                return Ok(row.into());
            }
            if etag.is_some() {
                return Err(stale());
            }
        }
        Err(stale())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_found_in_any_case_and_separator() {
        for (raw, canonical) in [
            ("", Ok("")),
            ("en", Ok("en")),
            ("EN", Ok("en")),
            ("zh-CN", Ok("zh-CN")),
            ("zh_cn", Ok("zh-CN")),
            ("ZH-cn", Ok("zh-CN")),
        ] {
            assert_eq!(parse_locale(raw), canonical, "{raw:?}");
        }
        for raw in ["zh", "en-US", "en ", "fr", "zh--CN"] {
            assert!(parse_locale(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn time_zones_are_iana_names_in_their_own_spelling() {
        assert_eq!(parse_time_zone(""), Ok(String::new()));
        assert_eq!(parse_time_zone("Asia/Shanghai"), Ok("Asia/Shanghai".into()));
        assert_eq!(
            parse_time_zone("america/NEW_york"),
            Ok("America/New_York".into())
        );
        assert_eq!(parse_time_zone("utc"), Ok("UTC".into()));
        for raw in ["Asia/Shanghai ", "Mars/Base", "+08:00", "Asia"] {
            assert!(parse_time_zone(raw).is_err(), "{raw:?}");
        }
    }
}
