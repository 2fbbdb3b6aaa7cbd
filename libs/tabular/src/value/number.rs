//! Exact decimal, integer and money parsing.
//!
//! Nothing here goes through `f64`: `"0.1"` must stay one tenth, and an
//! amount of `"12345678901234.56"` must keep its cents. Decimals are an
//! integer mantissa plus a scale, which is also how money becomes minor
//! units without rounding.

use std::fmt;
use std::str::FromStr;

use super::ValueError;
use crate::currency::{Currency, currency};

/// An exact decimal number: `mantissa × 10^-scale`.
///
/// The scale is kept as written, so `"3.10"` is `(310, 2)` and prints back
/// as `"3.10"`: trailing zeros often carry meaning (a price list with two
/// decimals) and dropping them would be a silent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// Builds a decimal from its parts.
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    /// The integer digits with the sign, e.g. `123450` for `1234.50`.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// How many digits are after the decimal point, e.g. `2` for `1234.50`.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Returns `mantissa` scaled to exactly `scale` fractional digits, or
    /// `None` if that would drop a non-zero digit or overflow. Dropping
    /// trailing zeros (`1.230` → 2 digits) is allowed because the value is
    /// unchanged.
    pub fn rescale(&self, scale: u32) -> Option<i128> {
        if scale >= self.scale {
            let factor = 10i128.checked_pow(scale - self.scale)?;
            self.mantissa.checked_mul(factor)
        } else {
            let factor = 10i128.checked_pow(self.scale - scale)?;
            if self.mantissa % factor != 0 {
                return None;
            }
            Some(self.mantissa / factor)
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if self.mantissa < 0 {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() <= scale {
            write!(f, "0.{}{}", "0".repeat(scale - digits.len()), digits)
        } else {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        }
    }
}

impl FromStr for Decimal {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_decimal(s)
    }
}

/// Parses an exact decimal such as `"1234.50"`, `"1,234.50"`, `"-3"` or
/// `".5"`.
///
/// Rejected, each with its own reason:
/// * scientific notation (`"1e5"`): spreadsheets produce it for long IDs
///   that already lost digits, so accepting it would hide damage;
/// * thousands separators in the wrong places (`"1,23"`, `"12,3456"`): the
///   comma might be a decimal comma, and we can't know which;
/// * more than one decimal point (`"12.3.4"`), a trailing point (`"12."`),
///   spaces inside, currency symbols, percent signs;
/// * more than 38 significant digits (the `i128` mantissa's range).
pub fn parse_decimal(s: &str) -> Result<Decimal, ValueError> {
    let parsed = parse_number(s)?;
    let digits = format!("{}{}", parsed.int, parsed.frac);
    let mantissa = digits_to_i128(&digits, s.trim())?;
    let scale = u32::try_from(parsed.frac.len())
        .map_err(|_| ValueError::new(format!("\"{}\" has too many digits", s.trim())))?;
    Ok(Decimal::new(
        if parsed.negative { -mantissa } else { mantissa },
        scale,
    ))
}

/// Parses a whole number into an `i64`.
///
/// Leading zeros are accepted (`"007"` → 7) because the caller asked for a
/// number, and zeros carry no numeric meaning; columns where they matter
/// (customer codes, phone numbers) must be text fields, which is decided by
/// the field's type, not by this parser. Correctly grouped thousands
/// separators are accepted (`"1,234"`). Rejected: any decimal point even
/// with a zero fraction (`"1.0"`, since a decimal in an integer column
/// usually means the wrong column), scientific notation (`"1e3"`), and
/// values outside the `i64` range.
pub fn parse_integer(s: &str) -> Result<i64, ValueError> {
    let t = s.trim();
    let parsed = parse_number(t)?;
    if parsed.has_point {
        return Err(ValueError::new(format!(
            "\"{t}\" has a decimal point; expected a whole number"
        )));
    }
    let magnitude = digits_to_i128(&parsed.int, t)?;
    let value = if parsed.negative {
        -magnitude
    } else {
        magnitude
    };
    i64::try_from(value)
        .map_err(|_| ValueError::new(format!("\"{t}\" is too large for a whole number field")))
}

/// The pieces of a plain decimal literal, validated but not yet evaluated.
struct Parsed<'a> {
    negative: bool,
    /// Integer digits with grouping commas removed.
    int: String,
    frac: &'a str,
    has_point: bool,
}

