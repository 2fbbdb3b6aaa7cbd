//! Sensitive fields in the proto: read from requests, filled into responses. The one place
//! that maps a field of [`crate::sensitive::FIELDS`] to its proto field.
use crate::sensitive::{FIELDS, Values, Writes};
use crm_platform::error::Violations;
use crm_proto::crm::customers::v1::Customer;

fn slot<'a>(c: &'a mut Customer, name: &str) -> Option<&'a mut String> {
    match name {
        "national_id" => Some(&mut c.national_id),
        "bank_account" => Some(&mut c.bank_account),
        _ => None,
    }
}

fn value<'a>(c: &'a Customer, name: &str) -> &'a str {
    match name {
        "national_id" => &c.national_id,
        "bank_account" => &c.bank_account,
        _ => "",
    }
}

/// The sensitive values of a request for the fields `wants` names: empty clears, a masked
/// value (with "*", as returned by reads) keeps what is stored, anything else is checked and
/// normalized.
pub fn parse(c: &Customer, wants: impl Fn(&str) -> bool, v: &mut Violations) -> Writes {
    let mut writes = Writes::default();
    for f in FIELDS.iter().filter(|f| wants(f.name)) {
        let raw = value(c, f.name).trim();
        if raw.is_empty() {
            writes.0.push((f.name, None));
        } else if !raw.contains('*') {
            match (f.parse)(raw) {
                Ok(normalized) => writes.0.push((f.name, Some(normalized))),
                Err(e) => v.add(format!("customer.{}", f.name), e),
            }
        }
    }
    writes
}

/// The masked form of the values a request sets.
pub fn masked(writes: &Writes) -> Values {
    Values(
        writes
            .0
            .iter()
            .filter_map(|(n, v)| Some((*n, v.clone()?)))
            .collect(),
    )
    .masked()
}

/// Puts values into a response.
pub fn fill(c: &mut Customer, values: Option<&Values>) {
    for (name, v) in values.map(|v| v.0.as_slice()).unwrap_or_default() {
        if let Some(slot) = slot(c, name) {
            slot.clone_from(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sensitive_field_has_a_proto_field() {
        let mut c = Customer::default();
        for f in FIELDS {
            assert!(
                slot(&mut c, f.name).is_some(),
                "{} has no proto field",
                f.name
            );
        }
    }
}
