//! Postal addresses split into fields (house number, street, locality,
//! postal code) and compared field by field.
//!
//! Comparing whole address strings cannot tell "same house, street typo"
//! from "neighbour two doors down": both are one or two characters apart.
//! Field by field it can: a near-identical street with the same house number
//! and an agreeing postal code or locality is the same address; the same
//! street with another house number is a neighbour (evidence *against* a
//! duplicate); a shared street or postal code alone is only a place.

use crate::Address;
use crate::names::is_han;
use crate::normalize::fold;
use crate::parts::transposed;
use crate::similarity::jaro_winkler;

/// An address reduced to comparable fields, all folded (lower case, no
/// accents, no punctuation, street-type words abbreviated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedAddress {
    /// "12", "12a"; `None` when the address has none.
    pub house: Option<String>,
    /// Street name without house number ("hauptstr", "main st",
    /// "北京市朝阳区建国路"); empty if unknown.
    pub street: String,
    /// City / suburb; empty if unknown.
    pub locality: String,
    /// Postal code without spaces.
    pub postal: Option<String>,
}

/// Street-type words and their abbreviation, so "Hauptstraße" and
/// "HAUPTSTR." or "Main Street" and "Main St" compare equal. Suffixes of
/// compounds ("…strasse") are handled too.
const STREET_WORDS: &[(&str, &str)] = &[
    ("strasse", "str"),
    ("street", "st"),
    ("road", "rd"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("drive", "dr"),
    ("place", "pl"),
    ("platz", "pl"),
    ("lane", "ln"),
    ("court", "ct"),
    ("crescent", "cres"),
    ("boulevard", "blvd"),
    ("terrace", "tce"),
    ("circuit", "cct"),
    ("close", "cl"),
    ("parade", "pde"),
    ("highway", "hwy"),
    ("square", "sq"),
];

fn abbreviate(token: &str) -> String {
    for (long, short) in STREET_WORDS {
        if token == *long {
            return (*short).to_string();
        }
        if token.len() > long.len() + 2
            && long.len() >= 5
            && let Some(stem) = token.strip_suffix(long)
        {
            return format!("{stem}{short}");
        }
    }
    token.to_string()
}

/// Tokens of one line: folded, punctuation as separator, and Han text split
/// from digits ("建国路88号" → "建国路", "88", "号").
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    for c in fold(line).chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let digit = c.is_ascii_digit();
        // Split at digit/Han boundaries only: "12a" stays one token.
        let han_boundary = !cur.is_empty()
            && digit != cur_digit
            && (is_han(c) || cur.chars().last().is_some_and(is_han));
        if han_boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
        cur_digit = digit;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // "号" (number) after a Chinese house number carries nothing.
    out.retain(|t| t != "号");
    out
}

fn is_number_token(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_digit())
        && t.len() <= 6
        && t.chars().skip_while(char::is_ascii_digit).count() <= 1
}

fn is_postal_token(t: &str) -> bool {
    (4..=6).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
}

fn join_words(words: &[String]) -> String {
    let parts: Vec<String> = words.iter().map(|w| abbreviate(w)).collect();
    parts.join(" ")
}

