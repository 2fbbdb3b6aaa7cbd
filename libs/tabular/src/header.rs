//! Mapping the header row of an uploaded file to customer fields.
//!
//! People type headers by hand, copy them from old templates and switch
//! input methods mid-word, so `"手机号（必填）"`, `"手机号*"` and
//! `"ＰＨＯＮＥ"` must all find their field. Matching therefore uses a
//! normalised key ([`header_key`]). What matching never does is pick a
//! winner: a column nobody recognises is reported as unmapped, and two
//! columns claiming the same field are reported as duplicates, because
//! silently importing one of them would drop the other's data.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

/// Default prefix for fields that pass through unmapped: a header
/// `custom_fields.vip_level` maps to the field `custom_fields.vip_level`.
pub const CUSTOM_FIELDS_PREFIX: &str = "custom_fields.";

/// Markers that say "required"/"optional" in templates; they are decoration,
/// not part of the name. Compared after full-width folding and lower-casing.
const MARKERS: &[&str] = &[
    "(必填)",
    "(选填)",
    "(可选)",
    "(required)",
    "(optional)",
    "*",
];

/// Normalises a header for matching.
///
/// Steps: fold full-width ASCII to half-width (`Ａ`→`A`, `（`→`(`, the
/// ideographic space → space), lower-case, trim, strip leading `*` and
/// trailing required/optional markers (`*`, `(必填)`, `(required)`, …), then
/// drop spaces, underscores, hyphens, dots and zero-width characters so that
/// `"Phone Number"`, `"phone_number"` and `"phone-number"` agree.
pub fn header_key(s: &str) -> String {
    let folded: String = s
        .chars()
        .filter(|c| !matches!(c, '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}'))
        .map(fold_width)
        .collect::<String>()
        .to_lowercase();
    let mut t = folded.trim();
    loop {
        let before = t.len();
        t = t.trim_start_matches('*').trim();
        for m in MARKERS {
            if let Some(rest) = t.strip_suffix(m) {
                t = rest.trim_end();
            }
        }
        if t.len() == before {
            break;
        }
    }
    t.chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '_' | '-' | '.')))
        .collect()
}

/// Maps a full-width form (U+FF01–U+FF5E) to ASCII and the ideographic
/// space to a space; everything else is unchanged.
fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        _ => c,
    }
}

/// A mistake in the mapping configuration itself (not in an uploaded
/// file), found when the [`Mapper`] is built so it fails loudly in tests
/// rather than misrouting data in production.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeaderError {
    /// Two fields share an alias after normalisation.
    #[error("alias \"{alias}\" is used by both \"{first}\" and \"{second}\"")]
    AliasConflict {
        /// The alias as written in the table.
        alias: String,
        /// The field that claimed it first.
        first: String,
        /// The field that claimed it again.
        second: String,
    },
    /// An override points at a field that is neither in the table nor a
    /// pass-through prefix field.
    #[error("override for header \"{header}\" names unknown field \"{field}\"")]
    UnknownField {
        /// The header the override is for.
        header: String,
        /// The unknown field.
        field: String,
    },
}

/// Resolves headers to field names.
#[derive(Debug, Clone)]
pub struct Mapper {
    by_key: HashMap<String, String>,
    overrides: HashMap<String, String>,
    prefixes: Vec<String>,
}

/// The result of mapping one header row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// For each column, the field it fills, or `None` if it is ignored
    /// (unmapped, blank header, or overridden to `""`).
    pub columns: Vec<Option<String>>,
    /// Headers (as written) that matched no field. Blank headers and
    /// headers explicitly ignored by an override are not listed.
    pub unmapped: Vec<String>,
    /// Fields claimed by more than one column, with the 0-based column
    /// indexes. The caller must treat any entry as an error: there is no
    /// safe way to choose between two columns.
    pub duplicates: Vec<(String, Vec<usize>)>,
}

impl Mapping {
    /// The 0-based index of the first non-empty cell beyond the header's
    /// width, if any. Callers should reject such rows: the usual cause is
    /// an unquoted delimiter inside a value (`¥1,234.50` in a comma file),
    /// and importing the first half of it would be a silent change.
    pub fn overflow<S: AsRef<str>>(&self, cells: &[S]) -> Option<usize> {
        cells
            .iter()
            .enumerate()
            .skip(self.columns.len())
            .find(|(_, c)| !c.as_ref().is_empty())
            .map(|(i, _)| i)
    }

