//! List paging: `page_size` ([AIP-158](https://google.aip.dev/158)),
//! `order_by` ([AIP-132](https://google.aip.dev/132)) and opaque keyset page
//! tokens.
//!
//! Pages are cut with keyset conditions ("rows strictly after the last row of
//! the previous page") rather than OFFSET, so deep pages stay cheap and rows
//! inserted meanwhile neither repeat nor vanish. Every order ends with the
//! resource's unique id column as a tiebreak, which makes the order total.
//!
//! Sortable fields must be NOT NULL columns: the keyset condition compares
//! with `<`, `=` and `>`, which never match NULL, so rows with a NULL key would
//! be skipped. Stores must only mark NOT NULL columns `sortable`.
//!
//! Page tokens are URL-safe base64 of a small JSON document holding the
//! cursor and a fingerprint of the request's `filter` and `order_by`. They are
//! not signed: a crafted token can only choose where a page starts, because
//! its values are type-checked and bound as parameters.

use crate::filter::{FieldSpec, FieldType, QueryError, Schema};
use crate::sql::{SqlBuf, SqlValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Tokens longer than this are rejected before decoding (they come from callers).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Bumped whenever the token layout changes, so old tokens fail cleanly.
const TOKEN_VERSION: u32 = 1;

/// 0 → default; > max → max (AIP-158 coerces); negative → `QueryError{field:"page_size"}`.
pub fn page_size(requested: i32) -> Result<i64, QueryError> {
    match i64::from(requested) {
        n if n < 0 => Err(QueryError::new(
            "page_size",
            format!("page_size must not be negative, got {n}"),
        )),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

fn order_err(message: impl Into<String>) -> QueryError {
    QueryError::new("order_by", message)
}

fn token_err(message: impl Into<String>) -> QueryError {
    QueryError::new("page_token", message)
}

/// A validated sort order: the requested keys, then the id tiebreak.
#[derive(Debug, Clone)]
pub struct OrderBy {
    /// (field, descending) in request order.
    keys: Vec<(&'static FieldSpec, bool)>,
    schema: &'static Schema,
}

impl OrderBy {
    /// AIP-132 `order_by`: `"field [asc|desc], field2 desc"`. Empty → `default`
    /// (a string in the same syntax given by the store, e.g. `"create_time desc"`).
    /// Only `sortable` fields; unknown/duplicate field or bad direction →
    /// `QueryError{field:"order_by"}`.
    pub fn parse(
        order_by: &str,
        default: &str,
        schema: &'static Schema,
    ) -> Result<OrderBy, QueryError> {
        let text = if order_by.trim().is_empty() {
            default
        } else {
            order_by
        };
        let mut keys: Vec<(&'static FieldSpec, bool)> = Vec::new();
        if text.trim().is_empty() {
            return Ok(OrderBy { keys, schema });
        }
        for item in text.split(',') {
            let words: Vec<&str> = item.split_whitespace().collect();
            let (name, desc) = match words.as_slice() {
                [name] => (*name, false),
                [name, dir] if dir.eq_ignore_ascii_case("asc") => (*name, false),
                [name, dir] if dir.eq_ignore_ascii_case("desc") => (*name, true),
                [name, dir] => {
                    return Err(order_err(format!(
                        "invalid sort direction {dir:?} for field {name:?} (expected asc or desc)"
                    )));
                }
                [] => return Err(order_err("order_by has an empty item")),
                _ => {
                    return Err(order_err(format!(
                        "invalid order_by item {:?} (expected \"field\" or \"field desc\")",
                        item.trim()
                    )));
                }
            };
            let sortable = || {
                let names: Vec<&str> = schema
                    .fields
                    .iter()
                    .filter(|f| f.sortable)
                    .map(|f| f.name)
                    .collect();
                names.join(", ")
            };
            let field = match schema.field(name) {
                Some(f) if f.sortable => f,
                Some(_) => {
                    return Err(order_err(format!(
                        "field {name:?} is not sortable (sortable: {})",
                        sortable()
                    )));
                }
                None => {
                    return Err(order_err(format!(
                        "unknown field {name:?} (sortable: {})",
                        sortable()
                    )));
                }
            };
            if keys.iter().any(|(f, _)| f.name == field.name) {
                return Err(order_err(format!(
                    "field {name:?} appears more than once in order_by"
                )));
            }
            keys.push((field, desc));
        }
        Ok(OrderBy { keys, schema })
    }

    /// Direction of the id tiebreak, or `None` when a key already is the id
    /// column (it is unique, so nothing more is needed).
    fn tiebreak(&self) -> Option<bool> {
        if self
            .keys
            .iter()
            .any(|(f, _)| f.column == self.schema.id_column)
        {
            return None;
        }
        // Same direction as the last key, so one index can serve the whole order.
        Some(self.keys.last().is_some_and(|(_, desc)| *desc))
    }

    /// `" ORDER BY c1 DESC, c2 ASC, id DESC"` (the id tiebreak takes the
    /// direction of the last key so an index can serve it).
    pub fn sql(&self) -> String {
        let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
        let mut parts: Vec<String> = self
            .keys
            .iter()
            .map(|(f, desc)| format!("{} {}", f.column, dir(*desc)))
            .collect();
        if let Some(desc) = self.tiebreak() {
            parts.push(format!("{} {}", self.schema.id_column, dir(desc)));
        }
        format!(" ORDER BY {}", parts.join(", "))
    }

    /// The API field names of the keys (without the id tiebreak), so the store
    /// knows which row values make the cursor.
    pub fn field_names(&self) -> Vec<&'static str> {
        self.keys.iter().map(|(f, _)| f.name).collect()
    }

    /// Appends the keyset condition "rows strictly after the cursor" as a
    /// parenthesised boolean expression: for keys (a asc, b desc, id desc)
    /// `(a > $1 OR (a = $2 AND (b < $3 OR (b = $4 AND id < $5))))`.
    ///
    /// The cursor must match this order (as [`decode_token`] guarantees).
    pub fn push_after(&self, cursor: &Cursor, buf: &mut SqlBuf) {
        debug_assert_eq!(cursor.values.len(), self.keys.len());
        let mut parts: Vec<(&str, bool, SqlValue)> = self
            .keys
            .iter()
            .zip(&cursor.values)
            .map(|((f, desc), v)| (f.column, *desc, v.clone()))
            .collect();
        if let Some(desc) = self.tiebreak() {
            parts.push((self.schema.id_column, desc, SqlValue::Uuid(cursor.id)));
        }
        let Some(((last_col, last_desc, last_value), rest)) = parts.split_last() else {
            // Only reachable with a cursor that does not fit the order: match nothing
            // rather than restart from the first page.
            buf.push("(1 = 0)");
            return;
        };
        let cmp = |desc: bool| if desc { "<" } else { ">" };
        buf.push("(");
        let mut closing = String::from(")");
        for (i, (col, desc, value)) in rest.iter().enumerate() {
            buf.push(&format!("{col} {} ", cmp(*desc)));
            buf.push_bind(value.clone());
            buf.push(&format!(" OR ({col} = "));
            buf.push_bind(value.clone());
            buf.push(" AND ");
            closing.push(')');
            if i + 1 < rest.len() {
                buf.push("(");
                closing.push(')');
            }
        }
        buf.push(&format!("{last_col} {} ", cmp(*last_desc)));
        buf.push_bind(last_value.clone());
        buf.push(&closing);
    }
}

/// Position after the last row of a page: the sort key values then the id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub values: Vec<SqlValue>,
    pub id: Uuid,
}

/// FNV-1a 64 of the parts: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a64(parts: &[&str]) -> u64 {
    let mut bytes = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        // 0xff never occurs in UTF-8, so it separates the parts unambiguously.
        if i > 0 {
            bytes.push(0xff);
        }
        bytes.extend_from_slice(part.as_bytes());
    }
    crate::idempotency::fnv1a64(&bytes)
}

/// Canonical `order_by` text so that spelling differences ("a asc" vs "a",
/// extra spaces, case of the direction) do not invalidate a token.
fn normalize_order_by(order_by: &str) -> String {
    let items: Vec<String> = order_by
        .split(',')
        .map(|item| {
            let words: Vec<String> = item
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            match words.as_slice() {
                [name, dir] if dir == "asc" => name.clone(),
                _ => words.join(" "),
            }
        })
        .collect();
    items.join(",")
}

/// Only surrounding whitespace is ignored: inside quoted strings spaces matter.
fn fingerprint(filter: &str, order_by: &str) -> String {
    let hash = fnv1a64(&[filter.trim(), &normalize_order_by(order_by)]);
    format!("{hash:016x}")
}

/// The token's JSON value encoding; mirrors what [`encode_value`] writes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum TokenValue {
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "i")]
    Int(i64),
    /// IEEE-754 bits, so every float (NaN and infinities too) round-trips exactly.
    #[serde(rename = "f")]
    Float(u64),
    #[serde(rename = "b")]
    Bool(bool),
    #[serde(rename = "t")]
    Timestamp(DateTime<Utc>),
    #[serde(rename = "u")]
    Uuid(Uuid),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    v: u32,
    q: String,
    k: Vec<TokenValue>,
    id: Uuid,
}

