//! The contact points an imported row brings: a second email and phone, and the primary postal
//! address from its parts (street lines, city, region, postal code, country). They are checked
//! like the API's contact points, and a bad cell fails the row naming its column.
use crate::{
    bulk::fields::CONTACT_FIELDS,
    contact_points::{Address, ContactPointRow, NewContactPoint},
    domain::{Email, Phone},
};
use std::collections::HashMap;

/// Country names as spreadsheets write them → ISO 3166-1 alpha-2 (compared lower-case).
const COUNTRIES: &[(&str, &str)] = &[
    ("china", "CN"),
    ("中国", "CN"),
    ("中华人民共和国", "CN"),
    ("prc", "CN"),
    ("hong kong", "HK"),
    ("香港", "HK"),
    ("中国香港", "HK"),
    ("macau", "MO"),
    ("macao", "MO"),
    ("澳门", "MO"),
    ("taiwan", "TW"),
    ("台湾", "TW"),
    ("中国台湾", "TW"),
    ("singapore", "SG"),
    ("新加坡", "SG"),
    ("malaysia", "MY"),
    ("马来西亚", "MY"),
    ("japan", "JP"),
    ("日本", "JP"),
    ("south korea", "KR"),
    ("korea", "KR"),
    ("韩国", "KR"),
    ("india", "IN"),
    ("印度", "IN"),
    ("australia", "AU"),
    ("澳大利亚", "AU"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("usa", "US"),
    ("美国", "US"),
    ("canada", "CA"),
    ("加拿大", "CA"),
    ("united kingdom", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("uk", "GB"),
    ("英国", "GB"),
    ("germany", "DE"),
    ("deutschland", "DE"),
    ("德国", "DE"),
    ("france", "FR"),
    ("法国", "FR"),
    ("italy", "IT"),
    ("意大利", "IT"),
    ("spain", "ES"),
    ("西班牙", "ES"),
    ("netherlands", "NL"),
    ("the netherlands", "NL"),
    ("荷兰", "NL"),
    ("switzerland", "CH"),
    ("瑞士", "CH"),
    ("austria", "AT"),
    ("奥地利", "AT"),
    ("sweden", "SE"),
    ("瑞典", "SE"),
    ("poland", "PL"),
    ("波兰", "PL"),
    ("brazil", "BR"),
    ("巴西", "BR"),
    ("mexico", "MX"),
    ("墨西哥", "MX"),
];

/// A country cell as an ISO 3166-1 alpha-2 code: a code ("cn" is CN) or a common name in
/// English or Chinese.
pub fn country_code(text: &str) -> Result<String, String> {
    let t = text.trim();
    let lower = t.to_lowercase();
    // Names first: "UK" is a name here (the code is GB).
    if let Some((_, code)) = COUNTRIES.iter().find(|(name, _)| *name == lower) {
        return Ok((*code).to_owned());
    }
    (t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| t.to_ascii_uppercase())
        .ok_or_else(|| {
            format!("{t:?} is not a country: write an ISO 3166-1 code such as CN, DE or US")
        })
}

/// The row's contact points, or every bad cell as (field, why).
pub fn contact_points(
    cells: &HashMap<&'static str, String>,
) -> Result<Vec<NewContactPoint>, Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let cell = |f: &str| cells.get(f).map(String::as_str).unwrap_or("");
    if !cell("email_2").trim().is_empty() {
        match Email::parse(cell("email_2")) {
            Ok(e) => out.push(point("EMAIL", e.as_str().to_owned())),
            Err(e) => bad.push(("email_2".to_owned(), e.to_owned())),
        }
    }
    if !cell("phone_2").trim().is_empty() {
        match Phone::parse(cell("phone_2")) {
            Ok(p) => out.push(point("PHONE", p.as_str().to_owned())),
            Err(e) => bad.push(("phone_2".to_owned(), e.to_owned())),
        }
    }
    let has_address = CONTACT_FIELDS
        .iter()
        .filter(|f| f.starts_with("address_"))
        .any(|f| !cell(f).trim().is_empty());
    if has_address {
        let mut checked = |field: &str, max: usize| {
            crate::profile::short_text(cell(field), max)
                .map(Option::unwrap_or_default)
                .unwrap_or_else(|e| {
                    bad.push((field.to_owned(), e));
                    String::new()
                })
        };
        let lines: Vec<String> = [
            checked("address_line_1", 200),
            checked("address_line_2", 200),
        ]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
        let city = checked("address_city", 100);
        let region = checked("address_region", 100);
        let postal_code = checked("address_postal_code", 20).trim().to_owned();
        let country = if cell("address_country").trim().is_empty() {
            crate::domain::default_region().to_owned()
        } else {
            country_code(cell("address_country")).unwrap_or_else(|e| {
                bad.push(("address_country".to_owned(), e));
                String::new()
            })
        };
        // The cells as the sheet wrote them, in reading order: the address as entered.
        let as_entered = [
            lines.join(", "),
            city.clone(),
            [region.as_str(), postal_code.as_str()]
                .iter()
                .filter(|s| !s.trim().is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            cell("address_country").trim().to_owned(),
        ]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
        let address = Address {
            country,
            region,
            city,
            postal_code,
            lines,
            as_entered,
        };
        if let Ok(value) = serde_json::to_string(&address) {
            out.push(NewContactPoint {
                primary: true,
                ..point("ADDRESS", value)
            });
        }
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// What an imported customer brings besides its row: sensitive values and contact points.
pub struct Extras {
    /// The sensitive values (stored through the vault, like the API's).
    pub secrets: crate::sensitive::Writes,
    /// The contact points.
    pub points: Vec<NewContactPoint>,
}

impl Extras {
    /// The contact points as (kind, value), as the duplicate matcher takes them.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.points.iter().map(|p| (p.kind, p.value.as_str()))
    }
}

/// Two columns mapped to the email (or the phone), e.g. "Mobile" and "Phone": the second is
/// the second email (phone) when no column is mapped to that, rather than an error.
pub fn second_contacts(mapping: &mut crm_tabular::Mapping) {
    for (field, second) in [("email", "email_2"), ("phone", "phone_2")] {
        let taken = mapping.columns.iter().flatten().any(|f| f == second);
        let Some(at) = mapping
            .duplicates
            .iter()
            .position(|(f, cols)| f == field && cols.len() == 2)
        else {
            continue;
        };
        if taken {
            continue;
        }
        let (_, cols) = mapping.duplicates.remove(at);
        mapping.columns[cols[1]] = Some(second.to_owned());
    }
}

fn point(kind: &'static str, value: String) -> NewContactPoint {
    NewContactPoint {
        kind,
        label: String::new(),
        primary: false,
        value,
    }
}

/// Whether a customer already has this contact point (same kind and value; addresses compare
/// by their parts), or it is the customer's own email or phone.
pub fn already_has(
    existing: &[ContactPointRow],
    own: (&Option<String>, &Option<String>),
    new: &NewContactPoint,
) -> bool {
    match new.kind {
        "EMAIL" if own.0.as_deref() == Some(new.value.as_str()) => true,
        "PHONE" if own.1.as_deref() == Some(new.value.as_str()) => true,
        "ADDRESS" => {
            let parts = |v: &str| {
                serde_json::from_str::<Address>(v)
                    .ok()
                    .map(|a| (a.country, a.region, a.city, a.postal_code, a.lines))
            };
            let wanted = parts(&new.value);
            existing
                .iter()
                .any(|p| p.kind == "ADDRESS" && parts(&p.value) == wanted)
        }
        kind => existing
            .iter()
            .any(|p| p.kind == kind && p.value == new.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(f, v)| (*f, (*v).to_owned())).collect()
    }

    #[test]
    fn countries_by_code_or_name() {
        assert_eq!(country_code(" de ").unwrap(), "DE");
        assert_eq!(country_code("中国").unwrap(), "CN");
        assert_eq!(country_code("United Kingdom").unwrap(), "GB");
        assert!(country_code("Atlantis").unwrap_err().contains("Atlantis"));
    }

    #[test]
    fn address_parts_become_one_primary_address() {
        let points = contact_points(&cells(&[
            ("address_line_1", "12 Baker Street"),
            ("address_city", "London"),
            ("address_postal_code", " NW1 6XE "),
            ("address_country", "UK"),
            ("phone_2", "+44 20 7946 0018"),
        ]))
        .unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].kind, "PHONE");
        assert_eq!(points[0].value, "+442079460018");
        let a: Address = serde_json::from_str(&points[1].value).unwrap();
        assert!(points[1].primary);
        assert_eq!(a.lines, ["12 Baker Street"]);
        assert_eq!(a.city, "London");
        assert_eq!(a.postal_code, "NW1 6XE");
        assert_eq!(a.country, "GB");
        assert_eq!(a.as_entered, "12 Baker Street, London, NW1 6XE, UK");
    }

    #[test]
    fn bad_cells_are_named_and_empty_rows_bring_nothing() {
        let bad = contact_points(&cells(&[
            ("email_2", "not an email"),
            ("address_country", "Atlantis"),
            ("address_city", "Atlantis City"),
        ]))
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["email_2", "address_country"]);
        assert!(
            contact_points(&cells(&[("email_2", "  ")]))
                .unwrap()
                .is_empty()
        );
    }
}
