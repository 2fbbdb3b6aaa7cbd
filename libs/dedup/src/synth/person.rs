//! Hard duplicates of persons: every duplicate record is the entity entered
//! again, with 1–3 corruptions drawn from the kinds real data shows. Names:
//! typos anywhere (also the first letter, sometimes two), given and family
//! name swapped, nicknames, initials, a missing given name, case and accent
//! changes, Chinese names romanised. Birth dates: a wrong digit, two digits
//! transposed, day and month swapped, missing. Addresses: street typos,
//! missing house number, postal code typo or missing, city missing,
//! address missing, only one of two addresses, structured or free text.
//! Contacts: dropped, written differently.

use super::Rng;
use super::entity::{Address, Entity, NameData};
use super::pools::NICKNAMES;
use super::render::{capitalize, date, email_variant, format_phone, render, typo};
use crate::Record;

/// An address as a duplicate renders it: any field may be missing.
struct Rendered {
    street: String,
    number: Option<u16>,
    postal: Option<String>,
    city: Option<String>,
    chinese: bool,
}

impl Rendered {
    fn of(a: &Address) -> Rendered {
        Rendered {
            street: a.street.clone(),
            number: Some(a.number),
            postal: Some(a.postal.clone()),
            city: Some(a.city.clone()),
            chinese: a.chinese,
        }
    }

    fn record(&self, rng: &mut Rng) -> crate::Address {
        let number = self.number.map(|n| n.to_string()).unwrap_or_default();
        let line = if self.chinese {
            let hao = if number.is_empty() { "" } else { "号" };
            format!("{}{number}{hao}", self.street)
        } else {
            format!("{} {number}", self.street).trim().to_string()
        };
        let (postal, city) = (
            self.postal.clone().unwrap_or_default(),
            self.city.clone().unwrap_or_default(),
        );
        if rng.chance(0.6) && !(postal.is_empty() && city.is_empty()) {
            return crate::Address {
                lines: vec![line],
                city,
                region: String::new(),
                postal_code: postal,
                country: String::new(),
            };
        }
        let text = if self.chinese {
            format!("{city}{line} {postal}")
        } else if rng.chance(0.5) {
            format!("{line}, {postal} {city}")
        } else {
            format!(
                "{}  {postal} {}",
                line.replace("straße", "str.").to_uppercase(),
                city.to_uppercase()
            )
        };
        crate::Address::free_text(text.trim())
    }
}

/// A typo that may also hit the first letter (10 %), sometimes (10 %) a
/// second one.
fn hard_typo(rng: &mut Rng, s: &str) -> String {
    let mut out = if rng.chance(0.1) && s.chars().count() >= 3 {
        let mut c: Vec<char> = s.chars().collect();
        if rng.chance(0.5) {
            c.swap(0, 1);
        } else {
            c[0] = char::from(b'A' + rng.below(26) as u8);
        }
        c.into_iter().collect()
    } else {
        typo(rng, s)
    };
    if rng.chance(0.1) {
        out = typo(rng, &out);
    }
    out
}

/// A real calendar date (the matcher's own parser decides).
fn valid(y: u16, m: u8, d: u8) -> bool {
    crate::normalize::parse_birth_date(&super::render::date((y, m, d))).is_some()
}

fn from_digits(v: &[u8; 8]) -> (u16, u8, u8) {
    let n = |r: std::ops::Range<usize>| v[r].iter().fold(0u32, |a, d| a * 10 + u32::from(*d));
    (n(0..4) as u16, n(4..6) as u8, n(6..8) as u8)
}

/// A wrong digit or two adjacent digits transposed, still a valid date.
fn date_typo(rng: &mut Rng, b: (u16, u8, u8), transpose: bool) -> (u16, u8, u8) {
    let s = format!("{:04}{:02}{:02}", b.0, b.1, b.2);
    let digits: Vec<u8> = s.bytes().map(|c| c - b'0').collect();
    for _ in 0..20 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&digits);
        // Leave the century alone: "19" → "91" is no plausible typo.
        let i = 2 + rng.below(if transpose { 5 } else { 6 });
        if transpose {
            v.swap(i, i + 1);
        } else {
            v[i] = rng.below(10) as u8;
        }
        let (y, m, d) = from_digits(&v);
        if (y, m, d) != b && valid(y, m, d) {
            return (y, m, d);
        }
    }
    b
}

fn nickname(first: &str) -> Option<&'static str> {
    NICKNAMES
        .iter()
        .find(|(full, _)| *full == first)
        .and_then(|(_, nicks)| nicks.first().copied())
}

