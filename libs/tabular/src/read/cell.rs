//! Turning XLSX cell values into text without changing them.
//!
//! An XLSX numeric cell holds an IEEE double. The text we hand out must be
//! the number the user sees, not an artefact of binary floating point:
//! `1.0` → `"1"`, `0.1` → `"0.1"` (Rust's shortest round-trip formatting),
//! never `"0.1000000000000000055"`. Numbers at or beyond 2^53 are refused:
//! Excel keeps 15 significant digits, so an 18-digit ID card number typed
//! into a numeric cell has already lost its last digits, and printing the
//! damaged value would make the loss look like data.

use chrono::{Duration, NaiveDate, NaiveDateTime};

/// 2^53: beyond this not every integer is representable in an `f64`.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

const MS_PER_DAY: i64 = 86_400_000;

/// Renders a numeric cell as the shortest text that round-trips, without a
/// trailing `.0` for whole numbers.
///
/// Errors (as a user-facing reason) for non-finite values and magnitudes of
/// 2^53 or more, which have lost digits.
pub fn number_to_text(v: f64) -> Result<String, String> {
    if !v.is_finite() {
        return Err("is not a finite number".into());
    }
    if v.abs() >= EXACT_LIMIT {
        return Err("too long to be a number; store IDs as text".into());
    }
    if v.fract() == 0.0 {
        // Exact: |v| < 2^53 fits an i64, and this also prints -0.0 as "0".
        return Ok(format!("{}", v as i64));
    }
    Ok(format!("{v}"))
}

/// Converts an Excel serial date to ISO 8601 text: `"2024-02-04"` for a
/// whole day, `"2024-02-04T10:30:00"` with a time, `"10:30:00"` for a pure
/// time (serial below 1). Fractions are rounded to the millisecond, Excel's
/// own precision, and milliseconds are printed only when non-zero.
///
/// Errors, rather than clamping like many readers do, for negative
/// serials, dates after 9999-12-31, and serial 60 of the 1900 system,
/// which is the non-existent 1900-02-29 kept by Excel for Lotus
/// compatibility.
pub fn excel_serial_to_iso(serial: f64, is_1904: bool) -> Result<String, String> {
    if !serial.is_finite() || serial < 0.0 {
        return Err("is not a valid date (negative serial number)".into());
    }
    if serial >= 2_958_466.0 {
        return Err("is a date after 9999-12-31".into());
    }
    let mut days = serial.floor() as i64;
    let mut ms = ((serial - serial.floor()) * MS_PER_DAY as f64).round() as i64;
    if ms >= MS_PER_DAY {
        ms -= MS_PER_DAY;
        days += 1;
    }
    if days == 0 {
        return Ok(clock(ms));
    }
    let epoch = if is_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1)
    } else if days == 60 {
        return Err("is 1900-02-29, a day that does not exist (an Excel quirk)".into());
    } else if days < 60 {
        NaiveDate::from_ymd_opt(1899, 12, 31)
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)
    };
    let date = epoch
        .and_then(|e| e.checked_add_signed(Duration::days(days)))
        .ok_or_else(|| "is outside the supported date range".to_string())?;
    if ms == 0 {
        return Ok(date.format("%Y-%m-%d").to_string());
    }
    let dt: NaiveDateTime =
        date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::milliseconds(ms);
    Ok(if ms % 1000 == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
    })
}

/// Renders an Excel duration (`[h]:mm:ss` formats) as hours that may exceed
/// 24: `1.5` days → `"36:00:00"`.
pub(crate) fn duration_to_text(serial: f64) -> Result<String, String> {
    if !serial.is_finite() {
        return Err("is not a valid duration".into());
    }
    let total = (serial.abs() * MS_PER_DAY as f64).round() as i64;
    let sign = if serial < 0.0 && total > 0 { "-" } else { "" };
    let (h, rest) = (total / 3_600_000, total % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    Ok(if milli == 0 {
        format!("{sign}{h}:{m:02}:{s:02}")
    } else {
        format!("{sign}{h}:{m:02}:{s:02}.{milli:03}")
    })
}

fn clock(ms: i64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    if milli == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{milli:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number_to_text(1.0).as_deref(), Ok("1"));
        assert_eq!(number_to_text(-0.0).as_deref(), Ok("0"));
        assert_eq!(number_to_text(0.1).as_deref(), Ok("0.1"));
        assert_eq!(number_to_text(3.1).as_deref(), Ok("3.1"));
        assert_eq!(number_to_text(-1234.5).as_deref(), Ok("-1234.5"));
        assert_eq!(number_to_text(1e-7).as_deref(), Ok("0.0000001"));
        assert_eq!(
            number_to_text(9_007_199_254_740_991.0).as_deref(),
            Ok("9007199254740991")
        );
        assert!(number_to_text(9_007_199_254_740_992.0).is_err());
        assert!(number_to_text(110_105_199_001_011_234.0).is_err());
        assert!(number_to_text(f64::NAN).is_err());
    }

    #[test]
    fn serials() {
        assert_eq!(
            excel_serial_to_iso(45326.0, false).as_deref(),
            Ok("2024-02-04")
        );
        assert_eq!(
            excel_serial_to_iso(45326.4375, false).as_deref(),
            Ok("2024-02-04T10:30:00")
        );
        assert_eq!(excel_serial_to_iso(1.0, false).as_deref(), Ok("1900-01-01"));
        assert_eq!(
            excel_serial_to_iso(59.0, false).as_deref(),
            Ok("1900-02-28")
        );
        assert!(excel_serial_to_iso(60.0, false).is_err());
        assert_eq!(
            excel_serial_to_iso(61.0, false).as_deref(),
            Ok("1900-03-01")
        );
        assert_eq!(excel_serial_to_iso(0.5, false).as_deref(), Ok("12:00:00"));
        assert_eq!(
            excel_serial_to_iso(43864.0, true).as_deref(),
            Ok("2024-02-04")
        );
        assert!(excel_serial_to_iso(-1.0, false).is_err());
        assert!(excel_serial_to_iso(3e6, false).is_err());
        assert_eq!(duration_to_text(1.5).as_deref(), Ok("36:00:00"));
    }
}
