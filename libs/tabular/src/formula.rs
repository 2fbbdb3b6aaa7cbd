//! The CSV formula guard (CSV injection, CWE-1236), and its inverse for importers.
//!
//! Excel and LibreOffice evaluate a CSV cell that starts with `=`, `+`, `-` or `@` (and, for
//! some versions, one that starts with a TAB or CR before such a character) as a formula when
//! the file is opened: `=HYPERLINK(…)` or `+cmd|…` then runs on the reader's machine. OWASP's
//! advice is to put an apostrophe in front, which spreadsheets show as "this is text".
//!
//! The guard has to be undone when our own exports are imported again, or every round trip
//! would add an apostrophe. To make that exact, text whose first character after its *own*
//! leading apostrophes is a formula character gets one more: `'=1+1` (a value that already
//! starts with an apostrophe) is written `''=1+1`. Then [`strip_formula_guard`] removes one
//! apostrophe exactly when [`guard_formula`] added one, and `'abc` (no formula behind the
//! apostrophe) is never touched by either.
//!
//! Numbers are not text: a negative number (`-5`) is written by the number path and never
//! guarded. XLSX needs none of this, since its text cells are never formulas.

use std::borrow::Cow;

/// First characters that make a spreadsheet read a CSV cell as a formula (OWASP's list).
pub const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `text` needs the guard: after any apostrophes of its own, it starts with a formula
/// character.
fn needs_guard(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_START)
}

/// `text` as a CSV text cell safe to open in a spreadsheet: with one more leading apostrophe
/// when it would be read as a formula, else unchanged.
pub fn guard_formula(text: &str) -> Cow<'_, str> {
    if needs_guard(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The inverse of [`guard_formula`]: one leading apostrophe is removed when what follows would
/// be guarded, else the text is returned unchanged. Importers apply it to CSV cells only (an
/// XLSX text cell is already verbatim).
pub fn strip_formula_guard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_text_strips_back_to_itself() {
        for text in [
            "=1+1",
            "+8613812345678",
            "-0",
            "-5",
            "@SUM(1,2)",
            "\tx",
            "\rx",
            "'=1+1",
            "''=1+1",
            "'abc",
            "'",
            "''",
            "",
            "abc",
            "a=b",
            " =1",
        ] {
            let guarded = guard_formula(text);
            assert_eq!(strip_formula_guard(&guarded), text, "{text:?}");
        }
    }

    #[test]
    fn only_formula_text_is_changed() {
        assert_eq!(guard_formula("=1+1"), "'=1+1");
        assert_eq!(guard_formula("'=1+1"), "''=1+1");
        assert_eq!(guard_formula("-0"), "'-0");
        assert_eq!(guard_formula("'abc"), "'abc");
        assert_eq!(guard_formula("1E5"), "1E5");
        assert_eq!(
            guard_formula(" =1"),
            " =1",
            "a leading space is not a formula"
        );
        assert_eq!(strip_formula_guard("'abc"), "'abc");
        assert_eq!(strip_formula_guard("'-5"), "-5");
    }
}
