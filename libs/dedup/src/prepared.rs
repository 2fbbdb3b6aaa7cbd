//! [`Prepared`]: a record with every field normalised once, so that a scan
//! compares records many times without re-parsing them.

use crate::address::{ParsedAddress, parse_address};
use crate::names::{NameForm, fnv1a, parse_org_name, parse_person_name};
use crate::normalize::{BirthDate, normalize_email, normalize_phone, parse_birth_date};
use crate::parts::{NameParts, name_parts};
use crate::score::Config;
use crate::{Kind, Record};

/// A record with every field normalised once.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: u128,
    pub kind: Kind,
    /// Display name (and legal name, if different) as comparable forms.
    pub names: Vec<NameForm>,
    pub legal: Option<NameForm>,
    /// Persons: given and family name (explicit, or read from the display
    /// name); `None` when neither can be told.
    pub parts: Option<NameParts>,
    /// Normalised, deduplicated, sorted.
    pub emails: Vec<String>,
    /// E.164, deduplicated, sorted.
    pub phones: Vec<String>,
    pub birth: Option<BirthDate>,
    /// Every address, split into fields (deduplicated).
    pub addresses: Vec<ParsedAddress>,
    /// How many records share this record's name ([`Prepared::name_key`]);
    /// 1 unless set by a caller that knows, like [`scan`](crate::scan).
    pub name_count: u32,
}

/// Display name for a record entered with name parts only.
fn display_name(r: &Record) -> String {
    if !r.name.trim().is_empty() {
        return r.name.clone();
    }
    let parts: Vec<&str> = [r.given_name.as_deref(), r.family_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect();
    parts.join(" ")
}

/// Parses `YYYYMMDD` as well as the separated forms.
fn parse_birth(raw: &str) -> Option<BirthDate> {
    let t = raw.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return parse_birth_date(&format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]));
    }
    parse_birth_date(t)
}

impl Prepared {
    pub fn new(r: &Record, cfg: &Config) -> Prepared {
        let parse = |s: &str| match r.kind {
            Kind::Person => parse_person_name(s),
            Kind::Organization => parse_org_name(s),
        };
        let display_raw = display_name(r);
        let legal = r.legal_name.as_deref().map(parse).filter(|f| !f.is_empty());
        let mut names = Vec::new();
        let display = parse(&display_raw);
        if !display.is_empty() {
            names.push(display);
        }
        if let Some(l) = &legal
            && !names.contains(l)
        {
            names.push(l.clone());
        }
        let parts = match r.kind {
            Kind::Person => name_parts(
                r.given_name.as_deref(),
                r.family_name.as_deref(),
                &display_raw,
                names.first(),
            ),
            Kind::Organization => None,
        };
        let mut emails: Vec<String> = r.emails.iter().filter_map(|e| normalize_email(e)).collect();
        emails.sort();
        emails.dedup();
        let mut phones: Vec<String> = r
            .phones
            .iter()
            .filter_map(|p| normalize_phone(p, &cfg.default_calling_code))
            .collect();
        phones.sort();
        phones.dedup();
        names.shrink_to_fit();
        let mut addresses: Vec<ParsedAddress> = Vec::with_capacity(r.addresses.len());
        for a in r.addresses.iter().filter_map(parse_address) {
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        Prepared {
            id: r.id,
            kind: r.kind,
            names,
            legal,
            parts,
            emails,
            phones,
            birth: r.birth_date.as_deref().and_then(parse_birth),
            addresses,
            name_count: 1,
        }
    }

    /// A prepared record without content (a slot to be overwritten).
    pub(crate) fn placeholder() -> Prepared {
        Prepared {
            id: 0,
            kind: Kind::Person,
            names: Vec::new(),
            legal: None,
            parts: None,
            emails: Vec::new(),
            phones: Vec::new(),
            birth: None,
            addresses: Vec::new(),
            name_count: 1,
        }
    }

    /// Postal codes of the addresses.
    pub fn postal_codes(&self) -> impl Iterator<Item = &str> {
        self.addresses.iter().filter_map(|a| a.postal.as_deref())
    }

    /// Hash of the display name in a spelling-independent form, used to
    /// count how common a name is: sorted Latin tokens, or for Han person
    /// names the sorted primary pinyin (so 张伟, 章伟 and "Wei Zhang" count
    /// as one name); organisations: cleaned Han + Latin name.
    pub fn name_key(&self) -> Option<u64> {
        let form = self.names.first()?;
        let mut tokens: Vec<&str> = match (self.kind, form.pinyin_tokens.first()) {
            (Kind::Person, Some(py)) if !form.han.is_empty() => {
                py.iter().map(String::as_str).collect()
            }
            _ => form.tokens.iter().map(String::as_str).collect(),
        };
        if self.kind == Kind::Person {
            tokens.sort_unstable();
        }
        let mut key = tokens.join(" ");
        if self.kind == Kind::Organization || tokens.is_empty() {
            key.push('|');
            key.push_str(&form.han);
        }
        Some(fnv1a(&key))
    }

    /// Drops what only blocking keys need (pinyin strings, ü-adjusted
    /// concatenations) and trims spare capacity;
    /// [`compare_prepared`](crate::compare_prepared) gives the same results afterwards. Used by
    /// [`scan`](crate::scan), which holds millions of these.
    pub fn compact(&mut self) {
        fn strings(v: &mut Vec<String>) {
            v.iter_mut().for_each(String::shrink_to_fit);
            v.shrink_to_fit();
        }
        for form in self.names.iter_mut().chain(self.legal.iter_mut()) {
            form.pinyin = Vec::new();
            form.py_concats = Vec::new();
            strings(&mut form.tokens);
            strings(&mut form.concats);
            strings(&mut form.py_tokens);
            form.pinyin_tokens.iter_mut().for_each(strings);
            form.pinyin_tokens.shrink_to_fit();
            form.han.shrink_to_fit();
            form.pinyin_hashes.shrink_to_fit();
            form.py_concat_hashes.shrink_to_fit();
        }
        strings(&mut self.emails);
        strings(&mut self.phones);
        self.addresses.shrink_to_fit();
        for a in &mut self.addresses {
            a.street.shrink_to_fit();
            a.locality.shrink_to_fit();
        }
    }
}
