//! Placeholder until the filter module lands.
/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Timestamp.
    Timestamp(chrono::DateTime<chrono::Utc>),
    /// UUID.
    Uuid(uuid::Uuid),
}
