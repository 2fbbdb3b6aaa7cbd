//! Rendering synthetic entities as records, cleanly or corrupted.

use super::Rng;
use super::entity::{Address, Entity, NameData, Phone};
use crate::synth::pools::{CN_ORG_SUFFIXES, ORG_SUFFIXES};
use crate::{Kind, Record};

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One keyboard slip: swap, drop, double or replace a character (never the
/// first, which people rarely get wrong, and never on very short words).
pub(crate) fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 4 {
        return s.to_string();
    }
    let i = 1 + rng.below(c.len() - 2);
    match rng.below(4) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        2 => c.insert(i, c[i]),
        _ => c[i] = char::from(b'a' + rng.below(26) as u8),
    }
    c.into_iter().collect()
}

fn group(d: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut pos = 0;
    for s in sizes {
        let end = (pos + s).min(d.len());
        if pos < end {
            out.push(&d[pos..end]);
        }
        pos = end;
    }
    if pos < d.len() {
        out.push(&d[pos..]);
    }
    out.join(sep)
}

pub(crate) fn format_phone(rng: &mut Rng, p: &Phone, style: usize) -> String {
    match p {
        Phone::CnMobile(d) => match style % 6 {
            0 => format!("+86 {}", group(d, &[3, 4, 4], " ")),
            1 => d.clone(),
            2 => format!("0086-{}", group(d, &[3, 4, 4], "-")),
            3 => group(d, &[3, 4, 4], " "),
            4 => format!("+86-{d}"),
            _ => format!("(+86) {}", group(d, &[3, 4, 4], "-")),
        },
        Phone::CnLandline { area, sub } => match style % 5 {
            0 => format!("+86 {area} {}", group(sub, &[4, 4], " ")),
            1 => format!("0{area}-{sub}"),
            2 => format!("(0{area}) {}", group(sub, &[4, 4], " ")),
            3 => format!("0086 {area} {sub}"),
            _ => format!("+86 (0){area} {sub}"),
        },
        Phone::De(d) => match style % 4 {
            0 => format!("+49 {} {}", &d[..3], &d[3..]),
            1 => format!("0049 {} {}", &d[..3], &d[3..]),
            2 => format!("+49 (0){} {}", &d[..3], &d[3..]),
            _ => format!("+49-{}", group(d, &[3, 4, 4], "-")),
        },
        Phone::Us(d) => {
            let _ = rng;
            match style % 4 {
                0 => format!("+1 {}", group(d, &[3, 3, 4], " ")),
                1 => format!("+1 ({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
                2 => format!("001 {}", group(d, &[3, 3, 4], " ")),
                _ => format!("+1-{}", group(d, &[3, 3, 4], "-")),
            }
        }
    }
}

pub(crate) fn format_address(a: &Address, variant: bool) -> String {
    if a.chinese {
        if variant {
            format!("{}{}{}号", a.city, a.street, a.number)
        } else {
            format!("{}市{}{}号 {}", a.city, a.street, a.number, a.postal)
        }
    } else if variant {
        format!(
            "{} {}  {} {}",
            a.street.replace("straße", "str.").to_uppercase(),
            a.number,
            a.postal,
            a.city.to_uppercase()
        )
    } else {
        format!("{} {}, {} {}", a.street, a.number, a.postal, a.city)
    }
}

fn base_name(e: &Entity) -> String {
    match &e.name {
        NameData::Latin { first, last } => format!("{first} {last}"),
        NameData::Chinese { sur, given } => {
            let g: String = given.iter().map(|(h, _)| h.as_str()).collect();
            format!("{}{g}", sur.0)
        }
        NameData::Org { words, suffix } => format!("{} {suffix}", words.join(" ")),
        NameData::ChineseOrg {
            distinct,
            industry,
            suffix,
        } => {
            let d: String = distinct.iter().map(|(h, _)| h.as_str()).collect();
            format!("{d}{industry}{suffix}")
        }
    }
}

pub(crate) fn date(b: (u16, u8, u8)) -> String {
    format!("{:04}-{:02}-{:02}", b.0, b.1, b.2)
}

/// The address as a structured record field (street line, city, postal
/// code).
pub(crate) fn structured(a: &Address) -> crate::Address {
    let line = if a.chinese {
        format!("{}{}号", a.street, a.number)
    } else {
        format!("{} {}", a.street, a.number)
    };
    crate::Address {
        lines: vec![line],
        city: a.city.clone(),
        region: String::new(),
        postal_code: a.postal.clone(),
        country: String::new(),
    }
}

/// Structured most of the time; old records hold one block of text.
pub(crate) fn render_address(rng: &mut Rng, a: &Address) -> crate::Address {
    if rng.chance(0.7) {
        structured(a)
    } else {
        crate::Address::free_text(format_address(a, false))
    }
}

/// Given and family name of a person entity as the name-part fields.
pub(crate) fn name_fields(name: &NameData) -> (Option<String>, Option<String>) {
    match name {
        NameData::Latin { first, last } => (Some(first.clone()), Some(last.clone())),
        NameData::Chinese { sur, given } => {
            let g: String = given.iter().map(|(h, _)| h.as_str()).collect();
            (Some(g), Some(sur.0.clone()))
        }
        _ => (None, None),
    }
}

/// The entity as first entered: persons with name-part fields most of the
/// time, or only a display name.
pub(crate) fn render(rng: &mut Rng, e: &Entity) -> Record {
    let style = rng.below(6);
    let (given_name, family_name) = if e.kind == Kind::Person && rng.chance(0.7) {
        name_fields(&e.name)
    } else {
        (None, None)
    };
    Record {
        id: 0,
        kind: e.kind,
        name: base_name(e),
        legal_name: None,
        emails: e.email.iter().cloned().collect(),
        phones: e
            .phone
            .iter()
            .map(|p| format_phone(rng, p, style))
            .collect(),
        birth_date: e.birth.map(date),
        given_name,
        family_name,
        addresses: e.addresses.iter().map(|a| render_address(rng, a)).collect(),
    }
}

#[derive(Default)]
struct Ops {
    typo: bool,
    swap: bool,
    initial: bool,
    case: bool,
    romanize: bool,
    drop_email: bool,
    email_variant: bool,
    drop_phone: bool,
    phone_format: bool,
    drop_birth: bool,
    birth_swap: bool,
    address: bool,
    extra_contact: bool,
    suffix: bool,
    legal: bool,
}

fn pick_ops(rng: &mut Rng) -> Ops {
    let mut ops = Ops {
        // Re-entered records nearly always use another phone format.
        phone_format: rng.chance(0.7),
        ..Ops::default()
    };
    for _ in 0..1 + rng.below(3) {
        match rng.below(16) {
            0 | 1 => ops.typo = true,
            2 => ops.swap = true,
            3 => ops.initial = true,
            4 => ops.case = true,
            5 | 6 => ops.romanize = true,
            7 => ops.drop_email = true,
            8 => ops.email_variant = true,
            9 => ops.drop_phone = true,
            10 => ops.drop_birth = true,
            11 => ops.birth_swap = true,
            12 => ops.address = true,
            13 => ops.extra_contact = true,
            14 => ops.suffix = true,
            _ => ops.legal = true,
        }
    }
    ops
}

fn other_suffix<'a>(rng: &mut Rng, pool: &[&'a str], current: &str) -> &'a str {
    loop {
        let s = *rng.pick(pool);
        if s != current {
            return s;
        }
    }
}

