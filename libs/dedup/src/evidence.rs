//! Evidence from contact data and addresses for [`compare`](crate::compare):
//! agreeing and conflicting e-mails, phones and addresses, and whether an
//! agreement *identifies* a customer. A name, a postal code or a legal name
//! alone does not: common names repeat by the thousand in a large CRM.

use crate::names::{fnv1a, is_han};
use crate::normalize::{NormalizedAddress, email_domain, is_free_mail_domain};
use crate::score::{Prepared, Reason};
use crate::similarity::jaro_winkler;

/// One shared contact (e-mail or phone) alone lifts the score to ≈0.92.
const W_CONTACT_ONE: f64 = 5.5;
/// Both shared: only slightly more, since a household or a company often
/// shares both, and a clearly different name must still be able to veto.
const W_CONTACT_BOTH: f64 = 7.5;
const W_EMAIL_DOMAIN: f64 = 1.0;
/// People change mailbox and phone, so one differing contact is mild
/// evidence against; both differing (while both sides have both) more.
const W_EMAIL_DIFFERENT: f64 = -1.0;
const W_PHONE_DIFFERENT: f64 = -1.0;
const W_CONTACTS_ALL_DIFFERENT: f64 = -1.0;
/// Firms rarely change their domain: two company domains that differ
/// usually mean two companies.
const W_DOMAIN_DIFFERENT: f64 = -2.0;
/// Same street address with a house number: a strong identifier of a
/// person or firm together with an agreeing name...
const W_ADDRESS_SAME: f64 = 4.0;
const W_ADDRESS_SIMILAR: f64 = 3.0;
/// ...but only of a household when the names disagree (relatives, flat
/// mates, firms sharing an office), so then it weighs less.
const W_HOUSEHOLD_SAME: f64 = 2.0;
const W_HOUSEHOLD_SIMILAR: f64 = 1.5;
/// Same or similar address text without house numbers on both sides
/// (e.g. only postal code and city): little more than the postal code.
const W_ADDRESS_AREA: f64 = 1.0;
const W_POSTAL_SAME: f64 = 0.7;
/// Persons move; a different postal code is only mild evidence against.
const W_POSTAL_DIFFERENT_PERSON: f64 = -0.5;
/// Same firm name at another site is a branch, not a duplicate.
const W_POSTAL_DIFFERENT_ORG: f64 = -1.5;
/// Neighbours: same street, another house number.
const W_HOUSE_DIFFERENT_PERSON: f64 = -1.0;
const W_HOUSE_DIFFERENT_ORG: f64 = -1.5;

/// Running sum of the evidence about a pair.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// Sum of all weights (log-odds) except the prior.
    pub evidence: f64,
    /// Final log-odds (prior, common-name discount and cap applied).
    pub log_odds: f64,
    /// Whether something other than names agrees in an identifying way.
    pub identifying: bool,
    /// Collected only when `explain` is set: most pairs a scan compares
    /// score below `possible`, and their reasons are never looked at.
    pub reasons: Vec<Reason>,
    pub explain: bool,
}

impl Tally {
    pub fn new(explain: bool) -> Tally {
        Tally {
            reasons: if explain {
                Vec::with_capacity(8)
            } else {
                Vec::new()
            },
            explain,
            ..Tally::default()
        }
    }

    /// Records a reason (when explaining) without weight.
    pub fn note(&mut self, reason: Reason) {
        if self.explain {
            self.reasons.push(reason);
        }
    }

    pub fn add(&mut self, reason: Reason, weight: f64) {
        self.note(reason);
        self.evidence += weight;
    }

    fn identify(&mut self, reason: Reason, weight: f64) {
        self.identifying = true;
        self.add(reason, weight);
    }
}