/// Parses one block of free text ("Hauptstraße 5, 10115 Berlin", "12 Main
/// Street, Springfield 2600", "北京市朝阳区建国路88号 100022").
fn parse_free_text(text: &str) -> ParsedAddress {
    let segments: Vec<Vec<String>> = text
        .split([',', ';', '\n'])
        .map(tokens)
        .filter(|s| !s.is_empty())
        .collect();
    let flat: Vec<(usize, &String)> = segments
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.iter().map(move |t| (i, t)))
        .collect();
    let numbers: Vec<usize> = (0..flat.len())
        .filter(|&k| is_number_token(flat[k].1))
        .collect();
    // The postal code: the last 5–6 digit run, or the last 4-digit run if
    // there is another number before it (the house number).
    let postal_at = numbers
        .iter()
        .rev()
        .find(|&&k| is_postal_token(flat[k].1) && flat[k].1.len() >= 5)
        .or_else(|| {
            numbers
                .iter()
                .rev()
                .find(|&&k| is_postal_token(flat[k].1) && numbers.len() >= 2)
        })
        .copied();
    let house_at = numbers.iter().copied().find(|&k| Some(k) != postal_at);
    // Street: the words of the house number's segment (or the first
    // segment); before the postal code if it shares the segment.
    let street_seg = house_at.map_or(0, |k| flat[k].0);
    let mut street = Vec::new();
    let mut locality = Vec::new();
    for (k, (seg, tok)) in flat.iter().enumerate() {
        if is_number_token(tok) {
            continue;
        }
        let after_postal = postal_at.is_some_and(|p| k > p && flat[p].0 == *seg);
        let after_house_same_seg = house_at.is_some_and(|h| {
            k > h
                && flat[h].0 == *seg
                && flat[..h]
                    .iter()
                    .any(|(s, t)| s == seg && !is_number_token(t))
        });
        if *seg == street_seg && !after_postal && !after_house_same_seg {
            street.push((*tok).clone());
        } else {
            locality.push((*tok).clone());
        }
    }
    ParsedAddress {
        house: house_at.map(|k| flat[k].1.clone()),
        street: join_words(&street),
        locality: locality.join(" "),
        postal: postal_at.map(|k| flat[k].1.clone()),
    }
}

/// Reads the fields of an address; `None` if nothing comparable remains.
pub fn parse_address(a: &Address) -> Option<ParsedAddress> {
    let structured = !a.city.trim().is_empty() || !a.postal_code.trim().is_empty();
    let parsed = if structured {
        // Street and house number from the first line with letters.
        let line = a
            .lines
            .iter()
            .find(|l| l.chars().any(char::is_alphabetic))
            .or(a.lines.first());
        let mut p = line.map(|l| parse_free_text(l)).unwrap_or_default();
        // A number-only line ("12") before the street line is the house.
        if p.house.is_none()
            && let Some(n) = a.lines.iter().find(|l| {
                let t = tokens(l);
                t.len() == 1 && is_number_token(&t[0])
            })
        {
            p.house = tokens(n).into_iter().next();
        }
        if let Some(code) = p.postal.take() {
            // In a street line a 4–6 digit run is a house number.
            p.house.get_or_insert(code);
        }
        let postal: String = fold(&a.postal_code)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        p.postal = (!postal.is_empty()).then_some(postal);
        let city = tokens(&a.city).join(" ");
        if !city.is_empty() {
            p.locality = city;
        }
        p
    } else {
        parse_free_text(&a.lines.join(", "))
    };
    let empty = parsed.house.is_none()
        && parsed.street.is_empty()
        && parsed.locality.is_empty()
        && parsed.postal.is_none();
    (!empty).then_some(parsed)
}

/// How two addresses relate, from the strongest agreement down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressLevel {
    /// Street, house number and place agree exactly.
    Same,
    /// Same house number, street within typo distance, place agrees.
    Similar,
    /// Same street and place, a house number missing on one side.
    SameStreet,
    /// Different street, same postal code.
    SamePostal,
    /// Nothing to compare (a field missing on either side).
    Unknown,
    /// Another street in the same locality (no postal code to decide).
    OtherStreet,
    /// Postal codes differ, streets unknown.
    OtherPostal,
    /// Same street and place, house numbers one keystroke apart (24 /
    /// 42, 276 / 26, 15 / 16): a typo far more often than a neighbour
    /// with the same name.
    HouseTypo,
    /// Same street and place, another house number: neighbours.
    OtherHouse,
    /// Street and place both differ.
    Different,
}

/// Street names at least this similar (Jaro–Winkler) are the same street
/// with a typo; below 0.85 different streets start to look alike.
const STREET_SAME: f64 = 0.88;
const LOCALITY_SAME: f64 = 0.88;

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Agree,
    Near,
    Differ,
    Unknown,
}

fn text_field(a: &str, b: &str, near: f64) -> Field {
    if a.is_empty() || b.is_empty() {
        Field::Unknown
    } else if a == b {
        Field::Agree
    } else if jaro_winkler(a, b) >= near {
        Field::Near
    } else {
        Field::Differ
    }
}