// Built by hand rather than with `serde_json::to_string`, whose Result would
// need a panic or a silent fallback here.
fn encode_value(value: &SqlValue) -> Value {
    let (tag, inner) = match value {
        SqlValue::Text(s) => ("s", Value::from(s.as_str())),
        SqlValue::Int(n) => ("i", Value::from(*n)),
        SqlValue::Float(f) => ("f", Value::from(f.to_bits())),
        SqlValue::Bool(b) => ("b", Value::from(*b)),
        SqlValue::Timestamp(t) => (
            "t",
            Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        ),
        SqlValue::Uuid(u) => ("u", Value::from(u.to_string())),
        // Sort values are never NULL (rows give "" for a missing text), so a cursor never
        // carries one; encoded as empty text all the same.
        SqlValue::NullText | SqlValue::NullUuid => ("s", Value::from("")),
    };
    let mut map = Map::new();
    map.insert(tag.into(), inner);
    Value::Object(map)
}

/// Page tokens are opaque (URL-safe base64 of JSON) and bound to the query
/// that produced them: they carry a fingerprint of (filter, order_by).
pub fn encode_token(cursor: &Cursor, filter: &str, order_by: &str) -> String {
    let mut body = Map::new();
    body.insert("v".into(), Value::from(TOKEN_VERSION));
    body.insert("q".into(), Value::from(fingerprint(filter, order_by)));
    body.insert(
        "k".into(),
        Value::Array(cursor.values.iter().map(encode_value).collect()),
    );
    body.insert("id".into(), Value::from(cursor.id.to_string()));
    URL_SAFE_NO_PAD.encode(Value::Object(body).to_string())
}