/// Whether two ascending slices share an element.
fn shares_sorted<T: Ord>(a: &[T], b: &[T]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Jaccard similarity of two ascending, deduplicated slices.
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Sorted, deduplicated hashes of the tokens of
/// [`address_tokens`](crate::normalize::address_tokens), computed without
/// allocating a string per token.
pub fn address_token_hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        let bounds: Vec<usize> = tok
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(tok.len()))
            .collect();
        if bounds.len() > 3 && tok.chars().any(is_han) {
            for w in bounds.windows(3) {
                out.push(fnv1a(&tok[w[0]..w[2]]));
            }
        } else {
            out.push(fnv1a(tok));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// House numbers of a normalised address: runs of 1–4 digits other than the
/// postal code ("Hauptstraße 5, 10115 Berlin" → 5, "建国路88号 100022" →
/// 88), sorted and deduplicated.
pub fn house_numbers(a: &NormalizedAddress) -> Vec<u32> {
    let mut out = Vec::new();
    let bytes = a.text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &a.text[start..i];
        if run.len() <= 4
            && a.postal_code.as_deref() != Some(run)
            && let Ok(n) = run.parse()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn business_domains(p: &Prepared) -> impl Iterator<Item = &str> {
    p.emails
        .iter()
        .filter_map(|e| email_domain(e))
        .filter(|d| !is_free_mail_domain(d))
}

/// The last 8 digits, as in the phone blocking key: two numbers with the
/// same tail are not counted as a conflict even if their country codes
/// were read differently.
fn phone_tail(p: &str) -> &str {
    &p[p.len().saturating_sub(8)..]
}

/// E-mail and phone evidence (and, for organisations, company domains).
pub(crate) fn contact_evidence(a: &Prepared, b: &Prepared, org: bool, t: &mut Tally) {
    let same_email = a.emails.iter().any(|x| b.emails.binary_search(x).is_ok());
    let same_phone = a.phones.iter().any(|x| b.phones.binary_search(x).is_ok());
    if same_email {
        t.note(Reason::SameEmail);
    }
    if same_phone {
        t.note(Reason::SamePhone);
    }
    t.evidence += match (same_email, same_phone) {
        (true, true) => W_CONTACT_BOTH,
        (true, false) | (false, true) => W_CONTACT_ONE,
        (false, false) => 0.0,
    };
    t.identifying |= same_email || same_phone;

    let mut email_conflict = !same_email && !a.emails.is_empty() && !b.emails.is_empty();
    let phone_conflict = !same_phone
        && !a.phones.is_empty()
        && !b.phones.is_empty()
        && !a
            .phones
            .iter()
            .any(|x| b.phones.iter().any(|y| phone_tail(x) == phone_tail(y)));
    if org && !same_email {
        if business_domains(a).any(|d| business_domains(b).any(|x| x == d)) {
            t.identify(Reason::SameEmailDomain, W_EMAIL_DOMAIN);
            email_conflict = false;
        } else if email_conflict
            && business_domains(a).next().is_some()
            && business_domains(b).next().is_some()
        {
            t.add(Reason::DifferentEmailDomain, W_DOMAIN_DIFFERENT);
        } else if email_conflict {
            t.add(Reason::DifferentEmail, W_EMAIL_DIFFERENT);
        }
    } else if email_conflict {
        t.add(Reason::DifferentEmail, W_EMAIL_DIFFERENT);
    }
    if phone_conflict {
        t.add(Reason::DifferentPhone, W_PHONE_DIFFERENT);
        if email_conflict {
            t.evidence += W_CONTACTS_ALL_DIFFERENT;
        }
    }
}

/// Address evidence: same or similar street address (identifying when
/// house numbers are present and agree), same postal code, or a conflict
/// (another postal code, another house number). `names_agree`: whether
/// the names are evidence for (not against) a match.
pub(crate) fn address_evidence(
    a: &Prepared,
    b: &Prepared,
    org: bool,
    names_agree: bool,
    t: &mut Tally,
) {
    let (Some(x), Some(y)) = (&a.address, &b.address) else {
        return;
    };
    let numbered = !a.house_numbers.is_empty() && !b.house_numbers.is_empty();
    let numbers_agree = numbered && shares_sorted(&a.house_numbers, &b.house_numbers);
    let (w_same, w_similar) = if names_agree {
        (W_ADDRESS_SAME, W_ADDRESS_SIMILAR)
    } else {
        (W_HOUSEHOLD_SAME, W_HOUSEHOLD_SIMILAR)
    };
    if x.text == y.text {
        if numbered {
            t.identify(Reason::SameAddress, w_same);
        } else {
            t.add(Reason::SameAddress, W_ADDRESS_AREA);
        }
        return;
    }
    let postal_same = x.postal_code.is_some() && x.postal_code == y.postal_code;
    if x.postal_code.is_some() && y.postal_code.is_some() && !postal_same {
        let w = if org {
            W_POSTAL_DIFFERENT_ORG
        } else {
            W_POSTAL_DIFFERENT_PERSON
        };
        t.add(Reason::DifferentPostalCode, w);
        return;
    }
    let similar = jaccard(&a.address_hashes, &b.address_hashes) >= 0.6
        || jaro_winkler(&x.text, &y.text) >= 0.95;
    if numbered && !numbers_agree && similar {
        let w = if org {
            W_HOUSE_DIFFERENT_ORG
        } else {
            W_HOUSE_DIFFERENT_PERSON
        };
        t.add(Reason::DifferentHouseNumber, w);
    } else if similar && numbers_agree {
        t.identify(Reason::SimilarAddress, w_similar);
    } else if similar {
        t.add(Reason::SimilarAddress, W_ADDRESS_AREA);
    } else if postal_same {
        t.add(Reason::SamePostalCode, W_POSTAL_SAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{address_tokens, normalize_address};

    #[test]
    fn house_numbers_skip_the_postal_code() {
        let n = |s: &str| normalize_address(s).map(|a| house_numbers(&a));
        assert_eq!(n("Hauptstraße 5, 10115 Berlin"), Some(vec![5]));
        assert_eq!(n("北京市朝阳区建国路88号 100022"), Some(vec![88]));
        assert_eq!(n("Main St 12 Apt 3"), Some(vec![3, 12]));
        assert_eq!(n("10115 Berlin"), Some(vec![]));
    }

    #[test]
    fn token_hashes_match_tokens() {
        for text in [
            "北京市朝阳区 100022",
            "musterstrasse 12 10115 berlin",
            "ab 北京",
        ] {
            let mut expected: Vec<u64> = address_tokens(text).iter().map(|t| fnv1a(t)).collect();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(address_token_hashes(text), expected, "{text}");
        }
    }

    #[test]
    fn jaccard_merge() {
        assert_eq!(jaccard(&[1, 2], &[2, 3]), 1.0 / 3.0);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }
}
