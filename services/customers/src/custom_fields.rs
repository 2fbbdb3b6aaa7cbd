//! Custom fields: administrators define them (key, label, type, required, choices); every
//! write of a customer checks its values against the definitions; List filters by them
//! (`custom_fields.<key>`). Values are a JSON object per customer.
use crate::{error::Error, service::Customers};
use chrono::{DateTime, NaiveDate, Utc};
use crm_platform::{
    db::{Db, DbError},
    error::{FieldViolation, Violations},
    filter::{DynamicField, FieldType},
    with_pool,
};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The resource custom fields are defined for (one today; the column leaves room for more).
const RESOURCE: &str = "customer";
/// The value types.
pub const TYPES: &[&str] = &[
    "TEXT",
    "NUMBER",
    "DATE",
    "BOOL",
    "SINGLE_CHOICE",
    "MULTI_CHOICE",
];
/// Most definitions.
const MAX_DEFINITIONS: usize = 200;
/// Longest TEXT value.
const MAX_TEXT: usize = 1000;

const COLUMNS: &str =
    "id, resource, key, label, field_type, required, choices, version, created_at, updated_at";

/// A stored definition.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DefinitionRow {
    /// UUIDv7.
    pub id: Uuid,
    /// "customer".
    pub resource: String,
    /// The key values are stored under.
    pub key: String,
    /// What users see.
    pub label: String,
    /// One of [`TYPES`].
    pub field_type: String,
    /// Whether new customers must have a value.
    pub required: bool,
    /// JSON array of the allowed values (choice types).
    pub choices: String,
    /// Etag.
    pub version: i64,
    /// Defined.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl DefinitionRow {
    /// The allowed values.
    pub fn choice_list(&self) -> Vec<String> {
        serde_json::from_str(&self.choices).unwrap_or_default()
    }

    /// How List filters this field: the SQL expression of its value, per backend.
    fn filter_field(&self, db: &Db) -> DynamicField {
        // Keys are checked on definition ([a-z][a-z0-9_]*), so inlining them is safe.
        let key = &self.key;
        let ty = match self.field_type.as_str() {
            "NUMBER" => FieldType::Float,
            "BOOL" => FieldType::Bool,
            _ => FieldType::Text,
        };
        let column = match (db, ty) {
            (Db::Pg(_), FieldType::Float) => {
                format!("CAST(CAST(custom_fields AS jsonb) ->> '{key}' AS DOUBLE PRECISION)")
            }
            (Db::Pg(_), FieldType::Bool) => {
                format!("CAST(CAST(custom_fields AS jsonb) ->> '{key}' AS BOOLEAN)")
            }
            (Db::Pg(_), _) => format!("(CAST(custom_fields AS jsonb) ->> '{key}')"),
            (Db::Sqlite(_), _) => format!("json_extract(custom_fields, '$.{key}')"),
        };
        DynamicField { column, ty }
    }
}

/// Checks a key: a lower-case letter, then lower-case letters, digits and "_"; at most 50.
pub fn parse_key(raw: &str) -> Result<String, &'static str> {
    let ok = raw.len() <= 50
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be 1-50 lower-case letters, digits and \"_\", starting with a letter")
    }
}

/// Checks choices: 1-200 distinct values of 1-100 characters, without ";" (a multi-choice
/// value is written to files as its choices joined with ";", and imports split on it).
pub fn parse_choices(raw: &[String]) -> Result<Vec<String>, &'static str> {
    let choices: Vec<String> = raw.iter().map(|c| c.trim().to_owned()).collect();
    let distinct: std::collections::HashSet<_> = choices.iter().collect();
    if choices.is_empty() || choices.len() > 200 {
        Err("must list 1 to 200 values")
    } else if choices
        .iter()
        .any(|c| c.is_empty() || c.chars().count() > 100)
    {
        Err("each value must be 1-100 characters")
    } else if choices.iter().any(|c| c.contains([';', '；'])) {
        Err(
            "values must not contain \";\" (it separates the choices of a multi-choice value in files)",
        )
    } else if distinct.len() != choices.len() {
        Err("must not repeat a value")
    } else {
        Ok(choices)
    }
}

/// A NUMBER value as stored: whole numbers below 9e15 (where a double is still exact) as JSON
/// integers, others as doubles; `None` when not finite. The API and imports both store numbers
/// through this, so the same number is the same JSON whichever way it came in (and an export
/// re-imported leaves it unchanged).
pub fn number_value(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Some(Value::Number(serde_json::Number::from(n as i64)))
    } else {
        serde_json::Number::from_f64(n).map(Value::Number)
    }
}

