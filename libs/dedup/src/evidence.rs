//! Evidence from contact data and addresses for [`compare`](crate::compare):
//! agreeing and conflicting e-mails, phones and addresses, and whether an
//! agreement *identifies* a customer. A name, a postal code or a legal name
//! alone does not: common names repeat by the thousand in a large CRM.

use crate::address::{AddressLevel, compare_addresses};
use crate::normalize::{email_domain, is_free_mail_domain};
use crate::score::{Prepared, Reason};

/// One shared contact (e-mail or phone) alone lifts the score to ≈0.92.
const W_CONTACT_ONE: f64 = 5.5;
/// Both shared: only slightly more, since a household or a company often
/// shares both, and a clearly different name must still be able to veto.
const W_CONTACT_BOTH: f64 = 7.5;
/// A contact shared by records whose names clearly differ (twins, spouses,
/// colleagues): a household or office phone, a family mailbox.
const W_CONTACT_HOUSEHOLD: f64 = 2.0;
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
const W_ADDRESS_SIMILAR: f64 = 3.5;
/// ...but only of a household when the names disagree (relatives, flat
/// mates, firms sharing an office), so then it weighs less.
const W_HOUSEHOLD_SAME: f64 = 2.0;
const W_HOUSEHOLD_SIMILAR: f64 = 1.5;
/// Same street and place, a house number missing on one side.
const W_SAME_STREET: f64 = 1.0;
/// Same street and place, house numbers one keystroke apart: with an
/// agreeing name a typo (neighbours rarely share a name), so nearly a
/// similar address; with names that disagree it says nothing either way.
const W_HOUSE_TYPO: f64 = 2.0;
const W_POSTAL_SAME: f64 = 0.7;
/// Persons move; a different postal code alone is mild evidence against.
const W_POSTAL_DIFFERENT_PERSON: f64 = -0.5;
/// Same firm name at another site is a branch, not a duplicate.
const W_POSTAL_DIFFERENT_ORG: f64 = -1.5;
/// Another street in the same place.
const W_STREET_DIFFERENT: f64 = -1.0;
/// Neighbours: same street, another house number.
const W_HOUSE_DIFFERENT: f64 = -1.5;
/// Street and place both differ: for a person with the same name and
/// birth date, most likely a namesake elsewhere (duplicates entered again
/// keep their address far more often than they move).
const W_ADDRESS_DIFFERENT_PERSON: f64 = -3.0;

/// Running sum of the evidence about a pair.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// Sum of all weights (log-odds) except the prior.
    pub evidence: f64,
    /// Final log-odds (prior, common-name discount and cap applied).
    pub log_odds: f64,
    /// Whether something other than names agrees in an identifying way.
    pub identifying: bool,
    /// A field clearly says "another person": another given name, or
    /// another address altogether (street and place).
    pub conflict: bool,
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
        // Not a partly similar given name: two typo variants of one name
        // ("Michalk", "Mihael") are often only that to each other.
        if matches!(
            reason,
            Reason::DifferentAddress | Reason::DifferentGivenName
        ) {
            self.conflict = true;
        }
    }

    fn identify(&mut self, reason: Reason, weight: f64) {
        self.identifying = true;
        self.add(reason, weight);
    }
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

/// Who may share a contact besides the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Nothing says these are different people: a shared contact counts.
    Nobody,
    /// Given names only partly alike (a typo or a sibling?): a shared
    /// phone may be the household's, a shared e-mail is personal.
    Phone,
    /// The names or birth dates say these are different people: any shared
    /// contact is a household's or an office's and weighs little.
    All,
}

