//! List filters: a subset of [AIP-160](https://google.aip.dev/160) compiled to
//! bound SQL, checked against a per-resource allow-list of fields.
//!
//! # Filter syntax
//!
//! A filter is a boolean expression over the resource's filterable fields. An
//! empty filter matches everything.
//!
//! **Comparisons** have the form `field OPERATOR value`:
//!
//! | operator | meaning |
//! | --- | --- |
//! | `=` `!=` | equal, not equal (`!=` also matches rows where the field is unset) |
//! | `<` `<=` `>` `>=` | ordering (text compares in the database's collation) |
//! | `:` | *has*: on text, a case-insensitive substring match (`name:"acme"`) |
//! | `:*` | the field is set (for text: set and not empty), e.g. `email:*` |
//!
//! **Values**:
//! - strings in double or single quotes, with backslash escapes (`\"`, `\'`,
//!   `\\`, `\n`, `\t`, `\r`; any other escaped character stands for itself);
//!   text and enum fields also accept a bare word such as `acme` or `PERSON`;
//! - integers (`42`, `-7`) and decimals (`2.5`), unquoted;
//! - `true` and `false`, unquoted;
//! - timestamps as quoted RFC-3339 strings: `create_time > "2026-01-01T00:00:00Z"`;
//! - UUIDs as quoted strings.
//!
//! **Field types** decide which operators and values are accepted:
//!
//! | type | operators | value |
//! | --- | --- | --- |
//! | text | `=` `!=` `<` `<=` `>` `>=` `:` `:*` | string or bare word |
//! | integer | `=` `!=` `<` `<=` `>` `>=` `:*` | integer |
//! | decimal | `=` `!=` `<` `<=` `>` `>=` `:*` | integer or decimal |
//! | bool | `=` `!=` `:*` | `true` or `false` |
//! | timestamp | `=` `!=` `<` `<=` `>` `>=` `:*` | quoted RFC-3339 timestamp |
//! | uuid | `=` `!=` `:*` | quoted UUID |
//! | enum | `=` `!=` `:*` | one of the listed names, quoted or bare (case-sensitive) |
//! | normalised text | as text | string or bare word, normalised (below) |
//!
//! **Normalised literals**: some text fields store values in a normal form (a phone number
//! in E.164, an email with its domain lower-cased). For these ([`FieldType::Normalized`]) the
//! literal of `=` and `!=` is brought into the same form before comparing, the way a write
//! of that value would store it, so `phone = "138-0013-8000"` finds "+8613800138000"; a
//! literal that has no such form is rejected naming the field. The literal of `:` goes
//! through a looser rewrite that keeps partial values (for phones: the digits only, so
//! `phone:"0013 8000"` finds "+8613800138000"). Ordering operators compare the literal as
//! written. The service supplies the rewrites; this module knows no phones or emails.
//!
//! **Combining**: `AND`, `OR` and `NOT` (upper case), a `-` prefix as a
//! shorthand for `NOT` (`-kind = PERSON`), and parentheses. Terms written next
//! to each other without an operator are joined with `AND`
//! (`kind = PERSON name:"ann"`). As in AIP-160 (and unlike SQL), `OR` binds
//! tighter than `AND`: `NOT` binds tightest, then `OR`, then implicit `AND`, then
//! explicit `AND`. So `a = 1 AND b = 2 OR c = 3` means `a = 1 AND (b = 2 OR c = 3)`;
//! use parentheses when in doubt. `NOT x` matches every row that `x` does not
//! match, including rows where the field is unset.
//!
//! Field names are the API names listed for the resource; other names are
//! rejected. Filters are limited to 2000 characters and 32 levels of nesting
//! (parentheses and `NOT`). Error messages give positions as character offsets
//! counted from 0.

use crate::sql::{SqlBuf, SqlValue};
use chrono::{DateTime, Utc};
use lex::{Op, Tok, Token, lex};

mod lex;

/// Longest accepted filter, in characters.
pub const MAX_FILTER_CHARS: usize = 2000;
/// Deepest accepted nesting of parentheses and `NOT`.
pub const MAX_FILTER_DEPTH: usize = 32;

/// The type of a filterable field; decides the operators and literals accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Integer,
    /// A floating-point or numeric column, bound as [`SqlValue::Float`].
    Float,
    Bool,
    Timestamp,
    Uuid,
    /// A text column holding one of these names (bound as [`SqlValue::Text`]).
    Enum(&'static [&'static str]),
    /// A text column holding values in a normal form; literals are rewritten into that form
    /// before comparing (see [`Normalizer`]). Operators as for [`FieldType::Text`]. Not for
    /// sortable fields: page cursors only carry the plain types.
    Normalized(&'static Normalizer),
}