    /// The 0-based column that fills `field`, if exactly one does.
    pub fn column_of(&self, field: &str) -> Option<usize> {
        let mut found = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, f)| f.as_deref() == Some(field))
            .map(|(i, _)| i);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

impl Mapper {
    /// Builds a mapper from `(field, aliases)` pairs and per-upload
    /// overrides (`header as written → field`, or `""` to ignore a column).
    ///
    /// The field name itself is always an alias. Fields under
    /// [`CUSTOM_FIELDS_PREFIX`] pass through without being listed.
    pub fn new(
        table: &[(&str, &[&str])],
        overrides: HashMap<String, String>,
    ) -> Result<Self, HeaderError> {
        let mut by_key: HashMap<String, String> = HashMap::new();
        let mut fields = HashSet::new();
        for (field, aliases) in table {
            fields.insert((*field).to_owned());
            for alias in std::iter::once(field).chain(aliases.iter()) {
                let key = header_key(alias);
                if key.is_empty() {
                    continue;
                }
                match by_key.get(&key) {
                    Some(existing) if existing != field => {
                        return Err(HeaderError::AliasConflict {
                            alias: (*alias).to_owned(),
                            first: existing.clone(),
                            second: (*field).to_owned(),
                        });
                    }
                    _ => {
                        by_key.insert(key, (*field).to_owned());
                    }
                }
            }
        }
        let prefixes = vec![CUSTOM_FIELDS_PREFIX.to_owned()];
        let mut trimmed = HashMap::new();
        for (header, field) in overrides {
            let field = field.trim().to_owned();
            let ok = field.is_empty()
                || fields.contains(&field)
                || prefixes
                    .iter()
                    .any(|p| field.len() > p.len() && field.starts_with(p.as_str()));
            if !ok {
                return Err(HeaderError::UnknownField { header, field });
            }
            trimmed.insert(header.trim().to_owned(), field);
        }
        Ok(Self {
            by_key,
            overrides: trimmed,
            prefixes,
        })
    }

    /// Maps a header row. Overrides are matched against the header as
    /// written (surrounding whitespace ignored); then pass-through prefixes;
    /// then the normalised alias table.
    pub fn map<S: AsRef<str>>(&self, headers: &[S]) -> Mapping {
        let mut mapping = Mapping::default();
        for header in headers {
            let raw = header.as_ref().trim();
            let field = self.field_for(raw);
            if field.is_none() && !raw.is_empty() && !self.overrides.contains_key(raw) {
                mapping.unmapped.push(header.as_ref().to_owned());
            }
            mapping.columns.push(field);
        }
        let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, f) in mapping.columns.iter().enumerate() {
            if let Some(f) = f {
                match seen.iter_mut().find(|(name, _)| name == f) {
                    Some((_, cols)) => cols.push(i),
                    None => seen.push((f.clone(), vec![i])),
                }
            }
        }
        mapping.duplicates = seen.into_iter().filter(|(_, c)| c.len() > 1).collect();
        mapping
    }

    fn field_for(&self, raw: &str) -> Option<String> {
        if let Some(f) = self.overrides.get(raw) {
            return (!f.is_empty()).then(|| f.clone());
        }
        for p in &self.prefixes {
            if raw.len() > p.len()
                && raw.is_char_boundary(p.len())
                && raw[..p.len()].eq_ignore_ascii_case(p)
            {
                return Some(format!("{p}{}", raw[p.len()..].trim()));
            }
        }
        self.by_key.get(&header_key(raw)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(header_key(" Phone Number "), "phonenumber");
        assert_eq!(header_key("phone_number"), "phonenumber");
        assert_eq!(header_key("ＰＨＯＮＥ－ＮＯ"), "phoneno");
        assert_eq!(header_key("手机号（必填）"), "手机号");
        assert_eq!(header_key("手机号 *"), "手机号");
        assert_eq!(header_key("*姓名"), "姓名");
        assert_eq!(header_key("E.Mail"), "email");
        assert_eq!(header_key("\u{feff}name"), "name");
        assert_eq!(header_key("公司\u{3000}名称"), "公司名称");
    }
}
