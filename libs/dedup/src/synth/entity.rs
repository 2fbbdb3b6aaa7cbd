//! Synthetic entities and their look-alikes (hard negatives).

use super::Rng;
use super::pools::*;
use crate::Kind;
use std::collections::HashSet;

#[derive(Debug, Clone)]
pub(crate) enum NameData {
    Latin {
        first: String,
        last: String,
    },
    Chinese {
        sur: (String, String),
        given: Vec<(String, String)>,
    },
    Org {
        words: Vec<String>,
        suffix: String,
    },
    ChineseOrg {
        distinct: Vec<(String, String)>,
        industry: String,
        suffix: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Phone {
    CnMobile(String),
    CnLandline { area: String, sub: String },
    De(String),
    Us(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Address {
    pub street: String,
    pub number: u16,
    pub postal: String,
    pub city: String,
    pub chinese: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub kind: Kind,
    pub name: NameData,
    pub email: Option<String>,
    pub phone: Option<Phone>,
    pub birth: Option<(u16, u8, u8)>,
    /// Home first; some persons also have a second (work, old) address.
    pub addresses: Vec<Address>,
}

pub(crate) struct Gen {
    pub rng: Rng,
    pub used_contacts: HashSet<String>,
}

impl Gen {
    /// Draws until the value is unused. `make` gets the number of failed
    /// attempts so far (in tens) and must widen its value space with it, so
    /// that large data sets cannot exhaust a small space and loop forever.
    pub fn unique(&mut self, mut make: impl FnMut(&mut Rng, usize) -> String) -> String {
        let mut attempt = 0;
        loop {
            let v = make(&mut self.rng, attempt / 10);
            if self.used_contacts.insert(v.clone()) {
                return v;
            }
            attempt += 1;
        }
    }

    /// Names drawn with a skew (the first entries of a pool far more
    /// often), so that common names repeat by the hundred in large sets.
    pub fn latin_name(&mut self) -> NameData {
        NameData::Latin {
            first: (*self.rng.skewed(FIRST_NAMES)).to_string(),
            last: (*self.rng.skewed(LAST_NAMES)).to_string(),
        }
    }

    pub fn chinese_name(&mut self) -> NameData {
        let (h, p) = *self.rng.skewed(CN_SURNAMES);
        let n = if self.rng.chance(0.6) { 2 } else { 1 };
        let given = (0..n)
            .map(|_| {
                let (h, p) = *self.rng.skewed(CN_GIVEN);
                (h.to_string(), p.to_string())
            })
            .collect();
        NameData::Chinese {
            sur: (h.to_string(), p.to_string()),
            given,
        }
    }

    pub fn org_name(&mut self, chinese: bool) -> NameData {
        if chinese {
            let distinct = (0..2)
                .map(|_| {
                    let (h, p) = *self.rng.pick(CN_ORG_CHARS);
                    (h.to_string(), p.to_string())
                })
                .collect();
            return NameData::ChineseOrg {
                distinct,
                industry: (*self.rng.pick(CN_ORG_INDUSTRIES)).to_string(),
                suffix: (*self.rng.pick(CN_ORG_SUFFIXES)).to_string(),
            };
        }
        let syllables = 2 + self.rng.below(2);
        let mut word: String = (0..syllables)
            .map(|_| *self.rng.pick(ORG_SYLLABLES))
            .collect();
        word = capitalize(&word);
        let mut words = vec![word];
        if self.rng.chance(0.8) {
            words.push((*self.rng.pick(ORG_INDUSTRIES)).to_string());
        }
        NameData::Org {
            words,
            suffix: (*self.rng.pick(ORG_SUFFIXES)).to_string(),
        }
    }

    pub fn phone(&mut self, kind: Kind, chinese: bool) -> Phone {
        let landline = kind == Kind::Organization || self.rng.chance(0.1);
        let v = self.unique(|r, _| match (chinese, landline) {
            (true, false) => format!("cm1{}{}", 3 + r.below(7), r.digits(9)),
            (true, true) => {
                format!("cl{}|{}", r.pick(&["10", "21", "755", "571"]), r.digits(8))
            }
            (false, _) if r.chance(0.5) => format!("de15{}{}", r.below(10), r.digits(8)),
            (false, _) => format!("us{}{}", 2 + r.below(8), r.digits(9)),
        });
        match &v[..2] {
            "cm" => Phone::CnMobile(v[2..].to_string()),
            "cl" => {
                let (area, sub) = v[2..].split_once('|').unwrap_or(("10", "12345678"));
                Phone::CnLandline {
                    area: area.to_string(),
                    sub: sub.to_string(),
                }
            }
            "de" => Phone::De(v[2..].to_string()),
            _ => Phone::Us(v[2..].to_string()),
        }
    }

    pub fn address(&mut self, chinese: bool) -> Address {
        let r = &mut self.rng;
        if chinese {
            let (city, pfx) = *r.pick(CN_CITIES);
            return Address {
                street: format!("{}区{}路", r.pick(CN_DISTRICTS), r.pick(CN_ROADS)),
                number: 1 + r.below(300) as u16,
                postal: format!("{pfx}{}", r.digits(2)),
                city: city.to_string(),
                chinese: true,
            };
        }
        let (city, pfx) = *r.pick(CITIES);
        let street = if r.chance(0.5) {
            format!("{}{}", r.pick(STREET_STEMS_DE), r.pick(STREET_TYPES_DE))
        } else {
            format!("{} {}", r.pick(STREET_STEMS_EN), r.pick(STREET_TYPES_EN))
        };
        Address {
            street,
            number: 1 + r.below(200) as u16,
            postal: format!("{pfx}{}", r.digits(2)),
            city: city.to_string(),
            chinese: false,
        }
    }

    pub fn email(&mut self, name: &NameData) -> String {
        let base = match name {
            NameData::Latin { first, last } => {
                let (f, l) = (ascii_lower(first), ascii_lower(last));
                match self.rng.below(3) {
                    0 => format!("{f}.{l}"),
                    1 => format!("{f}{l}"),
                    _ => format!("{}{l}", &f[..1]),
                }
            }
            NameData::Chinese { sur, given } => {
                let g: String = given.iter().map(|(_, p)| p.as_str()).collect();
                format!("{}{g}", sur.1)
            }
            NameData::Org { words, .. } => ascii_lower(&words[0]),
            NameData::ChineseOrg { distinct, .. } => {
                distinct.iter().map(|(_, p)| p.as_str()).collect()
            }
        };
        let org = matches!(name, NameData::Org { .. } | NameData::ChineseOrg { .. });
        let chinese = matches!(name, NameData::Chinese { .. } | NameData::ChineseOrg { .. });
        self.unique(|r, widen| {
            if org {
                let tld = if chinese { "com.cn" } else { "com" };
                format!(
                    "{}@{base}{}.{tld}",
                    r.pick(&["info", "sales", "contact"]),
                    r.digits(2 + widen)
                )
            } else {
                let domain = if chinese {
                    r.pick(CN_MAIL_DOMAINS)
                } else {
                    r.pick(LATIN_MAIL_DOMAINS)
                };
                let n = 1 + r.below(3) + widen;
                format!("{base}{}@{domain}", r.digits(n))
            }
        })
    }

    /// A new entity. Persons: contacts on about half of them only (the
    /// hard case: name, birth date and address must carry the decision).
    pub fn entity(&mut self, kind: Kind, chinese: bool) -> Entity {
        let person = kind == Kind::Person;
        let name = match kind {
            Kind::Person if chinese => self.chinese_name(),
            Kind::Person => self.latin_name(),
            Kind::Organization => self.org_name(chinese),
        };
        let email = self
            .rng
            .chance(if person { 0.5 } else { 0.85 })
            .then(|| self.email(&name));
        let phone = self
            .rng
            .chance(if person { 0.5 } else { 0.9 })
            .then(|| self.phone(kind, chinese));
        let birth = (person && self.rng.chance(0.9)).then(|| self.birth());
        let mut addresses = Vec::new();
        if self.rng.chance(if person { 0.9 } else { 0.8 }) {
            addresses.push(self.address(chinese));
            if person && self.rng.chance(0.15) {
                addresses.push(self.address(chinese));
            }
        }
        Entity {
            kind,
            name,
            email,
            phone,
            birth,
            addresses,
        }
    }

    pub fn birth(&mut self) -> (u16, u8, u8) {
        (
            1940 + self.rng.below(65) as u16,
            1 + self.rng.below(12) as u8,
            1 + self.rng.below(28) as u8,
        )
    }
}

pub(crate) fn ascii_lower(s: &str) -> String {
    crate::normalize::fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

use super::render::capitalize;

/// Another given name than `first` from the pool.
fn other_first(g: &mut Gen, first: &str) -> String {
    loop {
        let f = *g.rng.pick(FIRST_NAMES);
        if f != first {
            return f.to_string();
        }
    }
}

/// Another Chinese given name than `given`.
fn other_cn_given(g: &mut Gen, given: &[(String, String)]) -> Vec<(String, String)> {
    loop {
        if let NameData::Chinese { given: other, .. } = g.chinese_name()
            && other.iter().map(|x| &x.1).ne(given.iter().map(|x| &x.1))
        {
            return other;
        }
    }
}

/// Same family name, another given name.
fn relative_name(g: &mut Gen, name: &NameData) -> NameData {
    match name {
        NameData::Latin { first, last } => NameData::Latin {
            first: other_first(g, first),
            last: last.clone(),
        },
        NameData::Chinese { sur, given } => NameData::Chinese {
            sur: sur.clone(),
            given: other_cn_given(g, given),
        },
        other => other.clone(),
    }
}

/// An address in another city (another postal code prefix).
fn elsewhere(g: &mut Gen, e: &Entity, chinese: bool) -> Address {
    loop {
        let a = g.address(chinese);
        if e.addresses.iter().all(|x| x.city != a.city) {
            return a;
        }
    }
}

/// A look-alike of `e` that is a different entity: the hard negatives.
/// Persons: a twin (same family name, address and birth date, another
/// given name), a relative (same family name and address, shared home
/// phone), a namesake born the same day in another city, a namesake of
/// the same birth year in the same city, a neighbour on the same street.
/// Firms: a branch with the same name in another city.
pub(crate) fn hard_negative(g: &mut Gen, e: &Entity) -> Entity {
    let chinese = matches!(
        e.name,
        NameData::Chinese { .. } | NameData::ChineseOrg { .. }
    );
    let mut other = g.entity(e.kind, chinese);
    if e.kind == Kind::Organization {
        other.name = e.name.clone();
        other.addresses = vec![elsewhere(g, e, chinese)];
        if let (Some(mail), Some(own)) = (&e.email, &other.email) {
            let domain = mail.split_once('@').map_or("", |(_, d)| d);
            let user = own.split_once('@').map_or("branch", |(u, _)| u);
            other.email = Some(format!("{user}.b@{domain}"));
        }
        return other;
    }
    let home = e.addresses.first().cloned();
    match g.rng.below(100) {
        // Twin.
        0..=24 => {
            other.name = relative_name(g, &e.name);
            other.birth = e.birth;
            other.addresses = e.addresses.clone();
            if g.rng.chance(0.5) {
                other.phone = e.phone.clone();
            }
        }
        // Relative (parent, sibling, spouse).
        25..=49 => {
            other.name = relative_name(g, &e.name);
            other.addresses = e.addresses.clone();
            if g.rng.chance(0.7) {
                other.phone = e.phone.clone();
            }
        }
        // Namesake born the same day elsewhere.
        50..=69 => {
            other.name = e.name.clone();
            other.birth = e.birth.or(other.birth);
            other.addresses = vec![elsewhere(g, e, chinese)];
        }
        // Namesake of the same year in the same city, another street.
        70..=84 => {
            other.name = e.name.clone();
            if let (Some((y, _, _)), Some(b)) = (e.birth, other.birth.as_mut()) {
                b.0 = y;
            }
            if let (Some(h), Some(a)) = (&home, other.addresses.first_mut()) {
                a.city.clone_from(&h.city);
                a.postal = format!(
                    "{}{}",
                    &h.postal[..h.postal.len() - 2],
                    g.rng.below(90) + 10
                );
                a.chinese = h.chinese;
            }
        }
        // Neighbour: same street and postal code, another house number;
        // half of them with the same family name.
        _ => {
            if g.rng.chance(0.5) {
                other.name = relative_name(g, &e.name);
            }
            if let Some(h) = &home {
                let mut a = h.clone();
                while a.number == h.number {
                    a.number = 1 + g.rng.below(200) as u16;
                }
                other.addresses = vec![a];
            }
        }
    }
    other
}