/// Postal codes agree, differ by one character (a typo), or differ.
fn postal_field(a: Option<&str>, b: Option<&str>) -> Field {
    match (a, b) {
        (Some(x), Some(y)) if x == y => Field::Agree,
        (Some(x), Some(y)) => {
            let substituted =
                x.len() == y.len() && x.bytes().zip(y.bytes()).filter(|(p, q)| p != q).count() == 1;
            if substituted || transposed(x, y) {
                Field::Near
            } else {
                Field::Differ
            }
        }
        _ => Field::Unknown,
    }
}

/// Whether two house numbers differ by one keystroke: a digit dropped or
/// added, two neighbouring digits swapped, or a digit replaced except the
/// last (10 / 12 are neighbours, and a mother and daughter of one name
/// may live there; 152 / 182 are a block apart, a namesake that far down
/// the same street is rarer than a typo). Letters ("12a") are left to the
/// caller's exact comparison.
fn house_typo(a: &str, b: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) || a == b {
        return false;
    }
    let (x, y) = (a.as_bytes(), b.as_bytes());
    match x.len().abs_diff(y.len()) {
        0 => {
            let last = x.len() - 1;
            let replaced = (0..x.len()).filter(|&i| x[i] != y[i]).collect::<Vec<_>>();
            (replaced.len() == 1 && replaced[0] != last) || transposed(a, b)
        }
        1 => {
            // One digit dropped: the longer one minus some digit is the shorter.
            let (long, short) = if x.len() > y.len() { (x, y) } else { (y, x) };
            (0..long.len()).any(|i| long[..i] == short[..i] && long[i + 1..] == short[i..])
        }
        _ => false,
    }
}

