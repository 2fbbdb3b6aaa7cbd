//! The small, closed table of currencies the CRM handles.
//!
//! Money is stored as integer minor units (fen, cents). Converting between
//! "1234.50" and `123450` needs the currency's exponent, and guessing it
//! (for example assuming 2 for everything) would silently multiply yen
//! amounts by 100. So an unknown currency is an error everywhere in this
//! crate rather than a default.

/// A currency this crate knows how to parse and format exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code, upper case (`"CNY"`).
    pub code: &'static str,
    /// Number of minor-unit digits: 2 for CNY (fen), 0 for JPY.
    pub exponent: u32,
    /// The symbol used in the XLSX number format. Symbols shared by several
    /// currencies get a disambiguating prefix (`JP¥`, `HK$`) except the one
    /// the CRM's users mean by default (`¥` is CNY, `$` is USD).
    pub symbol: &'static str,
}

/// Every supported currency. Kept small on purpose: adding one is a
/// one-line change, reviewed, instead of trusting an arbitrary code from a
/// file.
pub const CURRENCIES: &[Currency] = &[
    Currency {
        code: "CNY",
        exponent: 2,
        symbol: "¥",
    },
    Currency {
        code: "USD",
        exponent: 2,
        symbol: "$",
    },
    Currency {
        code: "EUR",
        exponent: 2,
        symbol: "€",
    },
    Currency {
        code: "GBP",
        exponent: 2,
        symbol: "£",
    },
    Currency {
        code: "HKD",
        exponent: 2,
        symbol: "HK$",
    },
    Currency {
        code: "JPY",
        exponent: 0,
        symbol: "JP¥",
    },
    Currency {
        code: "KRW",
        exponent: 0,
        symbol: "₩",
    },
    Currency {
        code: "TWD",
        exponent: 2,
        symbol: "NT$",
    },
    Currency {
        code: "SGD",
        exponent: 2,
        symbol: "S$",
    },
];

/// Looks a currency up by ISO code, case-insensitively (`"cny"` works),
/// because codes typed into spreadsheets are often lower case.
pub fn currency(code: &str) -> Option<&'static Currency> {
    let code = code.trim();
    CURRENCIES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The Excel number format for amounts in `cur`, e.g. `"¥"#,##0.00` for CNY
/// and `"JP¥"#,##0` for JPY. The symbol is quoted so Excel treats it as a
/// literal rather than a locale-dependent currency placeholder.
pub fn excel_number_format(cur: &Currency) -> String {
    let mut fmt = format!("\"{}\"#,##0", cur.symbol);
    if cur.exponent > 0 {
        fmt.push('.');
        for _ in 0..cur.exponent {
            fmt.push('0');
        }
    }
    fmt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(currency("cny").map(|c| c.exponent), Some(2));
        assert_eq!(currency(" JPY ").map(|c| c.exponent), Some(0));
        assert!(currency("XYZ").is_none());
    }

    #[test]
    fn formats() {
        let cny = currency("CNY").expect("CNY");
        assert_eq!(excel_number_format(cny), "\"¥\"#,##0.00");
        let jpy = currency("JPY").expect("JPY");
        assert_eq!(excel_number_format(jpy), "\"JP¥\"#,##0");
    }
}
