//! Date parsing that refuses to guess.
//!
//! `04/02/2024` is 4 February in Beijing and London but 2 April in New York.
//! Spreadsheets resolve this with the machine's locale, which is how the
//! same file imports differently on two laptops. Here, only forms with one
//! possible meaning are accepted by default; anything else needs the column's
//! format to be declared by the caller.

use chrono::NaiveDate;

use super::ValueError;

/// A date layout the caller declares for a column, for forms that are
/// ambiguous on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    /// Day first with a four-digit year: `04/02/2024` is 4 February.
    Dmy,
    /// Month first with a four-digit year: `04/02/2024` is 2 April.
    Mdy,
    /// An exact chrono `strftime` pattern, e.g. `"%d.%m.%y"`. This is the
    /// way to accept two-digit years: a declared `%y` uses chrono's rule
    /// (00–69 → 20xx, 70–99 → 19xx).
    Pattern(String),
}

/// Parses a calendar date.
///
/// Always accepted, because they have a single meaning:
/// * year first: `2024-02-04`, `2024/2/4`, `2024.02.04`;
/// * Chinese: `2024年2月4日` (also with `号`);
/// * any of the above followed by a midnight time (`T00:00:00`, ` 0:00`,
///   optional zero fraction, optional `Z`/`+00:00`), as produced by tools
///   that export dates as datetimes. A non-zero time is an error: dropping
///   it would lose information.
/// * day/month/year or month/day/year with a four-digit year when only one
///   reading is a real date (`13/02/2024`) or both readings agree
///   (`04/04/2024`), and only when neither [`DateFormat::Dmy`] nor
///   [`DateFormat::Mdy`] is declared. If one is declared, values must match
///   it: `13/02/2024` in a declared month-first column is a data error.
///
/// Rejected: two-digit years (`04/02/24`) unless a [`DateFormat::Pattern`]
/// declares them, forms with no year (`2/4` is never a date), impossible
/// dates (`2023-02-30`), and everything else.
pub fn parse_date(s: &str, formats: &[DateFormat]) -> Result<NaiveDate, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new("is empty; expected a date"));
    }
    // Declared exact patterns first: a declaration is the strongest evidence
    // and may legitimately cover forms rejected below (two-digit years).
    for f in formats {
        if let DateFormat::Pattern(p) = f
            && let Ok(d) = NaiveDate::parse_from_str(t, p)
        {
            return Ok(d);
        }
    }
    let date_part = strip_midnight(t)?;
    if date_part.contains('年') {
        return parse_chinese(date_part, t);
    }
    parse_numeric(date_part, t, formats)
}

/// Splits off a trailing time if it is exactly midnight; errors if a real
/// time of day is present.
fn strip_midnight(t: &str) -> Result<&str, ValueError> {
    let Some(idx) = t.find(['T', ' ']) else {
        return Ok(t);
    };
    let (date, time) = (&t[..idx], t[idx + 1..].trim());
    if !time.contains(':') {
        // Not a time at all (e.g. "2024年 2月 4日"): let the date parsers
        // judge the whole text.
        return Ok(t);
    }
    if is_midnight(time) {
        Ok(date.trim_end())
    } else {
        Err(ValueError::new(format!(
            "\"{t}\" has a time of day; expected a date only"
        )))
    }
}

fn is_midnight(time: &str) -> bool {
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))
        .or_else(|| time.strip_suffix("+0000"))
        .unwrap_or(time);
    let mut parts = time.split(':');
    let zeros =
        |p: &str, min: usize| p.len() >= min && p.len() <= 2 && p.bytes().all(|b| b == b'0');
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !zeros(h, 1) || !zeros(m, 2) {
        return false;
    }
    match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(sec), None) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, "0"));
            zeros(whole, 2) && !frac.is_empty() && frac.bytes().all(|b| b == b'0')
        }
        _ => false,
    }
}

fn parse_chinese(d: &str, whole: &str) -> Result<NaiveDate, ValueError> {
    let bad = || ValueError::new(format!("\"{whole}\" is not a date like 2024年2月4日"));
    let d: String = d.chars().filter(|c| !c.is_whitespace()).collect();
    let (y, rest) = d.split_once('年').ok_or_else(bad)?;
    let (m, rest) = rest.split_once('月').ok_or_else(bad)?;
    let day = rest
        .strip_suffix('日')
        .or_else(|| rest.strip_suffix('号'))
        .ok_or_else(bad)?;
    if y.len() != 4 {
        return Err(ValueError::new(format!(
            "\"{whole}\" needs a four-digit year"
        )));
    }
    let (y, m, day) = (
        number(y, 4).ok_or_else(bad)?,
        number(m, 2).ok_or_else(bad)?,
        number(day, 2).ok_or_else(bad)?,
    );
    ymd(y, m, day, whole)
}

