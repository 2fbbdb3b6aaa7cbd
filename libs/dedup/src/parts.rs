//! Person names as parts (given name, family name), compared part by part.
//!
//! A whole-name similarity lets an identical family name average away a
//! different given name ("John Smith" / "Mary Smith" ≈ 0.7). Compared part
//! by part, a different given name is strong evidence *against* (twins,
//! siblings and spouses share the family name, address and phone), while a
//! typo, a nickname (Bill / William) or an initial is not. Given and family
//! name entered the wrong way round are matched crosswise.

use crate::names::{
    COMPOUND_SURNAMES, NameForm, parse_person_name, readings, split_han_name, surname_readings,
};
use crate::nicknames::{group_names, nickname_groups};
use crate::similarity::jaro_winkler;

/// One part of a name in comparable form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// Folded Latin tokens ("jean", "pierre").
    pub tokens: Vec<String>,
    /// Han characters, if the part is written in Chinese.
    pub han: String,
    /// `tokens` joined, or the primary pinyin of `han`: what parts in
    /// different scripts are compared by.
    pub key: String,
    /// Bit set of the nickname groups the first given-name token is in.
    pub nick: u64,
}

impl Part {
    fn latin(tokens: Vec<String>) -> Option<Part> {
        if tokens.is_empty() {
            return None;
        }
        let key = tokens.concat();
        let nick = tokens.first().map_or(0, |t| nickname_groups(t));
        Some(Part {
            tokens,
            han: String::new(),
            key,
            nick,
        })
    }

    fn han(han: String, surname: bool) -> Option<Part> {
        if han.is_empty() {
            return None;
        }
        // The first character read as a surname (曾 zeng, not ceng) when
        // the part is a family name; the rest with everyday readings.
        let first_reading = |c: char| {
            if surname {
                surname_readings(c).into_iter().next()
            } else {
                readings(c).into_iter().next()
            }
        };
        let key = match COMPOUND_SURNAMES
            .iter()
            .find(|(h, _)| surname && han.starts_with(h))
        {
            Some((h, reading)) => {
                let rest: String = han[h.len()..]
                    .chars()
                    .filter_map(|c| readings(c).into_iter().next())
                    .collect();
                format!("{reading}{rest}")
            }
            None => han
                .chars()
                .enumerate()
                .filter_map(|(i, c)| {
                    if i == 0 {
                        first_reading(c)
                    } else {
                        readings(c).into_iter().next()
                    }
                })
                .collect(),
        };
        Some(Part {
            tokens: Vec::new(),
            han,
            key,
            nick: 0,
        })
    }

    /// The first given-name token ("john" of "John Michael").
    fn first(&self) -> &str {
        self.tokens
            .first()
            .map_or(self.key.as_str(), String::as_str)
    }
}

/// Given and family name; either may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    pub given: Option<Part>,
    pub family: Option<Part>,
    /// Whether we know which part is which (explicit fields, "Family,
    /// Given", capitals, Han order) rather than guessing that the last word
    /// is the family name ("Zhang Wei" may be either way round).
    pub ordered: bool,
}

fn part_of(raw: &str, surname: bool) -> Option<Part> {
    let f = parse_person_name(raw);
    if !f.tokens.is_empty() {
        Part::latin(f.tokens)
    } else {
        Part::han(f.han, surname)
    }
}