/// A duplicate of the entity, entered again with corruption (persons: see
/// the `person` module; firms: 1–3 kinds).
pub(crate) fn corrupt(rng: &mut Rng, e: &Entity) -> Record {
    if e.kind == Kind::Person {
        return super::person::corrupt_person(rng, e);
    }
    let ops = pick_ops(rng);
    let mut rec = render(rng, e);
    let mut legal = None;
    rec.name = match &e.name {
        NameData::Latin { .. } | NameData::Chinese { .. } => rec.name.clone(),
        NameData::Org { words, suffix } => {
            let mut w = words.clone();
            if ops.typo {
                w[0] = typo(rng, &w[0]);
            }
            let sfx = if ops.suffix {
                other_suffix(rng, ORG_SUFFIXES, suffix)
            } else {
                suffix
            };
            let mut name = format!("{} {sfx}", w.join(" "));
            if ops.case {
                name = name.to_uppercase();
            }
            if ops.legal {
                legal = Some(name);
                name = w.join(" ");
            }
            name
        }
        NameData::ChineseOrg {
            distinct,
            industry,
            suffix,
        } => {
            let d: String = distinct.iter().map(|(h, _)| h.as_str()).collect();
            let sfx = if ops.suffix {
                other_suffix(rng, CN_ORG_SUFFIXES, suffix)
            } else {
                suffix
            };
            let china = if ops.case || ops.swap {
                "（中国）"
            } else {
                ""
            };
            let name = format!("{d}{industry}{china}{sfx}");
            if ops.legal {
                legal = Some(name);
                format!("{d}{industry}")
            } else {
                name
            }
        }
    };
    rec.legal_name = legal;
    if ops.drop_email {
        rec.emails.clear();
    } else if ops.email_variant {
        for m in &mut rec.emails {
            *m = email_variant(rng, m);
        }
    }
    if ops.drop_phone {
        rec.phones.clear();
    } else if ops.phone_format {
        let style = rng.below(6);
        rec.phones = e
            .phone
            .iter()
            .map(|p| format_phone(rng, p, style))
            .collect();
    }
    if ops.extra_contact {
        rec.emails
            .push(format!("alt{}@example.net", rng.next_u64() % 1_000_000_000));
    }
    if ops.drop_birth {
        rec.birth_date = None;
    } else if ops.birth_swap {
        rec.birth_date = e
            .birth
            .map(|(y, m, d)| if d <= 12 { (y, d, m) } else { (y, m, d) })
            .map(date);
    }
    if ops.address {
        rec.addresses = if rng.chance(0.4) {
            Vec::new()
        } else {
            e.addresses
                .iter()
                .map(|a| crate::Address::free_text(format_address(a, true)))
                .collect()
        };
    }
    rec
}

pub(crate) fn email_variant(rng: &mut Rng, m: &str) -> String {
    let Some((user, domain)) = m.split_once('@') else {
        return m.to_string();
    };
    match domain {
        "gmail.com" => {
            let dotted: String = user
                .chars()
                .enumerate()
                .flat_map(|(i, c)| if i == 2 { vec!['.', c] } else { vec![c] })
                .collect();
            format!("{dotted}+crm@googlemail.com")
        }
        "outlook.com" | "icloud.com" => format!("{user}+shop@{domain}"),
        _ if rng.chance(0.5) => m.to_uppercase(),
        _ => format!(" {} ", capitalize(m)),
    }
}