fn parse_numeric(d: &str, whole: &str, formats: &[DateFormat]) -> Result<NaiveDate, ValueError> {
    let not_date = || ValueError::new(format!("\"{whole}\" is not a date"));
    let sep = d.chars().find(|c| matches!(c, '-' | '/' | '.'));
    let Some(sep) = sep else {
        return Err(not_date());
    };
    let parts: Vec<&str> = d.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(not_date());
    }
    if parts.len() == 2 {
        return Err(ValueError::new(format!(
            "\"{whole}\" has no year, so it is not a date"
        )));
    }
    if parts.len() != 3 {
        return Err(not_date());
    }
    let (a, b, c) = (parts[0], parts[1], parts[2]);
    if a.len() == 4 {
        let (Some(y), Some(m), Some(day)) = (number(a, 4), number(b, 2), number(c, 2)) else {
            return Err(not_date());
        };
        return ymd(y, m, day, whole);
    }
    if c.len() != 4 {
        if c.len() <= 2 && a.len() <= 2 && b.len() <= 2 {
            return Err(ValueError::new(format!(
                "\"{whole}\" has a two-digit year, which is ambiguous; \
                 use a four-digit year or declare the column's date format"
            )));
        }
        return Err(not_date());
    }
    let (Some(p), Some(q), Some(y)) = (number(a, 2), number(b, 2), number(c, 4)) else {
        return Err(not_date());
    };
    let dmy = formats.contains(&DateFormat::Dmy);
    let mdy = formats.contains(&DateFormat::Mdy);
    let as_dmy = NaiveDate::from_ymd_opt(y, q, p);
    let as_mdy = NaiveDate::from_ymd_opt(y, p, q);
    if dmy || mdy {
        let candidates: Vec<NaiveDate> = [(dmy, as_dmy), (mdy, as_mdy)]
            .into_iter()
            .filter_map(|(declared, date)| if declared { date } else { None })
            .collect();
        return match candidates.as_slice() {
            [] => Err(ValueError::new(format!(
                "\"{whole}\" is not a valid date in the declared format ({})",
                declared_names(dmy, mdy)
            ))),
            [one] => Ok(*one),
            [first, second, ..] if first == second => Ok(*first),
            _ => Err(ambiguous(whole, p, q, y)),
        };
    }
    match (as_dmy, as_mdy) {
        (Some(x), Some(y)) if x == y => Ok(x),
        (Some(_), Some(_)) => Err(ambiguous(whole, p, q, y)),
        (Some(x), None) if p > 12 => Ok(x),
        (None, Some(x)) if q > 12 => Ok(x),
        _ => Err(ValueError::new(format!(
            "\"{whole}\" is not a valid date (no such day)"
        ))),
    }
}

fn declared_names(dmy: bool, mdy: bool) -> &'static str {
    match (dmy, mdy) {
        (true, true) => "DD/MM/YYYY or MM/DD/YYYY",
        (true, false) => "DD/MM/YYYY",
        _ => "MM/DD/YYYY",
    }
}

fn ambiguous(whole: &str, p: u32, q: u32, y: i32) -> ValueError {
    ValueError::new(format!(
        "\"{whole}\" is ambiguous: it could be {y}-{q:02}-{p:02} (day first) or \
         {y}-{p:02}-{q:02} (month first); use YYYY-MM-DD or declare the column's date format"
    ))
}

/// Parses 1..=`max` ASCII digits.
fn number<T: std::str::FromStr>(s: &str, max: usize) -> Option<T> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn ymd(y: i32, m: u32, d: u32, whole: &str) -> Result<NaiveDate, ValueError> {
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| ValueError::new(format!("\"{whole}\" is not a valid date (no such day)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_forms() {
        for t in [
            "00:00",
            "0:00",
            "00:00:00",
            "00:00:00.000",
            "00:00:00Z",
            "00:00+00:00",
        ] {
            assert!(is_midnight(t), "{t}");
        }
        for t in [
            "10:30",
            "00:00:01",
            "00:01",
            "00:00:00.5",
            "",
            "00",
            "00:00:00:00",
        ] {
            assert!(!is_midnight(t), "{t}");
        }
    }
}