/// Name parts from explicit fields, or else read from the display name:
/// "Family, Given"; Han names surname first; a Latin name written with the
/// family name in capitals first ("SMITH John"); otherwise the last token
/// is the family name; a single word is a family name. `None` without a
/// name.
pub fn name_parts(
    given: Option<&str>,
    family: Option<&str>,
    display: &str,
    form: Option<&NameForm>,
) -> Option<NameParts> {
    let given = given.filter(|s| !s.trim().is_empty());
    let family = family.filter(|s| !s.trim().is_empty());
    if given.is_some() || family.is_some() {
        let parts = NameParts {
            given: given.and_then(|g| part_of(g, false)),
            family: family.and_then(|f| part_of(f, true)),
            ordered: true,
        };
        return (parts.given.is_some() || parts.family.is_some()).then_some(parts);
    }
    let form = form?;
    if form.tokens.is_empty() && !form.han.is_empty() {
        let (_, given_chars) = split_han_name(&form.han);
        let given: String = given_chars.into_iter().collect();
        let sur_len = form.han.chars().count() - given.chars().count();
        let sur: String = form.han.chars().take(sur_len).collect();
        return Some(NameParts {
            given: Part::han(given, false),
            family: Part::han(sur, true),
            ordered: true,
        });
    }
    if form.tokens.len() == 1 {
        // A lone word is far more often the family name ("Garcia", "Mr
        // Smith") than a given name.
        return Some(NameParts {
            given: None,
            family: Part::latin(form.tokens.clone()),
            ordered: false,
        });
    }
    if form.tokens.is_empty() {
        return None;
    }
    if let Some((left, right)) = display.split_once(',') {
        let (f, g) = (
            parse_person_name(left).tokens,
            parse_person_name(right).tokens,
        );
        if !f.is_empty() && !g.is_empty() {
            return Some(NameParts {
                given: Part::latin(g),
                family: Part::latin(f),
                ordered: true,
            });
        }
    }
    let mut tokens = form.tokens.clone();
    let first_raw = display
        .split_whitespace()
        .find(|w| w.chars().any(char::is_alphabetic));
    let capitals_first = first_raw.is_some_and(|w| {
        w.chars().filter(|c| c.is_alphabetic()).count() > 1
            && w.chars().all(|c| !c.is_lowercase())
            && display.chars().any(char::is_lowercase)
    });
    let family = if capitals_first {
        tokens.remove(0)
    } else {
        tokens.pop().unwrap_or_default()
    };
    Some(NameParts {
        given: Part::latin(tokens),
        family: Part::latin(vec![family]),
        ordered: capitals_first,
    })
}

/// How well two name parts agree, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartLevel {
    Exact,
    /// Known nickname of the other (given names only).
    Nickname,
    /// A typo or transposition; Han homophones.
    Typo,
    /// One side is an initial of the other (given names only).
    Initial,
    /// Somewhat alike (Jaro–Winkler 0.75–0.88): ambiguous.
    Close,
    Different,
}

/// Jaro–Winkler at or above which two parts differ only by a typo.
const TYPO: f64 = 0.88;
const CLOSE: f64 = 0.75;

/// Compares two parts; `given` enables nicknames, initials and matching
/// on the first given-name token (a middle name may be missing).
pub fn compare_part(a: &Part, b: &Part, given: bool) -> PartLevel {
    if !a.han.is_empty() && !b.han.is_empty() {
        if a.han == b.han {
            return PartLevel::Exact;
        }
        // Same reading, other characters: a homophone typed by an input
        // method, or another name that sounds the same.
        return if a.key == b.key {
            PartLevel::Typo
        } else {
            PartLevel::Different
        };
    }
    let han = !a.han.is_empty() || !b.han.is_empty();
    if a.key == b.key {
        return PartLevel::Exact;
    }
    if given {
        let (fa, fb) = (a.first(), b.first());
        if fa == fb && fa.chars().count() > 1 {
            return PartLevel::Exact;
        }
        if a.nick & b.nick != 0 {
            return PartLevel::Nickname;
        }
        let initial = fa.chars().count() == 1 || fb.chars().count() == 1;
        if initial && fa.chars().next() == fb.chars().next() {
            return PartLevel::Initial;
        }
        if initial {
            // "R." / "Uobert": the initial or the first letter may be the
            // typo; an initial says too little to call them two people.
            return PartLevel::Close;
        }
    }
    let s = jaro_winkler(&a.key, &b.key);
    // A nickname on one side, the full name misspelt on the other. Only
    // for names of 5+ letters: "Mary" is one typo from "Mark".
    // Short names only by a letter dropped, added or two transposed
    // ("Jhn", "Joohn", "Jakc"): a substitution turns one short name into
    // another (Mary / Mark).
    let fuzzy = |p: &Part, other: &str| {
        let len = other.chars().count();
        group_names(p.nick).any(|n| {
            if len >= 5 && n.len() >= 5 {
                typo_distance(n, other)
            } else if n.len() == len {
                n != other && transposed(n, other)
            } else {
                len >= 3 && n.len().abs_diff(len) == 1 && typo_distance(n, other)
            }
        })
    };
    if s >= TYPO || typo_distance(&a.key, &b.key) {
        PartLevel::Typo
    } else if given && (fuzzy(a, b.first()) || fuzzy(b, a.first())) {
        PartLevel::Nickname
    } else if !han && (s >= CLOSE || (given && two_slips_each(&a.key, &b.key))) {
        // Romanised Han names differ in whole syllables ("yingwei" /
        // "linwei"), so only a typo-level likeness counts there.
        PartLevel::Close
    } else {
        PartLevel::Different
    }
}