/// A definition to create, already checked.
#[derive(Debug, Clone)]
pub struct NewDefinition {
    /// Key.
    pub key: String,
    /// Label.
    pub label: String,
    /// One of [`TYPES`].
    pub field_type: &'static str,
    /// Required.
    pub required: bool,
    /// Choices (choice types only).
    pub choices: Vec<String>,
}

/// Changes to a definition.
#[derive(Debug, Clone, Default)]
pub struct DefinitionChanges {
    /// New label.
    pub label: Option<String>,
    /// New required flag.
    pub required: Option<bool>,
    /// New choices (a superset of the old).
    pub choices: Option<Vec<String>>,
}

/// How a write changes a customer's values.
#[derive(Debug, Clone, PartialEq)]
pub enum ValuesChange {
    /// Replace them all.
    Replace(Map<String, Value>),
    /// Set these keys; `null` removes one.
    Keys(Map<String, Value>),
}

impl ValuesChange {
    /// What an update mask does with `values`: no mask, "*" or "custom_fields" replaces them
    /// all; "custom_fields.<key>" sets (or, absent or null, removes) one; otherwise nothing.
    pub fn for_paths(values: Map<String, Value>, paths: Option<&[String]>) -> Option<ValuesChange> {
        let Some(paths) = paths.filter(|p| !p.iter().any(|p| p == "*" || p == "custom_fields"))
        else {
            return Some(ValuesChange::Replace(values));
        };
        let keys: Map<_, _> = paths
            .iter()
            .filter_map(|p| p.strip_prefix("custom_fields."))
            .map(|k| (k.to_owned(), values.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        (!keys.is_empty()).then_some(ValuesChange::Keys(keys))
    }
}

/// Checks one value against its definition and returns it as stored.
fn check_value(def: &DefinitionRow, value: &Value) -> Result<Value, String> {
    let choices = || def.choice_list();
    match (def.field_type.as_str(), value) {
        ("TEXT", Value::String(s)) if s.chars().count() <= MAX_TEXT => Ok(value.clone()),
        ("TEXT", Value::String(_)) => Err(format!("must be at most {MAX_TEXT} characters")),
        ("NUMBER", Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => Ok(value.clone()),
        ("DATE", Value::String(s))
            if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10 =>
        {
            Ok(value.clone())
        }
        ("DATE", _) => Err("must be a date \"YYYY-MM-DD\"".into()),
        ("BOOL", Value::Bool(_)) => Ok(value.clone()),
        ("SINGLE_CHOICE", Value::String(s)) if choices().contains(s) => Ok(value.clone()),
        ("SINGLE_CHOICE", _) => Err(format!("must be one of {}", choices().join(", "))),
        ("MULTI_CHOICE", Value::Array(items)) => {
            let allowed = choices();
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                match item {
                    Value::String(s) if allowed.contains(s) => {
                        if !out.contains(item) {
                            out.push(item.clone());
                        }
                    }
                    _ => return Err(format!("must list values among {}", allowed.join(", "))),
                }
            }
            Ok(Value::Array(out))
        }
        ("MULTI_CHOICE", _) => Err("must be a list of choices".into()),
        (ty, _) => Err(format!("must be a {} value", ty.to_lowercase())),
    }
}

/// The values after `change`, checked against `defs`: unknown keys and bad values are field
/// violations (`customer.custom_fields.<key>`); `check_required` also demands every required
/// field (on create, and when an update touches custom fields).
pub fn apply(
    defs: &[DefinitionRow],
    current: &str,
    change: &ValuesChange,
    check_required: bool,
) -> Result<String, Vec<FieldViolation>> {
    let mut values: Map<String, Value> = match change {
        ValuesChange::Replace(_) => Map::new(),
        ValuesChange::Keys(_) => serde_json::from_str(current).unwrap_or_default(),
    };
    let incoming = match change {
        ValuesChange::Replace(m) | ValuesChange::Keys(m) => m,
    };
    let mut v = Violations::default();
    for (key, value) in incoming {
        let field = format!("customer.custom_fields.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            v.add(
                field,
                "is not a defined custom field (see ListCustomFieldDefinitions)",
            );
            continue;
        };
        if value.is_null() {
            values.remove(key);
            continue;
        }
        match check_value(def, value) {
            Ok(stored) => {
                values.insert(key.clone(), stored);
            }
            Err(e) => v.add(field, e),
        }
    }
    if check_required {
        // A key already reported for a bad value is not reported again as missing.
        let reported: Vec<String> = v.clone().into_vec().into_iter().map(|f| f.field).collect();
        for def in defs.iter().filter(|d| d.required) {
            if reported.contains(&format!("customer.custom_fields.{}", def.key)) {
                continue;
            }
            let empty = match values.get(&def.key) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(_) => false,
            };
            if empty {
                v.add(format!("customer.custom_fields.{}", def.key), "is required");
            }
        }
    }
    if v.is_empty() {
        Ok(Value::Object(values).to_string())
    } else {
        Err(v.into_vec())
    }
}

