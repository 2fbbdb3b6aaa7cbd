//! The realistic data generator: customers (persons with Chinese and Latin names,
//! organisations with legal suffixes), contact data in the formats people really type,
//! addresses, tags, custom fields, two years of transactions and interactions, and optionally
//! labelled near-duplicates for the dedup work. Deterministic: record `i` of seed `s` is
//! always the same, whatever else is generated, so generation can be split and resumed.
use super::data::*;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

/// SplitMix64: tiny, fast, deterministic; quality is ample for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one (seed, stream) pair.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A copy of one element of a non-empty slice.
    pub fn one<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick(items)
    }
}

/// A generated customer, with more fields than the current schema stores: the import and
/// dedup work use the rest.
#[derive(Debug, Clone)]
pub struct Record {
    pub index: u64,
    pub id: Uuid,
    pub display_name: String,
    pub legal_name: Option<String>,
    pub organization: bool,
    pub email: Option<String>,
    /// As a person would type it ("138-1234-5678", "+49 (30) 1234567").
    pub phone_raw: Option<String>,
    /// The same number in E.164.
    pub phone_e164: Option<String>,
    pub country: &'static str,
    pub city: &'static str,
    pub street: String,
    pub postal_code: String,
    pub tags: Vec<&'static str>,
    pub source_channel: &'static str,
    pub birthday: Option<NaiveDate>,
    pub credit_limit_minor: i64,
    pub currency: &'static str,
    pub created_at: DateTime<Utc>,
    /// For generated duplicates: the index of the original record of its cluster.
    pub duplicate_of: Option<u64>,
}

/// A purchase.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub order_ref: String,
    pub time: DateTime<Utc>,
    pub product: &'static str,
    pub quantity: i64,
    pub amount_minor: i64,
    pub currency: &'static str,
    pub refunded: bool,
}

/// A call, email, meeting, visit or note.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub kind: &'static str,
    pub time: DateTime<Utc>,
    pub subject: &'static str,
    pub duration_minutes: i64,
}

/// The generator of one seed.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    /// Share of records that are near-duplicates of an earlier record (0.0 to 1.0).
    pub duplicate_rate: f64,
}

/// Records are created over the two years before this instant, so a seed always gives the
/// same times.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

const TWO_YEARS_S: u64 = 2 * 365 * 24 * 3600;

impl Generator {
    /// A generator; the same seed gives the same data.
    pub fn new(seed: u64) -> Generator {
        Generator {
            seed,
            duplicate_rate: 0.0,
        }
    }

    /// Record number `index`.
    pub fn record(&self, index: u64) -> Record {
        let mut rng = Rng::new(self.seed, index);
        if index > 0 && rng.chance(self.duplicate_rate) {
            // Duplicating a duplicate is fine (chains are short); the label names the root
            // record of the cluster.
            let mut dup = self.record(rng.below(index));
            let root = dup.duplicate_of.unwrap_or(dup.index);
            mutate(&mut dup, &mut rng);
            dup.index = index;
            dup.id = uuid_v7(dup.created_at, &mut rng);
            dup.duplicate_of = Some(root);
            return dup;
        }
        self.fresh(index)
    }

    fn fresh(&self, index: u64) -> Record {
        let mut rng = Rng::new(self.seed, index.wrapping_add(1 << 40));
        let place = rng.pick(PLACES);
        let created_at = epoch() - Duration::seconds(rng.below(TWO_YEARS_S) as i64);
        let organization = rng.chance(0.35);
        let chinese = place.country == "CN" || rng.chance(0.1);
        let (display_name, legal_name, mail_local) = if organization {
            org_name(&mut rng, chinese)
        } else {
            person_name(&mut rng, chinese)
        };
        // Independent records never share an email address or a company domain, as real people
        // and firms rarely do: a generator whose small name pools made them collide would make
        // every duplicate matcher look imprecise.
        let mail_local = format!("{mail_local}{index}");
        let email = rng.chance(0.85).then(|| {
            let domain = if organization {
                format!("{}.example.com", mail_local.replace('.', ""))
            } else {
                rng.pick(MAIL_DOMAINS).to_string()
            };
            let local = if organization {
                (*rng.pick(&["info", "sales", "contact", "service"])).to_owned()
            } else {
                mail_local.clone()
            };
            format!("{local}@{domain}")
        });
        let (phone_raw, phone_e164) = if rng.chance(0.8) {
            phone(&mut rng, place)
        } else {
            (None, None)
        };
        let tags = (0..rng.below(4))
            .map(|_| *rng.pick(TAGS))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let birthday = (!organization && rng.chance(0.5)).then(|| {
            NaiveDate::from_ymd_opt(
                1950 + rng.below(55) as i32,
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
            )
            .unwrap_or_default()
        });
        Record {
            index,
            id: uuid_v7(created_at, &mut rng),
            display_name,
            legal_name,
            organization,
            email,
            phone_raw,
            phone_e164,
            country: place.country,
            city: place.city,
            street: format!("{} {}", rng.pick(place.streets), 1 + rng.below(300)),
            postal_code: format!("{}{:03}", place.postal, rng.below(1000)),
            tags,
            source_channel: rng.one(CHANNELS),
            birthday,
            credit_limit_minor: (rng.below(200) as i64) * 100_000,
            currency: place.currency,
            created_at,
            duplicate_of: None,
        }
    }

