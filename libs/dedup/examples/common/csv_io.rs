//! Minimal CSV reading and writing shared by the examples (RFC 4180
//! quoting; the examples stay dependency-free) and the record layout of
//! the benchmark files:
//!
//! `id,entity,kind,name,given_name,family_name,birth_date,emails,phones,
//! addr_line,addr_city,addr_postcode,addr2_line,addr2_city,addr2_postcode`
//!
//! `emails`/`phones` hold several values separated by `;`, `addr_line`
//! several street lines separated by `|`. An address with only a line is
//! free text. `entity` (the true label) may be empty.

use crm_dedup::{Address, Kind, Record};

pub const HEADER: &[&str] = &[
    "id",
    "entity",
    "kind",
    "name",
    "given_name",
    "family_name",
    "birth_date",
    "emails",
    "phones",
    "addr_line",
    "addr_city",
    "addr_postcode",
    "addr2_line",
    "addr2_city",
    "addr2_postcode",
];

/// Splits CSV text into rows of fields (quoted fields may hold commas,
/// doubled quotes and line breaks).
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// One CSV field, quoted when needed.
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn line(fields: &[String]) -> String {
    let q: Vec<String> = fields.iter().map(|f| quote(f)).collect();
    q.join(",")
}

fn address(line: &str, city: &str, postcode: &str) -> Option<Address> {
    if line.is_empty() && city.is_empty() && postcode.is_empty() {
        return None;
    }
    Some(Address {
        lines: line
            .split('|')
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        city: city.to_string(),
        postal_code: postcode.to_string(),
        ..Address::default()
    })
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A record from a row laid out as [`HEADER`] (index = record id).
pub fn record(i: usize, row: &[String]) -> Record {
    let f = |k: usize| row.get(k).map_or("", String::as_str);
    let kind = if f(2).eq_ignore_ascii_case("organization") {
        Kind::Organization
    } else {
        Kind::Person
    };
    let mut r = Record::new(i as u128, kind, f(3));
    r.given_name = opt(f(4));
    r.family_name = opt(f(5));
    r.birth_date = opt(f(6));
    r.emails = list(f(7));
    r.phones = list(f(8));
    r.addresses = [address(f(9), f(10), f(11)), address(f(12), f(13), f(14))]
        .into_iter()
        .flatten()
        .collect();
    r
}

/// A row laid out as [`HEADER`] for a record and its label.
pub fn row(id: &str, entity: &str, r: &Record) -> Vec<String> {
    let kind = match r.kind {
        Kind::Person => "person",
        Kind::Organization => "organization",
    };
    let mut out = vec![
        id.to_string(),
        entity.to_string(),
        kind.to_string(),
        r.name.clone(),
        r.given_name.clone().unwrap_or_default(),
        r.family_name.clone().unwrap_or_default(),
        r.birth_date.clone().unwrap_or_default(),
        r.emails.join(";"),
        r.phones.join(";"),
    ];
    for k in 0..2 {
        match r.addresses.get(k) {
            Some(a) => {
                out.push(a.lines.join("|"));
                out.push(a.city.clone());
                out.push(a.postal_code.clone());
            }
            None => out.extend([String::new(), String::new(), String::new()]),
        }
    }
    out
}