/// Rewrites a filter literal into the form a column stores, or says why it has none (e.g.
/// "must be a phone number"); the reason is reported after the field's name.
pub type Rewrite = fn(&str) -> Result<String, String>;

/// How the literals compared with a [`FieldType::Normalized`] field are brought into the form
/// its column stores, so a filter finds what a write of the same value would have stored.
/// Domain-neutral: the service that owns the field supplies the rewrites.
#[derive(Debug, Clone, Copy)]
pub struct Normalizer {
    /// For the literal of `=` and `!=`: the whole value in stored form (the write path's own
    /// normalisation), so a literal that could never be stored is an error, not an empty page.
    pub exact: Rewrite,
    /// For the literal of `:` (substring): the text to look for. Must accept partial values,
    /// so it is usually looser than `exact`; the match is case-insensitive in any case.
    pub partial: Rewrite,
    /// Whether `=` and `!=` ignore case, through `LOWER` on both sides as `:` does: for
    /// columns that keep part of the value as entered (an email's local part). Both sides
    /// are folded by the database so that each backend folds them alike.
    pub ignore_case: bool,
}

impl PartialEq for Normalizer {
    fn eq(&self, other: &Self) -> bool {
        // By address: one function may have several, so equal normalisers can compare
        // unequal, but equal addresses are surely the same rewrite; that is enough for
        // comparing schemas, and `fn_addr_eq` says the comparison is meant.
        std::ptr::fn_addr_eq(self.exact, other.exact)
            && std::ptr::fn_addr_eq(self.partial, other.partial)
            && self.ignore_case == other.ignore_case
    }
}

impl Eq for Normalizer {}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Float => "decimal",
            FieldType::Bool => "bool",
            FieldType::Timestamp => "timestamp",
            FieldType::Uuid => "uuid",
            FieldType::Enum(_) => "enum",
            FieldType::Normalized(_) => "text",
        }
    }

    fn expected(self) -> String {
        match self {
            FieldType::Text | FieldType::Normalized(_) => "a string".into(),
            FieldType::Integer => "an integer".into(),
            FieldType::Float => "a number".into(),
            FieldType::Bool => "true or false".into(),
            FieldType::Timestamp => {
                "a quoted RFC-3339 timestamp such as \"2026-01-01T00:00:00Z\"".into()
            }
            FieldType::Uuid => "a quoted UUID".into(),
            FieldType::Enum(names) => format!("one of {}", names.join(", ")),
        }
    }
}

/// One filterable/sortable field of a resource: the API name callers use and
/// the SQL column (trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub column: &'static str,
    pub ty: FieldType,
    /// Only mark NOT NULL columns sortable: keyset paging compares cursor
    /// values with `<`/`>`, which never match NULL.
    pub sortable: bool,
}

/// The allow-list of one resource. `id_column` is the unique tiebreak column
/// used by paging (a UUIDv7 column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    pub fields: &'static [FieldSpec],
    pub id_column: &'static str,
}

impl Schema {
    /// The field with this API name, if it is in the allow-list.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        let fields: &'static [FieldSpec] = self.fields;
        fields.iter().find(|f| f.name == name)
    }
}

/// A rejected list request parameter; `field` names the request field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// "filter", "order_by", "page_token" or "page_size".
    pub field: &'static str,
    pub message: String,
}

impl QueryError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

fn err(message: impl Into<String>) -> QueryError {
    QueryError::new("filter", message)
}

/// Parses `filter` and appends a boolean SQL expression (wrapped in
/// parentheses) to `buf`. An empty/whitespace filter appends nothing and
/// returns `Ok(false)`; otherwise `Ok(true)`. On error `buf` is unchanged.
pub fn compile(filter: &str, schema: &Schema, buf: &mut SqlBuf) -> Result<bool, QueryError> {
    compile_with(filter, schema, None, buf)
}