fn parse_number(s: &str) -> Result<Parsed<'_>, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new("is empty; expected a number"));
    }
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.contains(['e', 'E'])
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'e' | 'E' | '.' | '+' | '-' | ','))
    {
        return Err(ValueError::new(format!(
            "\"{t}\" is in scientific notation, which may already have lost digits; \
             write the number out in full (or store IDs as text)"
        )));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_digit() || *c == ',' || *c == '.'))
    {
        return Err(ValueError::new(format!(
            "\"{t}\" is not a number (unexpected '{c}')"
        )));
    }
    let mut parts = body.split('.');
    let int_part = parts.next().unwrap_or_default();
    let frac = parts.next();
    if parts.next().is_some() {
        return Err(ValueError::new(format!(
            "\"{t}\" has more than one decimal point"
        )));
    }
    let frac_part = frac.unwrap_or_default();
    if frac_part.contains(',') {
        return Err(ValueError::new(format!(
            "\"{t}\" has a comma after the decimal point"
        )));
    }
    if frac.is_some() && frac_part.is_empty() {
        return Err(ValueError::new(format!(
            "\"{t}\" ends with a decimal point"
        )));
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(ValueError::new(format!("\"{t}\" is not a number")));
    }
    let int = ungroup(int_part, t, frac.is_some())?;
    Ok(Parsed {
        negative,
        int,
        frac: frac_part,
        has_point: frac.is_some(),
    })
}

/// Removes thousands separators after checking they sit exactly every three
/// digits. A comma anywhere else could be a decimal comma (`"3,50"`), and
/// reading it as grouping would multiply the value by 100.
fn ungroup(int_part: &str, whole: &str, has_point: bool) -> Result<String, ValueError> {
    if !int_part.contains(',') {
        return Ok(int_part.to_owned());
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    if first_ok && rest_ok {
        return Ok(groups.concat());
    }
    let hint = if groups.len() == 2 && !has_point {
        " (a comma as decimal separator is not accepted; write 3.50 instead of 3,50)"
    } else {
        " (expected groups of three digits, like 1,234,567)"
    };
    Err(ValueError::new(format!(
        "\"{whole}\" has misplaced thousands separators{hint}"
    )))
}

fn digits_to_i128(digits: &str, whole: &str) -> Result<i128, ValueError> {
    let mut value: i128 = 0;
    for b in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(|| ValueError::new(format!("\"{whole}\" has too many digits")))?;
    }
    Ok(value)
}

/// A currency marker found around an amount. `¥` and `$` are families, not
/// currencies: each is shared by several currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Exact(&'static Currency),
    Yen,
    Dollar,
}

const PREFIXES: &[(&str, Option<&str>)] = &[
    ("US$", Some("USD")),
    ("HK$", Some("HKD")),
    ("NT$", Some("TWD")),
    ("S$", Some("SGD")),
    ("JP¥", Some("JPY")),
    ("CN¥", Some("CNY")),
    ("RMB", Some("CNY")),
    ("€", Some("EUR")),
    ("£", Some("GBP")),
    ("₩", Some("KRW")),
    ("￦", Some("KRW")),
    ("¥", None),
    ("￥", None),
    ("$", None),
];

const SUFFIXES: &[(&str, &str)] = &[
    ("元", "CNY"),
    ("人民币", "CNY"),
    ("RMB", "CNY"),
    ("円", "JPY"),
];

/// Parses a money amount into integer minor units and an ISO currency code.
///
/// Accepted forms: `"¥1,234.50"`, `"1234.50 CNY"`, `"CNY 1234.5"`, `"$12"`,
/// `"-¥12"`, `"HK$10"`, `"100元"`, or a bare amount when `default_currency`
/// is given.
///
/// Currency resolution, with no guessing beyond these documented rules:
/// * `¥`/`￥` is CNY (the CRM's users write ¥ for 元) unless the default
///   currency is JPY; `$` is USD unless the default is another dollar
///   (HKD, TWD, SGD). Use `JP¥`, `HK$`, `NT$`, `S$` or a code to be explicit.
/// * A symbol and a code that disagree (`"$12 CNY"`) are an error.
/// * An unknown code is an error; so is an amount with no currency and no
///   default.
///
/// The amount uses [`parse_decimal`]'s rules, so the European decimal
/// comma (`"€3,50"`) is rejected. For EUR, `"3,500"` is also rejected: a
/// euro amount with a comma and no point can't be told apart from 3.5.
/// More decimal places than the currency has (`"¥1.234"`, `"¥100.5"` for
/// JPY) is an error, never rounded; extra zeros (`"1.230"`) are fine.
pub fn parse_money(s: &str, default_currency: Option<&str>) -> Result<(i64, String), ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new("is empty; expected an amount"));
    }
    let default = match default_currency {
        Some(code) => Some(currency(code).ok_or_else(|| {
            ValueError::new(format!("default currency \"{code}\" is not supported"))
        })?),
        None => None,
    };
    let (outer_negative, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, t),
    };
    let (prefix, rest) = take_prefix(rest)?;
    let (suffix, amount) = take_suffix(rest.trim())?;
    let amount = amount.trim();
    let cur = resolve(prefix, suffix, default, t)?;
    if outer_negative && amount.starts_with(['-', '+']) {
        return Err(ValueError::new(format!("\"{t}\" has two signs")));
    }
    if cur.code == "EUR" && amount.contains(',') && !amount.contains('.') {
        return Err(ValueError::new(format!(
            "\"{t}\" is ambiguous: in euro amounts a comma may be a decimal comma; \
             write the amount with a decimal point and no separators (3500.00 or 3.50)"
        )));
    }
    let dec = parse_decimal(amount)
        .map_err(|e| ValueError::new(format!("\"{t}\" is not a valid amount: {}", e.reason())))?;
    let minor = dec.rescale(cur.exponent).ok_or_else(|| {
        ValueError::new(format!(
            "\"{t}\" has {} decimal places but {} amounts have at most {} (amounts are never rounded)",
            dec.scale(),
            cur.code,
            cur.exponent
        ))
    })?;
    let minor = if outer_negative { -minor } else { minor };
    let minor = i64::try_from(minor)
        .map_err(|_| ValueError::new(format!("\"{t}\" is too large an amount")))?;
    Ok((minor, cur.code.to_owned()))
}