/// Whether two names are one edit apart (an insertion, deletion,
/// substitution or transposition of neighbours), or two apart when both are
/// long: Jaro–Winkler punishes an early typo in a short name ("oJhn").
fn typo_distance(a: &str, b: &str) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let shorter = x.len().min(y.len());
    let allowed = match shorter {
        0..=2 => return false,
        3..=6 => 1,
        _ => 2,
    };
    x.len().abs_diff(y.len()) <= allowed && osa_distance(&x, &y) <= allowed
}

/// Whether two long names (7+ letters: among shorter ones three edits
/// turn Daniel into Samuel) may be two typo variants of one name, each a
/// slip or two from it ("Cynthai" / "Fynyhia" from "Cynthia"): at most
/// three edits apart. Such a pair is ambiguous, not two people.
fn two_slips_each(a: &str, b: &str) -> bool {
    // Lengths first: most given names compared in a block are short or
    // of other lengths, and need no edit distance (nor its allocation).
    let (m, n) = (a.chars().count(), b.chars().count());
    if m.min(n) < 7 || m.abs_diff(n) > 1 {
        return false;
    }
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    osa_distance(&x, &y) <= 3
}

/// Whether `b` is `a` with two neighbouring characters swapped.
pub(crate) fn transposed(a: &str, b: &str) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let diff: Vec<usize> = (0..x.len().min(y.len()))
        .filter(|&i| x[i] != y[i])
        .collect();
    x.len() == y.len()
        && diff.len() == 2
        && diff[1] == diff[0] + 1
        && x[diff[0]] == y[diff[1]]
        && x[diff[1]] == y[diff[0]]
}

/// Optimal string alignment distance (Damerau–Levenshtein without
/// repeated edits of one substring).
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// Result of comparing the parts of two names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartsMatch {
    pub given: Option<PartLevel>,
    pub family: Option<PartLevel>,
    /// Given and family name matched crosswise.
    pub swapped: bool,
}

/// Log-odds weights of the part levels (m/u ratios, hand-set): an exact
/// family name is rarer among non-matches than an exact given name; a
/// clearly different given name outweighs an agreeing family name, birth
/// date and address together (twins), a different family name much less
/// (names change at marriage; spouses do not share the given name): the
/// same given name, birth date and home outweigh it.
pub fn given_weight(l: PartLevel) -> f64 {
    match l {
        PartLevel::Exact => 2.0,
        PartLevel::Nickname => 1.6,
        PartLevel::Typo => 1.2,
        PartLevel::Initial => 0.3,
        PartLevel::Close => -4.5,
        PartLevel::Different => -7.0,
    }
}

pub fn family_weight(l: PartLevel) -> f64 {
    match l {
        PartLevel::Exact => 2.5,
        PartLevel::Typo => 1.5,
        PartLevel::Nickname | PartLevel::Initial | PartLevel::Close => -1.5,
        PartLevel::Different => -2.0,
    }
}

/// Penalty for a crosswise match: usually a data-entry swap, sometimes two
/// people whose names mirror each other.
pub const W_SWAPPED: f64 = -0.3;

fn weight(m: &PartsMatch) -> f64 {
    m.given.map_or(0.0, given_weight)
        + m.family.map_or(0.0, family_weight)
        + if m.swapped { W_SWAPPED } else { 0.0 }
}