/// Decodes a token made by [`encode_token`] for the same `filter` and
/// `order_by`, checking its values against `order`. Stores treat an empty
/// `page_token` as "first page" and do not call this for it.
pub fn decode_token(
    token: &str,
    filter: &str,
    order_by: &str,
    order: &OrderBy,
) -> Result<Cursor, QueryError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(token_err("page token is too long"));
    }
    let malformed = || token_err("page token is malformed");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let body: TokenBody = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    if body.v != TOKEN_VERSION {
        return Err(token_err(
            "page token is from an older version; start again without a page token",
        ));
    }
    if body.q != fingerprint(filter, order_by) {
        return Err(token_err(
            "page token does not match the filter and order_by of this request",
        ));
    }
    if body.k.len() != order.keys.len() {
        return Err(malformed());
    }
    let values = body
        .k
        .into_iter()
        .zip(&order.keys)
        .map(|(value, (field, _))| typed(value, field.ty).ok_or_else(malformed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cursor {
        values,
        id: body.id,
    })
}

/// The cursor value if its type fits the field type.
fn typed(value: TokenValue, ty: FieldType) -> Option<SqlValue> {
    match (value, ty) {
        (TokenValue::Text(s), FieldType::Text | FieldType::Enum(_)) => Some(SqlValue::Text(s)),
        (TokenValue::Int(n), FieldType::Integer) => Some(SqlValue::Int(n)),
        (TokenValue::Float(bits), FieldType::Float) => Some(SqlValue::Float(f64::from_bits(bits))),
        (TokenValue::Bool(b), FieldType::Bool) => Some(SqlValue::Bool(b)),
        (TokenValue::Timestamp(t), FieldType::Timestamp) => Some(SqlValue::Timestamp(t)),
        (TokenValue::Uuid(u), FieldType::Uuid) => Some(SqlValue::Uuid(u)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// The list parameters of an AIP-132 List request, as the caller sent them.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// AIP-160 filter.
    pub filter: String,
    /// AIP-132 order.
    pub order_by: String,
    /// Requested page size.
    pub page_size: i32,
    /// Token of the previous page.
    pub page_token: String,
}

/// A list query in the making: see [`ListParams::prepare`] and [`Prepared::finish`].
#[derive(Debug)]
pub struct Prepared {
    order: OrderBy,
    size: i64,
}

impl ListParams {
    /// Completes `query` (a SELECT ending in "WHERE <scope condition>") with the filter, the
    /// page cursor, the order and a limit one above the page size (to know whether a next page
    /// exists without counting).
    pub fn prepare(
        &self,
        query: &mut SqlBuf,
        schema: &'static Schema,
        default_order: &str,
    ) -> Result<Prepared, QueryError> {
        self.prepare_with(query, schema, None, default_order)
    }

    /// [`ListParams::prepare`] with filter fields beyond the schema resolved by `dynamic`.
    pub fn prepare_with(
        &self,
        query: &mut SqlBuf,
        schema: &'static Schema,
        dynamic: Option<crate::filter::Resolver<'_>>,
        default_order: &str,
    ) -> Result<Prepared, QueryError> {
        let size = page_size(self.page_size)?;
        let order = OrderBy::parse(&self.order_by, default_order, schema)?;
        // Compiled into its own buffer (numbering continues after the query's binds) so that
        // " AND " is only added when the filter is not empty.
        let mut filter = SqlBuf {
            binds: std::mem::take(&mut query.binds),
            ..SqlBuf::default()
        };
        if crate::filter::compile_with(&self.filter, schema, dynamic, &mut filter)? {
            query.push(" AND ");
        }
        query.sql.push_str(&filter.sql);
        query.binds = filter.binds;
        if !self.page_token.is_empty() {
            let cursor = decode_token(&self.page_token, &self.filter, &self.order_by, &order)?;
            query.push(" AND ");
            order.push_after(&cursor, query);
        }
        query.push(&order.sql());
        query.push(" LIMIT ");
        query.push_bind(SqlValue::Int(size + 1));
        Ok(Prepared { order, size })
    }
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A list parameter is bad (`field` names it).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl ListParams {
    /// A whole page: completes `query` as [`ListParams::prepare`] does, fetches the rows and
    /// cuts them with [`Prepared::finish`]. Returns the rows and the next page token.
    pub async fn fetch_page<R>(
        &self,
        db: &crate::db::Db,
        mut query: SqlBuf,
        schema: &'static Schema,
        default_order: &str,
        sort_value: impl Fn(&R, &str) -> SqlValue,
        id: impl Fn(&R) -> Uuid,
    ) -> Result<(Vec<R>, String), PageError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let page = self.prepare(&mut query, schema, default_order)?;
        let mut rows = crate::db::fetch_all(db, query).await?;
        let next = page.finish(&mut rows, self, sort_value, id);
        Ok((rows, next))
    }
}

impl Prepared {
    /// Cuts the fetched rows to the page and returns the next page token ("" at the end).
    /// `sort_value` gives a row's value of a sortable field, `id` its id.
    pub fn finish<R>(
        &self,
        rows: &mut Vec<R>,
        params: &ListParams,
        sort_value: impl Fn(&R, &str) -> SqlValue,
        id: impl Fn(&R) -> Uuid,
    ) -> String {
        if rows.len() as i64 <= self.size {
            return String::new();
        }
        rows.truncate(self.size as usize);
        match rows.last() {
            Some(last) => {
                let cursor = Cursor {
                    values: self
                        .order
                        .field_names()
                        .iter()
                        .map(|f| sort_value(last, f))
                        .collect(),
                    id: id(last),
                };
                encode_token(&cursor, &params.filter, &params.order_by)
            }
            None => String::new(),
        }
    }
}
