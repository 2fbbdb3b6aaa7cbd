//! Custom field values as export cells, typed by their definitions, so that an import reads
//! back what was stored: numbers as numeric cells with every digit (integers, decimals, and
//! whole numbers that were stored as doubles), dates as date cells, text as text (a TEXT value
//! that looks like a date stays text), a multi-choice list as its choices joined with ";",
//! which is how the importer splits them.
use chrono::NaiveDate;
use crm_tabular::Cell;
use serde_json::{Number, Value};

/// A custom field's value, owned, ready to lend an export [`Cell`].
#[derive(Debug, Clone, PartialEq)]
pub enum CustomCell {
    /// No value.
    Empty,
    /// BOOL.
    Bool(bool),
    /// A whole number stored as a JSON integer.
    Integer(i64),
    /// Any other number, as exact decimal text (`crm_tabular::parse_decimal` reads it).
    Decimal(String),
    /// DATE.
    Date(NaiveDate),
    /// TEXT, SINGLE_CHOICE, MULTI_CHOICE (joined), and anything that does not fit its type.
    Text(String),
}

impl CustomCell {
    /// The cell of `value` in a field of `field_type` (one of `custom_fields::TYPES`).
    pub fn of(field_type: &str, value: &Value) -> CustomCell {
        match (field_type, value) {
            (_, Value::Null) => CustomCell::Empty,
            (_, Value::Bool(b)) => CustomCell::Bool(*b),
            (_, Value::Number(n)) => number(n),
            // Only a DATE field's value is a date: a TEXT field holding "2024-02-04" is text.
            ("DATE", Value::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => CustomCell::Date(d),
                Err(_) => CustomCell::Text(s.clone()),
            },
            (_, Value::String(s)) => CustomCell::Text(s.clone()),
            (_, Value::Array(items)) => CustomCell::Text(
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            (_, Value::Object(_)) => CustomCell::Text(value.to_string()),
        }
    }

    /// The cell to write.
    pub fn cell(&self) -> Cell<'_> {
        match self {
            CustomCell::Empty => Cell::Empty,
            CustomCell::Bool(b) => Cell::Bool(*b),
            CustomCell::Integer(i) => Cell::Integer(*i),
            CustomCell::Decimal(d) => Cell::Decimal(d),
            CustomCell::Date(d) => Cell::Date(*d),
            CustomCell::Text(t) => Cell::Text(t),
        }
    }
}

/// A stored number as a cell. JSON integers are integers; a double is written as the shortest
/// decimal that reads back as the same double (Rust's `Display` for `f64`, which never uses an
/// exponent): 1234567.89012345, 0.1, 2.5, and 5 for a 5.0. The export used to write only
/// numbers that were JSON integers and left every double, even 5.0, as an empty cell.
fn number(n: &Number) -> CustomCell {
    if let Some(i) = n.as_i64() {
        return CustomCell::Integer(i);
    }
    if let Some(u) = n.as_u64() {
        // Above i64::MAX: still exact as decimal text.
        return CustomCell::Decimal(u.to_string());
    }
    match n.as_f64() {
        Some(f) if f.is_finite() => {
            let text = format!("{f}");
            // A double too large for an exact decimal (beyond 38 digits) goes out as its text
            // rather than failing the whole export.
            if crm_tabular::parse_decimal(&text).is_ok() {
                CustomCell::Decimal(text)
            } else {
                CustomCell::Text(text)
            }
        }
        _ => CustomCell::Text(n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(ty: &str, v: Value) -> CustomCell {
        CustomCell::of(ty, &v)
    }

    #[test]
    fn numbers_keep_their_digits() {
        let dec = |s: &str| CustomCell::Decimal(s.to_owned());
        assert_eq!(
            of("NUMBER", json!(1234567.89012345)),
            dec("1234567.89012345")
        );
        assert_eq!(of("NUMBER", json!(0.1)), dec("0.1"));
        assert_eq!(of("NUMBER", json!(2.5)), dec("2.5"));
        assert_eq!(of("NUMBER", json!(5.0)), dec("5"), "a whole double");
        assert_eq!(of("NUMBER", json!(-5)), CustomCell::Integer(-5));
        assert_eq!(of("NUMBER", json!(-0.0)), dec("-0"));
        assert_eq!(
            of("NUMBER", json!(123456789012345.0)),
            dec("123456789012345")
        );
        assert_eq!(of("NUMBER", json!(u64::MAX)), dec("18446744073709551615"));
        assert_eq!(of("NUMBER", json!(1e20)), dec("100000000000000000000"));
        assert!(matches!(of("NUMBER", json!(1e300)), CustomCell::Text(_)));
        // Parsed from stored text, as the export reads it.
        let stored: Value = serde_json::from_str(r#"{"a": 5.0, "b": 0.1}"#).unwrap();
        assert_eq!(of("NUMBER", stored["a"].clone()), dec("5"));
        assert_eq!(of("NUMBER", stored["b"].clone()), dec("0.1"));
    }

    #[test]
    fn other_types() {
        assert_eq!(
            of("DATE", json!("2024-02-29")),
            CustomCell::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert_eq!(
            of("TEXT", json!("2024-02-29")),
            CustomCell::Text("2024-02-29".into()),
            "text that looks like a date is text"
        );
        assert_eq!(of("BOOL", json!(false)), CustomCell::Bool(false));
        assert_eq!(
            of("MULTI_CHOICE", json!(["a", "b c"])),
            CustomCell::Text("a;b c".into())
        );
        assert_eq!(of("TEXT", Value::Null), CustomCell::Empty);
        assert_eq!(
            of("TEXT", json!("  spaced  ")).cell(),
            Cell::Text("  spaced  ")
        );
    }
}
