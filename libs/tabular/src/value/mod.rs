//! Strict parsers from cell text to typed values.
//!
//! Readers hand out text exactly as stored; this module is where a field's
//! type is applied. Every parser follows the crate rule: accept only input
//! whose meaning is certain, and otherwise return a [`ValueError`] whose
//! reason (English, lower-case start) reads well after `"field X: "` in an
//! import report. No parser rounds, truncates or guesses a locale.
//!
//! All parsers trim surrounding whitespace first: spaces around a value in a
//! cell are formatting noise, never part of a number, date or flag.

mod date;
mod number;

pub use date::{DateFormat, parse_date};
pub use number::{Decimal, parse_decimal, parse_integer, parse_money};

use std::fmt;

/// Why a cell's text could not be read as the field's type.
///
/// The message is meant for end users: it quotes the offending text and,
/// where possible, says how to fix it (for example "declare the date
/// format").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    reason: String,
}

impl ValueError {
    /// Creates an error with a human-readable reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason, suitable for `format!("field {name}: {}", err.reason())`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ValueError {}

/// Parses a yes/no flag.
///
/// Accepts, case-insensitively: `true/false`, `yes/no`, `y/n`, `1/0`,
/// `是/否`, `真/假`. Anything else (including the empty string) is an
/// error: a checkbox column with a stray "maybe" must be fixed by a person,
/// not read as `false`. Empty cells are the caller's business (usually
/// "leave the field unchanged"), so they are rejected here rather than
/// given a value.
pub fn parse_bool(s: &str) -> Result<bool, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new("is empty; expected yes or no"));
    }
    let lower = t.to_lowercase();
    match lower.as_str() {
        "true" | "yes" | "y" | "1" | "是" | "真" => Ok(true),
        "false" | "no" | "n" | "0" | "否" | "假" => Ok(false),
        _ => Err(ValueError::new(format!(
            "\"{t}\" is not a yes/no value; use true/false, yes/no, y/n, 1/0, 是/否 or 真/假"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools() {
        for t in ["true", "TRUE", "Yes", "y", "1", "是", "真", " true "] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["false", "No", "N", "0", "否", "假"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        for bad in ["", "maybe", "2", "t", "对", "yes!"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }
}