/// E-mail and phone evidence (and, for organisations, company domains).
pub(crate) fn contact_evidence(
    a: &Prepared,
    b: &Prepared,
    org: bool,
    sharing: Sharing,
    t: &mut Tally,
) {
    let same_email = a.emails.iter().any(|x| b.emails.binary_search(x).is_ok());
    let same_phone = a.phones.iter().any(|x| b.phones.binary_search(x).is_ok());
    if same_email {
        t.note(Reason::SameEmail);
    }
    if same_phone {
        t.note(Reason::SamePhone);
    }
    let email_counts = same_email && sharing != Sharing::All;
    let phone_counts = same_phone && sharing == Sharing::Nobody;
    if (same_email || same_phone) && !email_counts && !phone_counts {
        t.add(Reason::SharedByHousehold, W_CONTACT_HOUSEHOLD);
    } else {
        t.evidence += match (email_counts, phone_counts) {
            (true, true) => W_CONTACT_BOTH,
            (true, false) | (false, true) => W_CONTACT_ONE,
            (false, false) => 0.0,
        };
        t.identifying |= email_counts || phone_counts;
    }

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

/// Weight and reason of an address comparison. `names_agree`: whether the
/// names are evidence for (not against) a match.
fn address_weight(level: AddressLevel, org: bool, names_agree: bool) -> Option<(Reason, f64)> {
    let household = !names_agree;
    Some(match level {
        AddressLevel::Same if household => (Reason::SameAddress, W_HOUSEHOLD_SAME),
        AddressLevel::Same => (Reason::SameAddress, W_ADDRESS_SAME),
        AddressLevel::Similar if household => (Reason::SimilarAddress, W_HOUSEHOLD_SIMILAR),
        AddressLevel::Similar => (Reason::SimilarAddress, W_ADDRESS_SIMILAR),
        AddressLevel::SameStreet => (Reason::SameStreet, W_SAME_STREET),
        AddressLevel::SamePostal => (Reason::SamePostalCode, W_POSTAL_SAME),
        AddressLevel::Unknown => return None,
        AddressLevel::OtherStreet => (Reason::DifferentStreet, W_STREET_DIFFERENT),
        AddressLevel::OtherPostal if org => (Reason::DifferentPostalCode, W_POSTAL_DIFFERENT_ORG),
        AddressLevel::OtherPostal => (Reason::DifferentPostalCode, W_POSTAL_DIFFERENT_PERSON),
        AddressLevel::HouseTypo if household => (Reason::SimilarHouseNumber, 0.0),
        AddressLevel::HouseTypo => (Reason::SimilarHouseNumber, W_HOUSE_TYPO),
        AddressLevel::OtherHouse => (Reason::DifferentHouseNumber, W_HOUSE_DIFFERENT),
        // A branch of a firm: reported as before, as another postal code.
        AddressLevel::Different if org => (Reason::DifferentPostalCode, W_POSTAL_DIFFERENT_ORG),
        AddressLevel::Different => (Reason::DifferentAddress, W_ADDRESS_DIFFERENT_PERSON),
    })
}

/// Address evidence, field by field (see [`crate::address`]): the best
/// agreeing pair among the two records' addresses counts (a customer may
/// have a home and a work address). The same or a similar address with an
/// agreeing house number identifies, the same street without a house number
/// only with the full name (`full_name`); a postal code alone does not; a neighbour's house number or another place counts against.
pub(crate) fn address_evidence(
    a: &Prepared,
    b: &Prepared,
    org: bool,
    names_agree: bool,
    full_name: bool,
    t: &mut Tally,
) {
    let mut best: Option<(AddressLevel, Reason, f64)> = None;
    for x in &a.addresses {
        for y in &b.addresses {
            let level = compare_addresses(x, y);
            if let Some((r, w)) = address_weight(level, org, names_agree)
                && best.is_none_or(|(_, _, bw)| w > bw)
            {
                best = Some((level, r, w));
            }
        }
    }
    let Some((level, reason, w)) = best else {
        return;
    };
    // The same street without a house number on one side, or with one a
    // typo away, identifies only with the full name: neighbours rarely
    // share it.
    if matches!(level, AddressLevel::Same | AddressLevel::Similar)
        || (full_name && matches!(level, AddressLevel::SameStreet | AddressLevel::HouseTypo))
    {
        t.identify(reason, w);
    } else {
        t.add(reason, w);
    }
}