    /// The purchase history of a record (0 to 8 purchases since it was created).
    pub fn transactions(&self, r: &Record) -> Vec<Transaction> {
        let mut rng = Rng::new(self.seed, r.index.wrapping_add(2 << 40));
        let span = (epoch() - r.created_at).num_seconds().max(1) as u64;
        let mut out: Vec<_> = (0..rng.below(9))
            .map(|n| {
                let (product, price) = *rng.pick(PRODUCTS);
                let quantity = 1 + rng.below(20) as i64;
                Transaction {
                    order_ref: format!("SO-{}-{n}", r.index),
                    time: r.created_at + Duration::seconds(rng.below(span) as i64),
                    product,
                    quantity,
                    amount_minor: price * quantity,
                    currency: r.currency,
                    refunded: rng.chance(0.03),
                }
            })
            .collect();
        out.sort_by_key(|t| t.time);
        out
    }

    /// The interactions with a record (0 to 5).
    pub fn interactions(&self, r: &Record) -> Vec<Interaction> {
        let mut rng = Rng::new(self.seed, r.index.wrapping_add(3 << 40));
        let span = (epoch() - r.created_at).num_seconds().max(1) as u64;
        (0..rng.below(6))
            .map(|_| Interaction {
                kind: rng.one(&["CALL", "EMAIL", "MEETING", "VISIT", "NOTE"]),
                time: r.created_at + Duration::seconds(rng.below(span) as i64),
                subject: rng.one(SUBJECTS),
                duration_minutes: rng.below(90) as i64,
            })
            .collect()
    }
}

/// A UUIDv7 for a creation time with deterministic random bits.
fn uuid_v7(at: DateTime<Utc>, rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &bytes).into_uuid()
}

/// (display name, legal name, email local part)
fn person_name(rng: &mut Rng, chinese: bool) -> (String, Option<String>, String) {
    if chinese {
        let (family, family_py) = rng.pick(CN_SURNAMES);
        let (given, given_py) = rng.pick(CN_GIVEN);
        let suffix = if rng.chance(0.4) {
            (10 + rng.below(90)).to_string()
        } else {
            String::new()
        };
        (
            format!("{family}{given}"),
            None,
            format!("{family_py}{given_py}{suffix}"),
        )
    } else {
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let local = format!("{}.{}", ascii(first), ascii(last)).to_lowercase();
        (format!("{first} {last}"), None, local)
    }
}

fn org_name(rng: &mut Rng, chinese: bool) -> (String, Option<String>, String) {
    if chinese {
        let word = rng.pick(CN_ORG_WORDS);
        let legal = format!(
            "{}{}{}{}",
            rng.pick(CN_ORG_PLACES),
            word,
            rng.pick(CN_ORG_LINES),
            rng.pick(CN_ORG_FORMS)
        );
        let brand = format!("{}{}", word, rng.pick(CN_ORG_LINES));
        (brand, Some(legal), format!("org{}", rng.below(100_000)))
    } else {
        let word = rng.pick(ORG_WORDS);
        let line = rng.pick(ORG_LINES);
        let legal = format!("{word} {line} {}", rng.pick(ORG_FORMS));
        (
            format!("{word} {line}"),
            Some(legal),
            ascii(word).to_lowercase(),
        )
    }
}

/// Keeps ASCII letters only (for email local parts of names like "Müller").
fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ü' => 'u',
            'ö' => 'o',
            'ä' => 'a',
            'é' | 'è' => 'e',
            'á' => 'a',
            c => c,
        })
        .filter(char::is_ascii_alphabetic)
        .collect()
}

/// A phone number as typed, and its E.164 form.
fn phone(rng: &mut Rng, place: &Place) -> (Option<String>, Option<String>) {
    let (national, e164_rest) = if place.phone_cc == "86" {
        let prefix = rng.pick(&["138", "139", "150", "186", "177", "199"]);
        let a = rng.below(10_000);
        let b = rng.below(10_000);
        let nat = match rng.below(3) {
            0 => format!("{prefix}{a:04}{b:04}"),
            1 => format!("{prefix}-{a:04}-{b:04}"),
            _ => format!("{prefix} {a:04} {b:04}"),
        };
        (nat, format!("{prefix}{a:04}{b:04}"))
    } else {
        let area = 20 + rng.below(80);
        let number = 100_000 + rng.below(9_000_000);
        (format!("({area}) {number}"), format!("{area}{number}"))
    };
    let e164 = format!("+{}{}", place.phone_cc, e164_rest);
    let raw = match rng.below(3) {
        0 => e164.clone(),
        1 => format!("+{} {}", place.phone_cc, national),
        _ => format!("00{} {}", place.phone_cc, national.replace(['(', ')'], "")),
    };
    (Some(raw), Some(e164))
}