/// A duplicate record of a person entity.
pub(crate) fn corrupt_person(rng: &mut Rng, e: &Entity) -> Record {
    let mut rec = render(rng, e);
    let chinese = matches!(e.name, NameData::Chinese { .. });
    let (mut given, mut family, py_given, py_family) = match &e.name {
        NameData::Latin { first, last } => {
            (first.clone(), last.clone(), String::new(), String::new())
        }
        NameData::Chinese { sur, given } => (
            given.iter().map(|(h, _)| h.as_str()).collect(),
            sur.0.clone(),
            capitalize(&given.iter().map(|(_, p)| p.as_str()).collect::<String>()),
            capitalize(&sur.1),
        ),
        _ => return rec,
    };
    let mut addresses: Vec<Rendered> = e.addresses.iter().map(Rendered::of).collect();
    let mut birth = e.birth;
    let (mut swapped, mut no_given, mut case) = (false, false, None);
    let romanize = |given: &mut String, family: &mut String| {
        if chinese && given.chars().any(crate::names::is_han) {
            given.clone_from(&py_given);
            family.clone_from(&py_family);
        }
    };
    // 1–3 different corruptions (the same one twice would pile typos on
    // one short name beyond what people do).
    let mut done = [false; 22];
    for _ in 0..1 + rng.below(3) {
        let op = rng.below(22);
        if std::mem::replace(&mut done[op], true) {
            continue;
        }
        match op {
            0 | 1 => {
                romanize(&mut given, &mut family);
                given = hard_typo(rng, &given);
            }
            2 | 3 => {
                romanize(&mut given, &mut family);
                family = hard_typo(rng, &family);
            }
            4 => swapped = true,
            5 => match nickname(&given) {
                Some(n) => given = n.to_string(),
                None => given = typo(rng, &given),
            },
            6 if !chinese => given = format!("{}.", given.chars().next().unwrap_or('X')),
            7 => no_given = true,
            8 => birth = birth.map(|b| date_typo(rng, b, false)),
            9 => birth = birth.map(|(y, m, d)| if d <= 12 { (y, d, m) } else { (y, m, d) }),
            10 => birth = None,
            11 => birth = birth.map(|b| date_typo(rng, b, true)),
            12 => {
                if let Some(a) = addresses.first_mut()
                    && !a.chinese
                {
                    a.street = hard_typo(rng, &a.street);
                }
            }
            13 => addresses.iter_mut().for_each(|a| a.number = None),
            14 => {
                if let Some(p) = addresses.first_mut().and_then(|a| a.postal.as_mut()) {
                    let i = 1 + rng.below(p.len() - 1);
                    let digit = char::from(b'0' + rng.below(10) as u8);
                    p.replace_range(i..=i, &digit.to_string());
                }
            }
            15 => addresses.iter_mut().for_each(|a| {
                if rng.chance(0.5) {
                    a.postal = None;
                } else {
                    a.city = None;
                }
            }),
            16 => addresses.clear(),
            17 => {
                if rng.chance(0.6) {
                    rec.emails.clear();
                } else {
                    rec.emails = rec.emails.iter().map(|m| email_variant(rng, m)).collect();
                }
            }
            18 => rec.phones.clear(),
            19 => case = Some(rng.below(3)),
            20 => romanize(&mut given, &mut family),
            _ => {
                if addresses.len() > 1 {
                    addresses.remove(0);
                } else if let Some(c) = addresses.first_mut().and_then(|a| a.city.as_mut()) {
                    *c = typo(rng, c);
                }
            }
        }
    }
    if rng.chance(0.7)
        && let Some(p) = &e.phone
    {
        let style = rng.below(6);
        if !rec.phones.is_empty() {
            rec.phones = vec![format_phone(rng, p, style)];
        }
    }
    let han = given
        .chars()
        .chain(family.chars())
        .any(crate::names::is_han);
    let fix_case = |s: String| match case {
        Some(0) => s.to_uppercase(),
        Some(1) => s.to_lowercase(),
        Some(_) => crate::normalize::fold(&s),
        None => s,
    };
    // A dropped given name leaves the family name, swapped or not.
    let swapped = swapped && !no_given;
    let (g, f) = if swapped {
        (family.clone(), given.clone())
    } else {
        (given.clone(), family.clone())
    };
    rec.name = fix_case(if no_given {
        f.clone()
    } else if han {
        // Han names are written surname first; a swap is a Latin habit.
        format!("{family}{given}")
    } else if swapped && rng.chance(0.5) {
        format!("{family}, {given}")
    } else if chinese && rng.chance(0.5) {
        format!("{} {}", family.to_uppercase(), given)
    } else {
        format!("{g} {f}")
    });
    if rec.given_name.is_some() || rec.family_name.is_some() {
        rec.given_name = (!no_given).then(|| fix_case(g));
        rec.family_name = Some(fix_case(f));
    }
    rec.birth_date = birth.map(date);
    rec.addresses = addresses.iter().map(|a| a.record(rng)).collect();
    rec
}
