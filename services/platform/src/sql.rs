//! A bound-SQL accumulator shared by the filter compiler and keyset paging.
//!
//! Everything a caller supplies travels as a bound value; only text written by
//! code (column names from a schema, keywords, placeholders) goes into `sql`.
//! Placeholders are always `$N` because both PostgreSQL and SQLite accept that
//! form, so one SQL text serves both backends.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A value bound to a `$N` placeholder. The store binds it per backend
/// (PostgreSQL and SQLite both accept these types via sqlx).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    Uuid(Uuid),
    /// A NULL text (PostgreSQL types a bound NULL, so each column type needs its own).
    NullText,
    /// A NULL UUID.
    NullUuid,
}

/// SQL text with `$1..$N` placeholders and the values for them, in order.
#[derive(Debug, Clone, Default)]
pub struct SqlBuf {
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

impl SqlBuf {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Appends raw SQL text. Only pass text written in code, never caller input.
    pub fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    /// Appends a `$N` placeholder for `v`, numbered after the binds already present.
    pub fn push_bind(&mut self, v: SqlValue) {
        self.binds.push(v);
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
    }

    /// Appends `$N, $N+1, ...` for `values` (the inside of an `IN (...)`).
    pub fn push_binds(&mut self, values: impl IntoIterator<Item = SqlValue>) {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_binds_numbers_a_list() {
        let mut buf = SqlBuf::new("SELECT 1 WHERE x = ");
        buf.push_bind(SqlValue::Int(1));
        buf.push(" AND y IN (");
        buf.push_binds([SqlValue::Int(2), SqlValue::Int(3)]);
        buf.push(")");
        assert_eq!(buf.sql, "SELECT 1 WHERE x = $1 AND y IN ($2, $3)");
        assert_eq!(buf.binds.len(), 3);
    }

    #[test]
    fn new_starts_without_binds() {
        let buf = SqlBuf::new("SELECT 1");
        assert_eq!(buf.sql, "SELECT 1");
        assert!(buf.binds.is_empty());
    }

    #[test]
    fn placeholders_follow_bind_count() {
        let mut buf = SqlBuf::new("SELECT * FROM t WHERE a = ");
        buf.push_bind(SqlValue::Int(1));
        buf.push(" AND b = ");
        buf.push_bind(SqlValue::Text("x".into()));
        buf.push(" AND c = ");
        buf.push_bind(SqlValue::Bool(true));
        assert_eq!(
            buf.sql,
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3"
        );
        assert_eq!(
            buf.binds,
            vec![
                SqlValue::Int(1),
                SqlValue::Text("x".into()),
                SqlValue::Bool(true)
            ]
        );
    }

    #[test]
    fn numbering_reaches_two_digits() {
        let mut buf = SqlBuf::default();
        for i in 0..10 {
            buf.push(" ");
            buf.push_bind(SqlValue::Int(i));
        }
        assert!(buf.sql.ends_with(" $9 $10"));
        assert_eq!(buf.binds.len(), 10);
    }
}