impl Customers {
    /// Every definition, by key.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM custom_field_definitions WHERE resource = $1 ORDER BY key"
        );
        Ok(
            with_pool!(self.store.db(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(RESOURCE)
            .fetch_all(pool)
            .await)
            .map_err(DbError::from)?,
        )
    }

    /// How List resolves `custom_fields.<key>` filter fields.
    pub async fn filter_fields(&self) -> Result<Vec<(String, DynamicField)>, Error> {
        let db = self.store.db();
        Ok(self
            .definitions()
            .await?
            .iter()
            .map(|d| (format!("custom_fields.{}", d.key), d.filter_field(db)))
            .collect())
    }

    /// Defines a field.
    pub async fn create_definition(&self, new: NewDefinition) -> Result<DefinitionRow, Error> {
        if self.definitions().await?.len() >= MAX_DEFINITIONS {
            return Err(Error::FailedPrecondition(format!(
                "at most {MAX_DEFINITIONS} custom fields"
            )));
        }
        let now = crm_platform::db::now();
        let sql = format!(
            "INSERT INTO custom_field_definitions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) \
             RETURNING {COLUMNS}"
        );
        let choices = serde_json::to_string(&new.choices).unwrap_or_else(|_| "[]".into());
        // A transaction even for one statement: an idempotent request's id commits with it.
        let mut tx = self.store.db().begin().await?;
        let stored = crm_platform::with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7())
            .bind(RESOURCE)
            .bind(&new.key)
            .bind(&new.label)
            .bind(new.field_type)
            .bind(new.required)
            .bind(&choices)
            .bind(now)
            .fetch_one(&mut *conn)
            .await)
        .map_err(DbError::from);
        let stored = match stored {
            Ok(row) => tx.commit().await.map(|()| row),
            Err(e) => Err(e),
        };
        match stored {
            Ok(row) => Ok(row),
            Err(e) if e.is_unique("custom_field_definitions") => Err(Error::AlreadyExists(
                format!("custom field {:?} is already defined", new.key),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn definition(&self, key: &str) -> Result<DefinitionRow, Error> {
        self.definitions()
            .await?
            .into_iter()
            .find(|d| d.key == key)
            .ok_or_else(|| Error::NotFound(format!("customFieldDefinitions/{key}")))
    }

    /// Changes a definition; choices may only grow (values in use stay valid).
    pub async fn update_definition(
        &self,
        key: &str,
        etag: Option<i64>,
        changes: DefinitionChanges,
    ) -> Result<DefinitionRow, Error> {
        let current = self.definition(key).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(format!("customFieldDefinitions/{key}")));
        }
        let mut next = current.clone();
        if let Some(label) = changes.label {
            next.label = label;
        }
        if let Some(required) = changes.required {
            next.required = required;
        }
        if let Some(choices) = changes.choices {
            if !matches!(
                current.field_type.as_str(),
                "SINGLE_CHOICE" | "MULTI_CHOICE"
            ) {
                return Err(Error::field(
                    "definition.choices",
                    "only choice fields have choices",
                ));
            }
            let old = current.choice_list();
            if let Some(gone) = old.iter().find(|c| !choices.contains(c)) {
                return Err(Error::field(
                    "definition.choices",
                    format!("can only be added to: {gone:?} may be in use"),
                ));
            }
            next.choices = serde_json::to_string(&choices).unwrap_or_else(|_| "[]".into());
        }
        let sql = format!(
            "UPDATE custom_field_definitions SET label = $1, required = $2, choices = $3, version = version + 1, \
             updated_at = $4 WHERE id = $5 AND version = $6 RETURNING {COLUMNS}"
        );
        let updated: Option<DefinitionRow> = with_pool!(self.store.db(), |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(&next.label)
        .bind(next.required)
        .bind(&next.choices)
        .bind(crm_platform::db::now())
        .bind(current.id)
        .bind(current.version)
        .fetch_optional(pool)
        .await)
        .map_err(DbError::from)?;
        updated.ok_or_else(|| Error::EtagMismatch(format!("customFieldDefinitions/{key}")))
    }

    /// Deletes a definition and removes its values from every customer, in one transaction.
    pub async fn delete_definition(&self, key: &str) -> Result<(), Error> {
        let def = self.definition(key).await?;
        let db = self.store.db();
        let mut tx = db.begin().await?;
        // The key is checked on definition, so inlining it is safe.
        let strip = match db {
            Db::Pg(_) => format!(
                "UPDATE customers SET custom_fields = CAST(CAST(custom_fields AS jsonb) - '{key}' AS TEXT) \
                 WHERE CAST(custom_fields AS jsonb) ? '{key}'",
                key = def.key
            ),
            Db::Sqlite(_) => format!(
                "UPDATE customers SET custom_fields = json_remove(custom_fields, '$.{key}') \
                 WHERE json_type(custom_fields, '$.{key}') IS NOT NULL",
                key = def.key
            ),
        };
        crm_platform::with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(strip))
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        crm_platform::with_tx!(tx, |conn| sqlx::query(
            "DELETE FROM custom_field_definitions WHERE id = $1"
        )
        .bind(def.id)
        .execute(&mut *conn)
        .await
        .map(drop))
        .map_err(DbError::from)?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, ty: &str, required: bool, choices: &[&str]) -> DefinitionRow {
        DefinitionRow {
            id: Uuid::now_v7(),
            resource: RESOURCE.into(),
            key: key.into(),
            label: key.into(),
            field_type: ty.into(),
            required,
            choices: serde_json::to_string(choices).unwrap(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn fields(e: Vec<FieldViolation>) -> Vec<String> {
        e.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn values_are_checked_against_their_definitions() {
        let defs = [
            def("credit_limit", "NUMBER", true, &[]),
            def("since", "DATE", false, &[]),
            def("channel", "SINGLE_CHOICE", false, &["web", "store"]),
            def("topics", "MULTI_CHOICE", false, &["a", "b"]),
            def("vip", "BOOL", false, &[]),
        ];
        let ok = json!({"credit_limit": 5000.5, "since": "2024-02-29", "channel": "web",
            "topics": ["a", "b", "a"], "vip": true});
        let stored = apply(
            &defs,
            "{}",
            &ValuesChange::Replace(ok.as_object().unwrap().clone()),
            true,
        )
        .unwrap();
        let stored: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(stored["topics"], json!(["a", "b"]));

        let bad = json!({"credit_limit": "5000", "since": "2023-02-29", "channel": "fax",
            "topics": ["c"], "vip": "yes", "nope": 1});
        let err = apply(
            &defs,
            "{}",
            &ValuesChange::Replace(bad.as_object().unwrap().clone()),
            true,
        )
        .unwrap_err();
        let mut got = fields(err);
        got.sort();
        assert_eq!(
            got,
            [
                "customer.custom_fields.channel",
                "customer.custom_fields.credit_limit",
                "customer.custom_fields.nope",
                "customer.custom_fields.since",
                "customer.custom_fields.topics",
                "customer.custom_fields.vip",
            ]
        );
        // Required: missing on create; removing it by key is refused too.
        let err = apply(&defs, "{}", &ValuesChange::Replace(Map::new()), true).unwrap_err();
        assert_eq!(fields(err), ["customer.custom_fields.credit_limit"]);
        let remove = json!({"credit_limit": null});
        let err = apply(
            &defs,
            r#"{"credit_limit": 1}"#,
            &ValuesChange::Keys(remove.as_object().unwrap().clone()),
            true,
        )
        .unwrap_err();
        assert_eq!(fields(err), ["customer.custom_fields.credit_limit"]);
        // Setting one key keeps the others.
        let one = json!({"vip": false});
        let kept = apply(
            &defs,
            r#"{"credit_limit": 1}"#,
            &ValuesChange::Keys(one.as_object().unwrap().clone()),
            true,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&kept).unwrap(),
            json!({"credit_limit": 1, "vip": false})
        );
    }

    #[test]
    fn numbers_are_stored_alike_whatever_the_path() {
        assert_eq!(number_value(5.0), Some(json!(5)));
        assert_eq!(number_value(-0.0), Some(json!(0)));
        assert_eq!(number_value(2.5), Some(json!(2.5)));
        assert_eq!(number_value(1e20), Some(json!(1e20)));
        assert_eq!(number_value(f64::NAN), None);
        assert_eq!(number_value(f64::INFINITY), None);
    }

    #[test]
    fn keys_and_choices_are_checked() {
        assert!(parse_key("credit_limit2").is_ok());
        for bad in ["", "2x", "Credit", "a-b", "a.b", &"x".repeat(51)] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
        assert!(parse_choices(&["a".into(), "b".into()]).is_ok());
        assert!(parse_choices(&[]).is_err());
        assert!(parse_choices(&["a".into(), "a".into()]).is_err());
        assert!(parse_choices(&["a;b".into()]).is_err());
    }
}
