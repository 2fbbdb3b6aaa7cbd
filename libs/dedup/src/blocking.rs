//! Blocking keys; the in-memory clustering scan ([`scan`], defined in the
//! `scan` module) is re-exported here.
//!
//! Instead of comparing all n² pairs, every record emits a handful of keys
//! and only records sharing a key are compared. Keys (the prefix before `:`
//! names the kind):
//!
//! | key | example | why |
//! |-----|---------|-----|
//! | `e:` normalised e-mail (strong) | `e:johndoe@gmail.com` | identical mailbox, survives case/dots/+tags |
//! | `p:` last 8 digits of the E.164 phone (strong) | `p:12345678` | survives country-code and trunk-prefix differences |
//! | `n:` sorted 3-letter prefixes of a pair of name tokens | `n:joh\|smi` | order-insensitive (swapped names), tolerant of typos after the 3rd letter; Han names emit the same key from their pinyin so 张伟 meets "Wei Zhang" |
//! | `t:` one full token + first letter of another | `t:smith\|j` | catches a typo in the *other* token, and initials ("J. Smith") |
//! | `b:` birth date + sorted initials | `b:1980-05-01\|js` | independent of name typos after the first letter and of missing contacts |
//! | `a:` postal code + sorted initials (persons) or first 2 letters / first Han character (firms) | `a:10115\|js` | same place, name typo in any later letter, no shared contact |
//! | `ah:` postal code + house number (persons) | `ah:10115\|5` | same address, names with typos anywhere |
//! | `as:` first 5 letters of the street + house number + family-name initial (persons) | `as:haupt\|5\|s` | same address with a wrong or missing postal code |
//! | `d:` birth date alone (persons) | `d:1980-05-01` | typos in the first letters of both name parts |
//! | `o:` first 8 letters of the cleaned Latin firm name | `o:acmetrad` | legal forms already stripped, spacing-insensitive |
//! | `ot:` a cleaned firm-name token of ≥ 4 letters | `ot:acme` | typo in another word; generic words form huge blocks that the cap skips |
//! | `oh:` / `oh2:` first 4 / 2 Han characters of the cleaned firm name | `oh:华信科技` | Chinese firm names put the distinctive part first |
//!
//! Name keys use the up to three longest tokens (pairs among them), so a
//! middle name or a split given name ("Wang Xiao Ming") still yields the
//! surname/given-name pair. Strong keys' oversized blocks (a switchboard
//! number on thousands of records) are scanned with a sorted-neighbourhood
//! window instead of being dropped; weak keys' oversized blocks are skipped
//! (`t:` keys, the least selective, have their own tighter cap).

use crate::score::{Config, Prepared};
use crate::{Kind, Record};

pub use crate::scan::{Cluster, PairMatch, Scan, ScanStats, clusters, scan};

const MAX_NAME_TOKENS: usize = 3;

/// How much a key can be trusted, which decides its block-size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Strength {
    /// e-mail, phone: oversized blocks are windowed, not dropped.
    Strong,
    /// name pairs, birth date, postal code, firm name: capped.
    Weak,
    /// `t:` full token + one letter: least selective, tighter cap.
    Loose,
}

pub(crate) fn strength(key: &str) -> Strength {
    if key.starts_with("e:") || key.starts_with("p:") {
        Strength::Strong
    } else if key.starts_with("t:") {
        Strength::Loose
    } else {
        Strength::Weak
    }
}

/// The up to `MAX_NAME_TOKENS` longest tokens, in their original order.
fn longest_tokens(tokens: &[String]) -> Vec<&str> {
    let mut idx: Vec<usize> = (0..tokens.len()).collect();
    idx.sort_by_key(|&i| (std::cmp::Reverse(tokens[i].chars().count()), i));
    idx.truncate(MAX_NAME_TOKENS);
    idx.sort_unstable();
    idx.into_iter().map(|i| tokens[i].as_str()).collect()
}

fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

