//! Birth-date comparison for [`compare`](crate::compare).
//!
//! Entry errors are not all alike. A day and month written the other way
//! round, or two neighbouring digits swapped (1985 / 1958), turns a date
//! into one specific other date: a namesake born exactly there is about as
//! unlikely as one born on the same day, so such a slip agrees nearly as
//! strongly as an exact date. A single digit replaced has some 30
//! neighbours per date, so among common names a namesake one substitution
//! away is ordinary, and it agrees only weakly.

use crate::normalize::BirthDate;
use crate::score::Reason;

const W_BIRTH_SAME: f64 = 3.0;
/// Day and month swapped, two adjacent digits transposed.
const W_BIRTH_SLIP: f64 = 2.0;
/// One digit replaced.
const W_BIRTH_SIMILAR: f64 = 1.0;
/// Two typos apart (or day/month swapped plus a typo): duplicates entered
/// carelessly more often than other people, but not by much.
const W_BIRTH_NEAR: f64 = -1.5;
/// A different date cancels an exact family name or most of a full name
/// (namesakes), and a shared e-mail or home then counts as a household's
/// unless the full name agrees. Not by more: the full name at the same
/// house (street typo and all) still makes a duplicate whose date was
/// entered wrongly beyond recognition, while namesakes elsewhere or without
/// an address stay apart (another address counts against on its own).
const W_BIRTH_DIFFERENT: f64 = -2.0;

/// How two birth dates compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BirthMatch {
    pub reason: Reason,
    pub weight: f64,
    /// Identifies the customer together with an agreeing full name: the
    /// same date, or one slip (swap, transposition) away from it.
    pub identifies_with_name: bool,
}

/// Digits of YYYYMMDD, without allocating.
fn digits(d: BirthDate) -> [u32; 8] {
    let v = u32::from(d.year) * 10_000 + u32::from(d.month) * 100 + u32::from(d.day);
    let mut out = [0u32; 8];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = (v / 10u32.pow(7 - i as u32)) % 10;
    }
    out
}

/// Typos between two digit strings: (substitutions, adjacent
/// transpositions), a transposition counting once.
fn typos(x: [u32; 8], y: [u32; 8]) -> (usize, usize) {
    let (mut replaced, mut transposed) = (0, 0);
    let mut i = 0;
    while i < 8 {
        if x[i] != y[i] {
            if i + 1 < 8 && x[i] == y[i + 1] && x[i + 1] == y[i] && x[i + 1] != y[i + 1] {
                i += 1;
                transposed += 1;
            } else {
                replaced += 1;
            }
        }
        i += 1;
    }
    (replaced, transposed)
}

pub(crate) fn compare_birth(a: BirthDate, b: BirthDate) -> BirthMatch {
    let verdict = |reason, weight, identifies_with_name| BirthMatch {
        reason,
        weight,
        identifies_with_name,
    };
    if a == b {
        return verdict(Reason::SameBirthDate, W_BIRTH_SAME, true);
    }
    let (replaced, transposed) = typos(digits(a), digits(b));
    if (replaced, transposed) == (0, 1) {
        return verdict(Reason::SimilarBirthDate, W_BIRTH_SLIP, true);
    }
    let swapped = BirthDate {
        year: b.year,
        month: b.day,
        day: b.month,
    };
    let with_swap = if b.day <= 12 {
        let (r, t) = typos(digits(a), digits(swapped));
        if r + t == 0 {
            return verdict(Reason::SimilarBirthDate, W_BIRTH_SLIP, true);
        }
        1 + r + t
    } else {
        usize::MAX
    };
    match (replaced + transposed).min(with_swap) {
        1 => verdict(Reason::SimilarBirthDate, W_BIRTH_SIMILAR, false),
        2 => verdict(Reason::NearBirthDate, W_BIRTH_NEAR, false),
        _ => verdict(Reason::DifferentBirthDate, W_BIRTH_DIFFERENT, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::parse_birth_date;

    fn cmp(a: &str, b: &str) -> BirthMatch {
        let d = |s: &str| parse_birth_date(s).unwrap_or_else(|| panic!("{s}"));
        compare_birth(d(a), d(b))
    }

    #[test]
    fn levels() {
        let r = |a, b| cmp(a, b).reason;
        assert_eq!(r("1980-05-01", "1980-05-01"), Reason::SameBirthDate);
        assert_eq!(r("1980-05-01", "1980-01-05"), Reason::SimilarBirthDate);
        assert_eq!(r("1980-05-01", "1981-05-01"), Reason::SimilarBirthDate);
        assert_eq!(r("1980-05-01", "1975-11-23"), Reason::DifferentBirthDate);
        // Transposed digits, a swap plus a typo, two typos.
        assert_eq!(r("1985-05-01", "1958-05-01"), Reason::SimilarBirthDate);
        assert_eq!(r("1980-05-01", "1980-01-06"), Reason::NearBirthDate);
        assert_eq!(r("1980-05-01", "1981-05-11"), Reason::NearBirthDate);
    }

    #[test]
    fn slips_identify_with_the_name_substitutions_do_not() {
        // Day and month swapped, neighbouring digits swapped.
        assert!(cmp("1976-06-02", "1976-02-06").identifies_with_name);
        assert!(cmp("1985-05-01", "1958-05-01").identifies_with_name);
        assert!(cmp("1907-04-19", "1970-04-19").identifies_with_name);
        // One digit replaced: some 30 dates are that close to any date.
        let sub = cmp("1980-05-01", "1980-05-07");
        assert!(!sub.identifies_with_name);
        assert!(sub.weight < cmp("1976-06-02", "1976-02-06").weight);
        assert!(!cmp("1980-05-01", "1981-05-11").identifies_with_name);
    }
}