fn take_prefix(s: &str) -> Result<(Option<Marker>, &str), ValueError> {
    for (sym, code) in PREFIXES {
        if let Some(rest) = s.strip_prefix(sym) {
            let marker = match (code, *sym) {
                (Some(code), _) => Marker::Exact(known(code)?),
                (None, "$") => Marker::Dollar,
                (None, _) => Marker::Yen,
            };
            return Ok((Some(marker), rest));
        }
    }
    // A three-letter code followed by the amount: "CNY 1234.5", "usd12".
    let letters: String = s.chars().take_while(char::is_ascii_alphabetic).collect();
    if letters.len() == 3 {
        return Ok((Some(Marker::Exact(code_or_rmb(&letters)?)), &s[3..]));
    }
    Ok((None, s))
}

fn take_suffix(s: &str) -> Result<(Option<Marker>, &str), ValueError> {
    for (sym, code) in SUFFIXES {
        if let Some(rest) = s.strip_suffix(sym) {
            return Ok((Some(Marker::Exact(known(code)?)), rest));
        }
    }
    let tail: String = s
        .chars()
        .rev()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    if tail.len() == 3 {
        let code: String = tail.chars().rev().collect();
        return Ok((Some(Marker::Exact(code_or_rmb(&code)?)), &s[..s.len() - 3]));
    }
    Ok((None, s))
}

/// A three-letter code, case-insensitive; `RMB` is accepted as CNY because
/// that is how many Chinese spreadsheets label yuan.
fn code_or_rmb(code: &str) -> Result<&'static Currency, ValueError> {
    if code.eq_ignore_ascii_case("RMB") {
        return known("CNY");
    }
    currency(code).ok_or_else(|| ValueError::new(format!("\"{code}\" is not a supported currency")))
}

fn known(code: &str) -> Result<&'static Currency, ValueError> {
    currency(code).ok_or_else(|| ValueError::new(format!("\"{code}\" is not a supported currency")))
}

fn resolve(
    prefix: Option<Marker>,
    suffix: Option<Marker>,
    default: Option<&'static Currency>,
    whole: &str,
) -> Result<&'static Currency, ValueError> {
    let family = |m: Marker| -> &'static Currency {
        let (members, fallback): (&[&str], &str) = match m {
            Marker::Exact(c) => return c,
            Marker::Yen => (&["CNY", "JPY"], "CNY"),
            Marker::Dollar => (&["USD", "HKD", "TWD", "SGD"], "USD"),
        };
        match default {
            Some(d) if members.contains(&d.code) => d,
            _ => currency(fallback).unwrap_or(&crate::currency::CURRENCIES[0]),
        }
    };
    let fits = |m: Marker, c: &Currency| match m {
        Marker::Exact(e) => e.code == c.code,
        Marker::Yen => matches!(c.code, "CNY" | "JPY"),
        Marker::Dollar => matches!(c.code, "USD" | "HKD" | "TWD" | "SGD"),
    };
    match (prefix, suffix) {
        (Some(p), Some(s)) => {
            // The more specific marker decides; the other must agree.
            let cur = match (p, s) {
                (Marker::Exact(c), _) | (_, Marker::Exact(c)) => c,
                _ => family(p),
            };
            if fits(p, cur) && fits(s, cur) {
                Ok(cur)
            } else {
                Err(ValueError::new(format!(
                    "\"{whole}\" names two different currencies"
                )))
            }
        }
        (Some(m), None) | (None, Some(m)) => Ok(family(m)),
        (None, None) => default.ok_or_else(|| {
            ValueError::new(format!(
                "\"{whole}\" has no currency and no default currency is configured"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_display_keeps_scale() {
        assert_eq!(Decimal::new(310, 2).to_string(), "3.10");
        assert_eq!(Decimal::new(-5, 3).to_string(), "-0.005");
        assert_eq!(Decimal::new(7, 0).to_string(), "7");
    }

    #[test]
    fn rescale() {
        let d = Decimal::new(1230, 3);
        assert_eq!(d.rescale(2), Some(123));
        assert_eq!(d.rescale(4), Some(12300));
        assert_eq!(Decimal::new(1234, 3).rescale(2), None);
    }
}