fn person_name_keys(
    list: &[&str],
    birth: Option<&str>,
    postal: Option<&str>,
    keys: &mut Vec<String>,
) {
    if list.len() == 1 && list[0].chars().count() >= 2 {
        keys.push(format!("n:{}", list[0]));
    }
    for i in 0..list.len() {
        for j in i + 1..list.len() {
            let (x, y) = (prefix(list[i], 3), prefix(list[j], 3));
            let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
            keys.push(format!("n:{lo}|{hi}"));
            for (full, other) in [(list[i], list[j]), (list[j], list[i])] {
                if full.chars().count() >= 2 {
                    keys.push(format!("t:{full}|{}", prefix(other, 1)));
                }
            }
        }
    }
    let mut initials: Vec<&str> = list.iter().map(|t| prefix(t, 1)).collect();
    initials.sort_unstable();
    let initials = initials.concat();
    if let Some(date) = birth {
        keys.push(format!("b:{date}|{initials}"));
    }
    if let Some(code) = postal {
        keys.push(format!("a:{code}|{initials}"));
    }
}

/// Keys that find a person through an address or a birth date when the
/// name has typos in its first letters (see the module docs).
fn person_extra_keys(p: &Prepared, birth: Option<&str>, keys: &mut Vec<String>) {
    let family_initial = p
        .parts
        .as_ref()
        .and_then(|n| n.family.as_ref())
        .map_or("", |f| prefix(&f.key, 1));
    for a in &p.addresses {
        if let (Some(code), Some(house)) = (&a.postal, &a.house) {
            keys.push(format!("ah:{code}|{house}"));
        }
        let street: String = a.street.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(house) = &a.house
            && street.chars().count() >= 3
        {
            keys.push(format!(
                "as:{}|{house}|{family_initial}",
                prefix(&street, 5)
            ));
        }
    }
    if let Some(date) = birth {
        keys.push(format!("d:{date}"));
    }
    // Name keys from the explicit parts too, when the display name says
    // something else ("Bob Smith" with given name "Robert").
    if let Some(parts) = &p.parts {
        let list: Vec<&str> = [&parts.given, &parts.family]
            .into_iter()
            .flatten()
            .filter(|x| x.han.is_empty() && !x.key.is_empty())
            .map(|x| x.key.as_str())
            .collect();
        if list.len() == 2 {
            person_name_keys(&list, birth, p.postal_codes().next(), keys);
        }
    }
}