/// [`compile`] with fields the schema does not list resolved by `dynamic`.
pub fn compile_with(
    filter: &str,
    schema: &Schema,
    dynamic: Option<Resolver<'_>>,
    buf: &mut SqlBuf,
) -> Result<bool, QueryError> {
    let len = filter.chars().count();
    if len > MAX_FILTER_CHARS {
        return Err(err(format!(
            "filter is too long ({len} characters, maximum {MAX_FILTER_CHARS})"
        )));
    }
    let tokens = lex(filter)?;
    if tokens.is_empty() {
        return Ok(false);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        schema,
        dynamic,
    };
    let expr = parser.parse_expression(0)?;
    if parser.peek().is_some() {
        return Err(parser.unexpected("AND, OR or the end of the filter"));
    }
    // Parsing finished before anything is written, so errors leave `buf` as it was.
    if expr.self_wrapped() {
        emit(&expr, buf);
    } else {
        buf.push("(");
        emit(&expr, buf);
        buf.push(")");
    }
    Ok(true)
}

/// A parsed filter whose fields, operators and values are already validated.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Column, Op, SqlValue),
    /// Case-insensitive `=` or `!=` on text: `LOWER` on both sides.
    CompareFolded(Column, Op, String),
    /// Case-insensitive substring: the LIKE pattern, already escaped.
    Contains(Column, String),
    /// Presence; `true` also requires text to be non-empty.
    Present(Column, bool),
}

/// A column (or trusted SQL expression) a restriction applies to.
type Column = std::borrow::Cow<'static, str>;

/// A field outside the static allow-list, resolved when the request arrives (e.g. custom fields
/// defined by administrators): a trusted SQL expression and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicField {
    /// SQL expression for the value; trusted (built by the service, never from input).
    pub column: String,
    /// Decides operators and literals, as for static fields.
    pub ty: FieldType,
}

/// Resolves names the static schema does not list.
pub type Resolver<'a> = &'a (dyn Fn(&str) -> Option<DynamicField> + Send + Sync);

/// A field of a restriction, static or dynamic.
struct Resolved {
    name: String,
    column: Column,
    ty: FieldType,
}

impl Expr {
    /// Whether the emitted SQL already carries its own outer parentheses.
    fn self_wrapped(&self) -> bool {
        matches!(
            self,
            Expr::And(_)
                | Expr::Or(_)
                | Expr::Not(_)
                | Expr::Present(_, true)
                | Expr::Compare(_, Op::Ne, _)
                | Expr::CompareFolded(_, Op::Ne, _)
        )
    }
}

fn emit(expr: &Expr, buf: &mut SqlBuf) {
    match expr {
        Expr::And(items) | Expr::Or(items) => {
            let sep = if matches!(expr, Expr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            buf.push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(sep);
                }
                emit(item, buf);
            }
            buf.push(")");
        }
        Expr::Not(inner) => {
            // `IS NOT TRUE` instead of `NOT` so rows where the inner test is NULL
            // (an unset field) are matched, consistent with `!=`.
            buf.push("(");
            if inner.self_wrapped() {
                emit(inner, buf);
            } else {
                buf.push("(");
                emit(inner, buf);
                buf.push(")");
            }
            buf.push(" IS NOT TRUE)");
        }
        Expr::Compare(col, Op::Ne, value) => {
            buf.push(&format!("({col} <> "));
            buf.push_bind(value.clone());
            buf.push(&format!(" OR {col} IS NULL)"));
        }
        Expr::Compare(col, op, value) => {
            let op = match op {
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
                _ => "=",
            };
            buf.push(&format!("{col} {op} "));
            buf.push_bind(value.clone());
        }
        Expr::CompareFolded(col, op, text) => {
            // Folded in SQL on both sides (not in Rust) so each backend folds the column and
            // the literal the same way, as for `:`.
            let (open, op, close) = match op {
                Op::Ne => ("(", "<>", format!(" OR {col} IS NULL)")),
                _ => ("", "=", String::new()),
            };
            buf.push(&format!("{open}LOWER({col}) {op} LOWER("));
            buf.push_bind(SqlValue::Text(text.clone()));
            buf.push(&format!("){close}"));
        }
        Expr::Contains(col, pattern) => {
            // LOWER on both sides so each backend folds case the same way for
            // the column and the pattern (SQLite's LOWER only folds ASCII).
            buf.push(&format!("LOWER({col}) LIKE LOWER("));
            buf.push_bind(SqlValue::Text(pattern.clone()));
            buf.push(") ESCAPE '\\'");
        }
        Expr::Present(col, true) => buf.push(&format!("({col} IS NOT NULL AND {col} <> '')")),
        Expr::Present(col, false) => buf.push(&format!("{col} IS NOT NULL")),
    }
}

fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "AND" | "OR" | "NOT")
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    schema: &'a Schema,
    dynamic: Option<Resolver<'a>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w == word)
    }

    fn unexpected(&self, expected: &str) -> QueryError {
        match self.peek() {
            Some(t) => err(format!(
                "unexpected token {} at offset {}, expected {expected}",
                t.shown(),
                t.at
            )),
            None => err(format!("unexpected end of filter, expected {expected}")),
        }
    }

    fn deeper(depth: usize) -> Result<usize, QueryError> {
        if depth >= MAX_FILTER_DEPTH {
            return Err(err(format!(
                "filter is nested too deeply (maximum {MAX_FILTER_DEPTH} levels)"
            )));
        }
        Ok(depth + 1)
    }

    /// AIP-160 `expression`: sequences joined by explicit `AND` (the loosest binding).
    fn parse_expression(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut items = vec![self.parse_sequence(depth)?];
        while self.peek_word("AND") {
            self.pos += 1;
            items.push(self.parse_sequence(depth)?);
        }
        Ok(collapse(items, Expr::And))
    }

    /// AIP-160 `sequence`: factors written next to each other, an implicit `AND`.
    fn parse_sequence(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut items = vec![self.parse_factor(depth)?];
        while self.starts_term() {
            items.push(self.parse_factor(depth)?);
        }
        Ok(collapse(items, Expr::And))
    }

    /// AIP-160 `factor`: terms joined by `OR`, which binds tighter than `AND`.
    fn parse_factor(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut items = vec![self.parse_unary(depth)?];
        while self.peek_word("OR") {
            self.pos += 1;
            items.push(self.parse_unary(depth)?);
        }
        Ok(collapse(items, Expr::Or))
    }

    /// Whether the next token can begin a term, making it an implicit AND.
    fn starts_term(&self) -> bool {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::LParen | Tok::Minus) => true,
            Some(Tok::Word(w)) => w != "AND" && w != "OR",
            _ => false,
        }
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let Some(token) = self.peek() else {
            return Err(self.unexpected("a field name"));
        };
        match &token.tok {
            Tok::Minus => {}
            Tok::Word(w) if w == "NOT" => {}
            Tok::LParen => {
                let depth = Self::deeper(depth)?;
                self.pos += 1;
                let inner = self.parse_expression(depth)?;
                if !matches!(self.peek().map(|t| &t.tok), Some(Tok::RParen)) {
                    return Err(self.unexpected("\")\""));
                }
                self.pos += 1;
                return Ok(inner);
            }
            Tok::Word(w) if !is_keyword(w) => return self.parse_restriction(),
            _ => return Err(self.unexpected("a field name")),
        }
        let depth = Self::deeper(depth)?;
        self.pos += 1;
        Ok(Expr::Not(Box::new(self.parse_unary(depth)?)))
    }

    fn parse_restriction(&mut self) -> Result<Expr, QueryError> {
        let Some(Token {
            tok: Tok::Word(name),
            ..
        }) = self.peek().cloned()
        else {
            return Err(self.unexpected("a field name"));
        };
        let field = match self.schema.field(&name) {
            Some(f) => Some(Resolved {
                name: f.name.to_owned(),
                column: Column::Borrowed(f.column),
                ty: f.ty,
            }),
            None => self.dynamic.and_then(|d| d(&name)).map(|d| Resolved {
                name: name.clone(),
                column: Column::Owned(d.column),
                ty: d.ty,
            }),
        };
        let field = field.ok_or_else(|| {
            let allowed: Vec<&str> = self.schema.fields.iter().map(|f| f.name).collect();
            err(format!(
                "unknown field {name:?} (allowed: {})",
                allowed.join(", ")
            ))
        })?;
        self.pos += 1;
        let Some((op, op_text)) = self.peek().and_then(|t| match t.tok {
            Tok::Op(op) => Some((op, t.text.clone())),
            _ => None,
        }) else {
            return Err(self.unexpected(&format!("an operator after {name:?}")));
        };
        self.pos += 1;
        let value = match self.peek() {
            Some(t) if matches!(&t.tok, Tok::Word(w) if !is_keyword(w)) => t.clone(),
            Some(t) if matches!(t.tok, Tok::Str(_) | Tok::Star) => t.clone(),
            _ => return Err(self.unexpected("a value")),
        };
        self.pos += 1;
        restriction(&field, op, &op_text, &value)
    }
}

/// One item stays itself; several are joined by `make`.
fn collapse(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    make(items)
}