/// Compares two parsed addresses field by field.
pub fn compare_addresses(a: &ParsedAddress, b: &ParsedAddress) -> AddressLevel {
    let postal = postal_field(a.postal.as_deref(), b.postal.as_deref());
    let locality = text_field(&a.locality, &b.locality, LOCALITY_SAME);
    let street = text_field(&a.street, &b.street, STREET_SAME);
    let house = match (&a.house, &b.house) {
        (Some(x), Some(y)) if x == y => Field::Agree,
        (Some(x), Some(y))
            if x.trim_end_matches(char::is_alphabetic)
                == y.trim_end_matches(char::is_alphabetic) =>
        {
            Field::Near
        }
        (Some(_), Some(_)) => Field::Differ,
        _ => Field::Unknown,
    };
    let place_agrees = matches!(postal, Field::Agree | Field::Near)
        || matches!(locality, Field::Agree | Field::Near);
    let place_differs =
        postal == Field::Differ && locality != Field::Agree && locality != Field::Near
            || postal == Field::Unknown && locality == Field::Differ;
    match street {
        Field::Agree | Field::Near if !place_differs => match house {
            Field::Agree
                if street == Field::Agree
                    && matches!(postal, Field::Agree | Field::Unknown)
                    && matches!(locality, Field::Agree | Field::Unknown) =>
            {
                AddressLevel::Same
            }
            Field::Agree | Field::Near => AddressLevel::Similar,
            // Only one typo in the whole address: the street and postal code
            // exact ("Kirchgasse 2, 28003" / "Kirchweg 21, 28001" are two
            // places that happen to look alike).
            Field::Differ
                if street == Field::Agree
                    && postal != Field::Near
                    && a.house
                        .as_deref()
                        .zip(b.house.as_deref())
                        .is_some_and(|(x, y)| house_typo(x, y)) =>
            {
                AddressLevel::HouseTypo
            }
            Field::Differ => AddressLevel::OtherHouse,
            Field::Unknown if place_agrees => AddressLevel::SameStreet,
            Field::Unknown => AddressLevel::Unknown,
        },
        Field::Agree | Field::Near | Field::Differ if place_differs => AddressLevel::Different,
        // One postal code in two cities (codes are per country) is no place.
        Field::Differ if postal == Field::Agree && locality != Field::Differ => {
            AddressLevel::SamePostal
        }
        Field::Differ if place_agrees || postal == Field::Unknown => AddressLevel::OtherStreet,
        Field::Differ => AddressLevel::Different,
        _ => match postal {
            Field::Agree => AddressLevel::SamePostal,
            Field::Differ => AddressLevel::OtherPostal,
            _ => AddressLevel::Unknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(s: &str) -> ParsedAddress {
        parse_address(&Address::free_text(s)).unwrap_or_default()
    }

    #[test]
    fn free_text_fields() {
        let a = free("Hauptstraße 5, 10115 Berlin");
        assert_eq!(a.house.as_deref(), Some("5"));
        assert_eq!(a.street, "hauptstr");
        assert_eq!(a.locality, "berlin");
        assert_eq!(a.postal.as_deref(), Some("10115"));
        let b = free("HAUPTSTR. 5  10115 BERLIN");
        assert_eq!(b, a);
        let c = free("12a Main Street, Springfield 2600");
        assert_eq!(c.house.as_deref(), Some("12a"));
        assert_eq!(c.street, "main st");
        assert_eq!(c.locality, "springfield");
        assert_eq!(c.postal.as_deref(), Some("2600"));
        let d = free("北京市朝阳区建国路88号 100022");
        assert_eq!(d.house.as_deref(), Some("88"));
        assert_eq!(d.street, "北京市朝阳区建国路");
        assert_eq!(d.postal.as_deref(), Some("100022"));
        assert!(parse_address(&Address::free_text(" ,, ")).is_none());
    }

    #[test]
    fn structured_fields() {
        let a = Address {
            lines: vec!["Hauptstrasse 5".into()],
            city: "Berlin".into(),
            postal_code: "10115".into(),
            ..Address::default()
        };
        assert_eq!(parse_address(&a), Some(free("Hauptstraße 5, 10115 Berlin")));
        let four_digit_house = Address {
            lines: vec!["1234 Main St".into()],
            city: "Springfield".into(),
            postal_code: "2600".into(),
            ..Address::default()
        };
        let p = parse_address(&four_digit_house).unwrap_or_default();
        assert_eq!(p.house.as_deref(), Some("1234"));
        assert_eq!(p.postal.as_deref(), Some("2600"));
    }

    #[test]
    fn levels() {
        let c = |x: &str, y: &str| compare_addresses(&free(x), &free(y));
        let home = "Friedrichstraße 152, 10318 Berlin";
        assert_eq!(
            c(home, "FRIEDRICHSTR. 152 10318 BERLIN"),
            AddressLevel::Same
        );
        assert_eq!(
            c(home, "Friedrichstrase 152, 10318 Berlin"),
            AddressLevel::Similar
        );
        assert_eq!(
            c(home, "Friedrichstraße 152, 10381 Berlin"),
            AddressLevel::Similar
        );
        assert_eq!(
            c(home, "Friedrichstraße 58, 10318 Berlin"),
            AddressLevel::OtherHouse
        );
        // One keystroke: a typo rather than a neighbour.
        for typo in ["125", "15", "1552", "152 "] {
            let level = c(home, &format!("Friedrichstraße {typo}, 10318 Berlin"));
            let expected = if typo == "152 " {
                AddressLevel::Same
            } else {
                AddressLevel::HouseTypo
            };
            assert_eq!(level, expected, "{typo}");
        }
        assert_eq!(
            c(home, "Friedrichstraße 182, 10318 Berlin"),
            AddressLevel::HouseTypo
        );
        assert_eq!(
            c(home, "Friedrichstraße 153, 10318 Berlin"),
            AddressLevel::OtherHouse
        );
        assert_eq!(
            c(home, "Friedrichstraße 215, 10318 Berlin"),
            AddressLevel::OtherHouse
        );
        assert_eq!(
            c(home, "Gartenweg 9, 10318 Berlin"),
            AddressLevel::SamePostal
        );
        assert_eq!(
            c(home, "Friedrichstraße 152, 80331 München"),
            AddressLevel::Different
        );
        assert_eq!(
            c(home, "Gartenweg 9, 80331 München"),
            AddressLevel::Different
        );
        assert_eq!(
            c(home, "Friedrichstraße, 10318 Berlin"),
            AddressLevel::SameStreet
        );
    }
}