/// Turns a copy of a record into a plausible near-duplicate: typos, swapped name order,
/// missing or reformatted contact data, a dropped legal suffix.
fn mutate(r: &mut Record, rng: &mut Rng) {
    for _ in 0..1 + rng.below(2) {
        match rng.below(6) {
            0 => r.display_name = typo(&r.display_name, rng),
            1 if !r.organization => {
                if let Some((first, last)) = r.display_name.split_once(' ') {
                    r.display_name = format!("{last} {first}");
                }
            }
            2 => r.email = None,
            3 => r.email = r.email.as_ref().map(|e| e.to_uppercase()),
            4 => r.phone_raw = r.phone_e164.as_ref().map(|p| p.replacen('+', "00", 1)),
            _ => r.legal_name = None,
        }
    }
    r.created_at += Duration::days(1 + rng.below(300) as i64);
}

/// One keyboard slip: a swapped pair, a dropped or a doubled character.
fn typo(s: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_owned();
    }
    let i = 1 + rng.below(chars.len() as u64 - 2) as usize;
    match rng.below(3) {
        0 => chars.swap(i, i - 1),
        1 => {
            chars.remove(i);
        }
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let g = Generator::new(42);
        let a: Vec<_> = (0..200).map(|i| g.record(i)).collect();
        let b: Vec<_> = (0..200).map(|i| g.record(i)).collect();
        assert_eq!(
            a.iter().map(|r| r.id).collect::<Vec<_>>(),
            b.iter().map(|r| r.id).collect::<Vec<_>>()
        );
        assert_ne!(Generator::new(43).record(0).id, a[0].id);
        let orgs = a.iter().filter(|r| r.organization).count();
        assert!((40..=110).contains(&orgs), "{orgs} organisations of 200");
        assert!(
            a.iter().any(|r| r
                .display_name
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "chinese names"
        );
        assert!(a.iter().any(
            |r| r.legal_name.as_deref().is_some_and(|l| l.ends_with("GmbH")
                || l.ends_with("Ltd")
                || l.ends_with("AG")
                || l.ends_with("Inc.")
                || l.ends_with("LLC")
                || l.ends_with("S.A.")
                || l.ends_with("B.V.")
                || l.ends_with("SE"))
        ));
        let mut ids: Vec<_> = a.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200);
    }

    #[test]
    fn contact_data_parses_as_the_service_expects() {
        let g = Generator::new(7);
        for i in 0..500 {
            let r = g.record(i);
            if let Some(p) = &r.phone_e164 {
                assert_eq!(
                    crm_customers::domain::Phone::parse(p).map(|x| x.as_str().to_owned()),
                    Ok(p.clone())
                );
                let raw = r.phone_raw.as_deref().unwrap_or_default();
                assert_eq!(
                    crm_customers::domain::Phone::parse(raw).map(|x| x.as_str().to_owned()),
                    Ok(p.clone()),
                    "{raw}"
                );
            }
            if let Some(e) = &r.email {
                assert!(crm_customers::domain::Email::parse(e).is_ok(), "{e}");
            }
            assert!(crm_customers::domain::DisplayName::parse(&r.display_name).is_ok());
        }
    }

    #[test]
    fn duplicates_are_labelled_and_close() {
        let mut g = Generator::new(1);
        g.duplicate_rate = 0.3;
        let dups: Vec<_> = (0..300)
            .map(|i| g.record(i))
            .filter(|r| r.duplicate_of.is_some())
            .collect();
        assert!((50..=130).contains(&dups.len()), "{}", dups.len());
        for d in &dups {
            let original = g.record(d.duplicate_of.unwrap_or_default());
            assert!(
                original.duplicate_of.is_none(),
                "labels name the root of the cluster"
            );
            assert_eq!(d.country, original.country, "a duplicate keeps the address");
            assert_ne!(d.id, original.id);
        }
    }

    #[test]
    fn history_is_after_creation() {
        let g = Generator::new(9);
        for i in 0..100 {
            let r = g.record(i);
            for t in g.transactions(&r) {
                assert!(t.time >= r.created_at && t.amount_minor > 0);
            }
            for x in g.interactions(&r) {
                assert!(x.time >= r.created_at);
            }
        }
    }
}