fn restriction(field: &Resolved, op: Op, op_text: &str, value: &Token) -> Result<Expr, QueryError> {
    let name = &field.name;
    if value.tok == Tok::Star {
        if op != Op::Has {
            return Err(err(format!(
                "\"*\" at offset {} is only allowed in \"{name}:*\"",
                value.at
            )));
        }
        return Ok(Expr::Present(
            field.column.clone(),
            matches!(field.ty, FieldType::Text | FieldType::Normalized(_)),
        ));
    }
    let allowed = match field.ty {
        FieldType::Text | FieldType::Normalized(_) => true,
        FieldType::Integer | FieldType::Float | FieldType::Timestamp => op != Op::Has,
        FieldType::Bool | FieldType::Uuid | FieldType::Enum(_) => matches!(op, Op::Eq | Op::Ne),
    };
    if !allowed {
        let hint = if op == Op::Has {
            format!("; use \"{name}:*\" to test presence")
        } else {
            String::new()
        };
        return Err(err(format!(
            "operator {op_text:?} is not supported for {} field {name:?}{hint}",
            field.ty.name()
        )));
    }
    if let FieldType::Normalized(normalizer) = field.ty {
        return normalized(field, normalizer, op, value);
    }
    let bound = typed_value(field, value)?;
    Ok(match (op, bound) {
        (Op::Has, SqlValue::Text(text)) => {
            Expr::Contains(field.column.clone(), like_pattern(&text))
        }
        (op, bound) => Expr::Compare(field.column.clone(), op, bound),
    })
}

/// A restriction on a [`FieldType::Normalized`] field: the literal rewritten for `=`, `!=`
/// and `:`. Ordering operators take it as written: their literal is usually a partial bound
/// (`phone >= "+86"`) that the exact rewrite would reject or change.
fn normalized(
    field: &Resolved,
    normalizer: &Normalizer,
    op: Op,
    value: &Token,
) -> Result<Expr, QueryError> {
    let (Tok::Str(text) | Tok::Word(text)) = &value.tok else {
        return Err(err(format!(
            "invalid value {} for field {:?}: expected {}",
            value.shown(),
            field.name,
            field.ty.expected()
        )));
    };
    let rewrite = |f: Rewrite| {
        f(text).map_err(|reason| {
            err(format!(
                "invalid value {} for field {:?}: {reason}",
                value.shown(),
                field.name
            ))
        })
    };
    let column = field.column.clone();
    Ok(match op {
        Op::Has => Expr::Contains(column, like_pattern(&rewrite(normalizer.partial)?)),
        Op::Eq | Op::Ne if normalizer.ignore_case => {
            Expr::CompareFolded(column, op, rewrite(normalizer.exact)?)
        }
        Op::Eq | Op::Ne => Expr::Compare(column, op, SqlValue::Text(rewrite(normalizer.exact)?)),
        _ => Expr::Compare(column, op, SqlValue::Text(text.clone())),
    })
}

fn is_number(word: &str, allow_fraction: bool) -> bool {
    let digits = word.strip_prefix('-').unwrap_or(word);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) if allow_fraction => (int, Some(frac)),
        Some(_) => return false,
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

fn typed_value(field: &Resolved, value: &Token) -> Result<SqlValue, QueryError> {
    let mismatch = || {
        err(format!(
            "invalid value {} for field {:?}: expected {}",
            value.shown(),
            field.name,
            field.ty.expected()
        ))
    };
    let parsed = match (field.ty, &value.tok) {
        (FieldType::Text, Tok::Str(s) | Tok::Word(s)) => SqlValue::Text(s.clone()),
        (FieldType::Integer, Tok::Word(w)) if is_number(w, false) => {
            SqlValue::Int(w.parse().map_err(|_| {
                err(format!(
                    "integer {w:?} for field {:?} is out of range",
                    field.name
                ))
            })?)
        }
        (FieldType::Float, Tok::Word(w)) if is_number(w, true) => {
            SqlValue::Float(w.parse().map_err(|_| mismatch())?)
        }
        (FieldType::Bool, Tok::Word(w)) if w == "true" || w == "false" => {
            SqlValue::Bool(w == "true")
        }
        (FieldType::Timestamp, Tok::Str(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| SqlValue::Timestamp(t.with_timezone(&Utc)))
            .map_err(|_| mismatch())?,
        (FieldType::Uuid, Tok::Str(s)) => {
            SqlValue::Uuid(uuid::Uuid::parse_str(s).map_err(|_| mismatch())?)
        }
        (FieldType::Enum(names), Tok::Str(s) | Tok::Word(s)) if names.contains(&s.as_str()) => {
            SqlValue::Text(s.clone())
        }
        _ => return Err(mismatch()),
    };
    Ok(parsed)
}

#[cfg(test)]
mod tests;