/// Compares name parts straight and crosswise and keeps the better reading.
/// `None` if no part can be compared.
pub fn compare_parts(a: &NameParts, b: &NameParts) -> Option<PartsMatch> {
    let pair = |x: &Option<Part>, y: &Option<Part>, given: bool| match (x, y) {
        (Some(x), Some(y)) => Some(compare_part(x, y, given)),
        _ => None,
    };
    let straight = PartsMatch {
        given: pair(&a.given, &b.given, true),
        family: pair(&a.family, &b.family, false),
        swapped: false,
    };
    // Crosswise, one record has its given name in the family field, but
    // which one? Each crosswise pair compares either the two given names
    // or the two family names; take the reading less favourable to a
    // match (a different given name weighs more than a different family).
    let cross = |given_first: bool| PartsMatch {
        given: if given_first {
            pair(&a.given, &b.family, true)
        } else {
            pair(&a.family, &b.given, true)
        },
        family: if given_first {
            pair(&a.family, &b.given, false)
        } else {
            pair(&a.given, &b.family, false)
        },
        swapped: true,
    };
    let (c1, c2) = (cross(true), cross(false));
    let crossed = if weight(&c1) <= weight(&c2) { c1 } else { c2 };
    let usable = |m: &PartsMatch| m.given.is_some() || m.family.is_some();
    // Crosswise only when both parts can be compared that way...
    let crossed_ok =
        crossed.given.is_some() && crossed.family.is_some() && weight(&crossed) > weight(&straight);
    if crossed_ok {
        return Some(crossed);
    }
    // ...or when one side has a lone name that matches the other's given
    // name better than its family name (fields swapped, one dropped).
    if straight.given.is_none() && straight.family.is_some() {
        let lone = PartsMatch {
            given: None,
            family: pair(&a.family, &b.given, false).or(pair(&a.given, &b.family, false)),
            swapped: true,
        };
        if lone.family.is_some() && weight(&lone) > weight(&straight) {
            return Some(lone);
        }
    }
    usable(&straight).then_some(straight)
}

/// Total log-odds weight of a parts comparison.
pub fn parts_weight(m: &PartsMatch) -> f64 {
    weight(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> NameParts {
        let form = parse_person_name(name);
        name_parts(None, None, name, Some(&form)).unwrap_or_default()
    }

    fn keys(p: &NameParts) -> (String, String) {
        let k = |x: &Option<Part>| x.as_ref().map(|p| p.key.clone()).unwrap_or_default();
        (k(&p.given), k(&p.family))
    }

    #[test]
    fn parts_from_display_names() {
        assert_eq!(keys(&parts("John Smith")), ("john".into(), "smith".into()));
        assert_eq!(keys(&parts("Smith, John")), ("john".into(), "smith".into()));
        assert_eq!(keys(&parts("SMITH John")), ("john".into(), "smith".into()));
        assert_eq!(
            keys(&parts("Jean-Pierre Müller")),
            ("jeanpierre".into(), "muller".into())
        );
        assert_eq!(keys(&parts("王小明")), ("xiaoming".into(), "wang".into()));
        assert_eq!(keys(&parts("欧阳修文")), ("xiuwen".into(), "ouyang".into()));
        assert_eq!(keys(&parts("Madonna")), (String::new(), "madonna".into()));
        assert!(name_parts(None, None, "", Some(&parse_person_name(""))).is_none());
    }

    #[test]
    fn part_levels() {
        let level = |a: &str, b: &str| {
            let (x, y) = (parts(a), parts(b));
            compare_parts(&x, &y)
        };
        let m = level("Roberrt Smith", "Bob Smith").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Nickname));
        let m = level("William Smith", "Bill Smith").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(
            (m.given, m.family),
            (Some(PartLevel::Nickname), Some(PartLevel::Exact))
        );
        let m = level("Smith, John", "Jonh Smith").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Typo));
        let m = level("John Smith", "Mary Smith").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Different));
        let m = level("J. Smith", "John Smith").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Initial));
        let m = level("Zhang Wei", "张伟").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(
            (m.given, m.family, m.swapped),
            (Some(PartLevel::Exact), Some(PartLevel::Exact), true)
        );
        let m = level("王小明", "Xiaoming Wang").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(
            (m.given, m.family, m.swapped),
            (Some(PartLevel::Exact), Some(PartLevel::Exact), false)
        );
        let m = level("张伟", "张玮").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Typo));
        let m = level("张伟", "张敏").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Different));
        // Two typo variants of Cynthia are ambiguous, not two people; two
        // short names three edits apart are.
        let m = level("Cynthai Moore", "Fynyhia Moore").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Close));
        let m = level("Daniel Moore", "Samuel Moore").unwrap_or_else(|| panic!("comparable"));
        assert_eq!(m.given, Some(PartLevel::Different));
    }

    #[test]
    fn typo_distance_counts_edits() {
        assert!(typo_distance("john", "ojhn"));
        assert!(!typo_distance("nancy", "ncny"));
        assert!(typo_distance("christopher", "chrsitohper"));
        assert!(!typo_distance("anna", "donna"));
        assert!(!typo_distance("jo", "ja"));
    }

    #[test]
    fn nickname_table_fits_the_bit_set() {
        assert_ne!(nickname_groups("liz") & nickname_groups("elizabeth"), 0);
        assert_eq!(nickname_groups("liz") & nickname_groups("robert"), 0);
    }
}