/// Blocking keys of a prepared record (sorted, deduplicated).
pub fn prepared_keys(p: &Prepared) -> Vec<String> {
    let mut keys = Vec::new();
    for e in &p.emails {
        keys.push(format!("e:{e}"));
    }
    for ph in &p.phones {
        let digits = ph.trim_start_matches('+');
        keys.push(format!("p:{}", &digits[digits.len().saturating_sub(8)..]));
    }
    let birth = p.birth.map(|b| b.to_string());
    let postal = p.postal_codes().next();
    if p.kind == Kind::Person {
        person_extra_keys(p, birth.as_deref(), &mut keys);
    }
    for form in &p.names {
        match p.kind {
            Kind::Person => {
                if !form.tokens.is_empty() {
                    let list = longest_tokens(&form.tokens);
                    person_name_keys(&list, birth.as_deref(), postal, &mut keys);
                }
                for list in &form.pinyin_tokens {
                    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
                    person_name_keys(&refs, birth.as_deref(), postal, &mut keys);
                }
            }
            Kind::Organization => {
                let joined = form.tokens.concat();
                if joined.chars().count() >= 3 {
                    keys.push(format!("o:{}", prefix(&joined, 8)));
                }
                for t in longest_tokens(&form.tokens) {
                    if t.chars().count() >= 4 {
                        keys.push(format!("ot:{t}"));
                    }
                }
                let han_len = form.han.chars().count();
                if han_len >= 2 {
                    keys.push(format!("oh:{}", prefix(&form.han, 4)));
                }
                if han_len >= 3 {
                    keys.push(format!("oh2:{}", prefix(&form.han, 2)));
                }
                if let Some(code) = postal {
                    let start = if form.han.is_empty() {
                        prefix(&joined, 2)
                    } else {
                        prefix(&form.han, 1)
                    };
                    if !start.is_empty() {
                        keys.push(format!("a:{code}|{start}"));
                    }
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Blocking keys of a record; see the module docs for what each key is
/// for. Records that are duplicates share at least one key with high
/// probability, while each key stays selective.
pub fn blocking_keys(r: &Record, cfg: &Config) -> Vec<String> {
    prepared_keys(&Prepared::new(r, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: u128, name: &str) -> Record {
        Record::new(id, Kind::Person, name)
    }

    fn shares_key(a: &Record, b: &Record) -> bool {
        let cfg = Config::default();
        let ka = blocking_keys(a, &cfg);
        blocking_keys(b, &cfg).iter().any(|k| ka.contains(k))
    }

    #[test]
    fn keys_for_latin_person() {
        let mut r = person(1, "John Smith");
        r.emails.push("John.Smith@Example.com".into());
        r.phones.push("+86 138 1234 5678".into());
        r.birth_date = Some("1980-05-01".into());
        let keys = blocking_keys(&r, &Config::default());
        for k in [
            "e:john.smith@example.com",
            "p:12345678",
            "n:joh|smi",
            "t:smith|j",
            "t:john|s",
            "b:1980-05-01|js",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} missing in {keys:?}");
        }
    }

    #[test]
    fn duplicates_share_keys() {
        assert!(shares_key(
            &person(1, "Smith, John"),
            &person(2, "John Smith")
        ));
        assert!(shares_key(
            &person(1, "Jonh Smith"),
            &person(2, "John Smith")
        ));
        assert!(shares_key(&person(1, "J. Smith"), &person(2, "John Smith")));
        assert!(shares_key(&person(1, "张伟"), &person(2, "Wei Zhang")));
        assert!(shares_key(
            &person(1, "王小明"),
            &person(2, "Wang Xiao Ming")
        ));
        assert!(shares_key(
            &person(1, "王小明"),
            &person(2, "Xiaoming Wang")
        ));
        let org = |id, n| Record::new(id, Kind::Organization, n);
        assert!(shares_key(
            &org(1, "Acme Trading Co., Ltd."),
            &org(2, "ACME Trading Limited")
        ));
        assert!(shares_key(
            &org(1, "华信科技有限公司"),
            &org(2, "华信科枝股份有限公司")
        ));
        let (mut a, mut b) = (person(1, "Zhang Wei"), person(2, "Zhang Wei"));
        a.phones.push("+86 138 1234 5678".into());
        b.phones.push("0086-13812345678".into());
        assert!(shares_key(&a, &b));
    }

    #[test]
    fn unrelated_records_do_not_share_keys() {
        assert!(!shares_key(
            &person(1, "John Smith"),
            &person(2, "Maria Garcia")
        ));
    }

    #[test]
    fn scan_clusters_and_stats() {
        let cfg = Config::default();
        let mut a = person(10, "John Smith");
        a.emails.push("john@example.com".into());
        let mut b = person(20, "Smith, Jonh");
        b.emails.push("JOHN@example.com".into());
        let c = person(30, "Maria Garcia");
        let result = scan(&[a, b, c], &cfg);
        assert_eq!(result.clusters.len(), 1);
        assert_eq!(result.clusters[0].members, vec![10, 20]);
        assert_eq!(result.clusters[0].matches.len(), 1);
        assert!(result.stats.comparisons >= 1);
    }

    #[test]
    fn oversized_weak_blocks_are_skipped() {
        let cfg = Config {
            max_block_weak: 3,
            max_block_loose: 3,
            ..Config::default()
        };
        let records: Vec<Record> = (0..10).map(|i| person(i, "John Smith")).collect();
        let result = scan(&records, &cfg);
        assert_eq!(result.stats.comparisons, 0);
        assert!(result.stats.skipped_blocks > 0);
    }

    #[test]
    fn oversized_strong_blocks_use_a_window() {
        let cfg = Config {
            max_block_strong: 5,
            max_block_weak: 1,
            max_block_loose: 1,
            window: 2,
            ..Config::default()
        };
        let records: Vec<Record> = (0..50)
            .map(|i| {
                let mut r = person(i, &format!("Person{i} Name{i}"));
                r.phones.push("010 1234 5678".into());
                r
            })
            .collect();
        let result = scan(&records, &cfg);
        assert_eq!(result.stats.windowed_blocks, 1);
        assert!(result.stats.comparisons <= 50 * 2);
    }
}
