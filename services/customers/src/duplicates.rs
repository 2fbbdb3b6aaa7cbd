//! Duplicate customers (issue 6): every customer's blocking keys (from `crm-dedup`) are kept
//! in `customer_match_keys`, so the candidates of a check are found by index, never by
//! comparing every pair; the candidates are then scored by `crm_dedup::compare`, with reasons.
//! A create, upsert or import runs the check under the request's [`Policy`].
use crate::{
    access::Reach,
    contact_points::{ContactPointRow, pairs_of},
    error::Error,
    service::Customers,
    store::{CustomerRow, Store},
};
use crm_platform::{
    auth::Principal,
    db::{Db, DbError, Tx},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Version of the key rules. Raise it when `crm_dedup::blocking_keys` changes: stored customers
/// are re-keyed at the next start ([`crate::backfill`]), which then records it in
/// `derived_versions`.
pub const KEYS_VERSION: i32 = 2;

/// Candidates looked at per check: the customers sharing the most keys. Strong keys (email,
/// phone) are looked up on their own so a common name cannot crowd them out.
const CANDIDATES: i64 = 200;

/// Customers looked at per name key (keys that identify, such as a name with a birth date,
/// hold few customers; a bare name's key can hold thousands).
const PER_WEAK_KEY: i64 = 50;

/// Customers looked at per bare name key, and namesakes at most: enough to warn of a possible
/// duplicate by name, few enough that a common name costs little.
const PER_NAME_KEY: i64 = 10;
const NAMESAKES: i64 = 20;

/// Candidates returned, best first.
const SHOWN: usize = 20;

/// Thresholds and the undo period (`[customers.duplicates]`, `CRM_CUSTOMERS__DUPLICATES__*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DuplicateConfig {
    /// Score from which a candidate is a likely duplicate (blocks under BLOCK_DUPLICATES).
    pub duplicate: f64,
    /// Score from which a candidate is worth a look.
    pub possible: f64,
    /// Days a merge can be undone.
    pub merge_undo_days: u32,
}

impl Default for DuplicateConfig {
    fn default() -> Self {
        let matcher = crm_dedup::Config::default();
        Self {
            duplicate: matcher.duplicate,
            possible: matcher.possible,
            merge_undo_days: 30,
        }
    }
}

impl DuplicateConfig {
    /// Rejects thresholds that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0 < self.possible && self.possible <= self.duplicate && self.duplicate <= 1.0) {
            return Err(format!(
                "duplicates: need 0 < possible ({}) <= duplicate ({}) <= 1",
                self.possible, self.duplicate
            ));
        }
        if self.merge_undo_days == 0 {
            return Err("duplicates: merge_undo_days must be at least 1".into());
        }
        Ok(())
    }

    /// The matcher's configuration.
    pub fn matcher(&self) -> crm_dedup::Config {
        crm_dedup::Config {
            duplicate: self.duplicate,
            possible: self.possible,
            ..crm_dedup::Config::default()
        }
    }
}

/// What a write does about likely duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Policy {
    /// Store and report the candidates.
    #[default]
    Warn,
    /// Refuse when a candidate is a likely duplicate.
    Block,
    /// Do not look.
    Allow,
}

/// An existing customer a customer may duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The existing customer.
    pub id: Uuid,
    /// Its display name.
    pub display_name: String,
    /// 0..=1.
    pub score: f64,
    /// Above the duplicate threshold (else only possible).
    pub duplicate: bool,
    /// Why, e.g. "same phone", "name 0.93 (pinyin)".
    pub reasons: Vec<String>,
}

/// The result of a check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Check {
    /// Candidates the caller reaches, best first.
    pub candidates: Vec<Candidate>,
    /// Likely duplicates outside the caller's reach: counted, never named.
    pub hidden_duplicates: usize,
}

impl Check {
    /// Whether the check finds a likely duplicate, visible or not.
    pub fn blocks(&self) -> bool {
        self.hidden_duplicates > 0 || self.candidates.iter().any(|c| c.duplicate)
    }

    /// `ErrorInfo` metadata of a blocked write: the candidates' names and, per candidate, its
    /// score and reasons.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let names: Vec<String> = self
            .candidates
            .iter()
            .filter(|c| c.duplicate)
            .map(|c| crate::domain::name_of(c.id))
            .collect();
        out.insert("candidates".into(), names.join(","));
        for c in self.candidates.iter().filter(|c| c.duplicate) {
            out.insert(
                crate::domain::name_of(c.id),
                format!("{:.2}: {}", c.score, c.reasons.join(", ")),
            );
        }
        out.insert(
            "hidden_duplicates".into(),
            self.hidden_duplicates.to_string(),
        );
        out
    }
}

/// A scored candidate: its id, display name, whether the caller reaches it, and the match.
pub(crate) type Scored = (Uuid, String, bool, crm_dedup::Match);

/// The check made of scored candidates: best first, those the caller reaches named (at most
/// [`SHOWN`]), the likely duplicates among the others counted.
pub(crate) fn check_of(mut scored: Vec<Scored>) -> Check {
    scored.sort_by(|a, b| b.3.score.total_cmp(&a.3.score).then(a.0.cmp(&b.0)));
    let mut check = Check::default();
    for (id, display_name, shown, m) in scored {
        let duplicate = m.level == crm_dedup::Level::Duplicate;
        if !shown {
            check.hidden_duplicates += usize::from(duplicate);
        } else if check.candidates.len() < SHOWN {
            check.candidates.push(Candidate {
                id,
                display_name,
                score: m.score,
                duplicate,
                reasons: m.reasons.iter().map(ToString::to_string).collect(),
            });
        }
    }
    check
}

/// The matcher's kind of a stored kind.
pub fn match_kind(kind: &str) -> crm_dedup::Kind {
    match kind {
        "ORGANIZATION" => crm_dedup::Kind::Organization,
        _ => crm_dedup::Kind::Person,
    }
}

/// The matcher's view of a customer's own fields (see [`record_with`] for its contact points).
pub fn record_of(row: &CustomerRow) -> crm_dedup::Record {
    crm_dedup::Record {
        id: row.id.as_u128(),
        kind: match_kind(&row.kind),
        name: row.display_name.clone(),
        legal_name: row.legal_name.clone(),
        emails: row.email.iter().cloned().collect(),
        phones: row.phone.iter().cloned().collect(),
        birth_date: row.birth_date.clone(),
        given_name: row.given_name.clone(),
        family_name: row.family_name.clone(),
        addresses: Vec::new(),
    }
}

/// The matcher's view of a customer with its contact points, as (kind, stored value): every
/// email, phone and postal address counts, not only the customer's own email and phone.
pub fn record_with<'a>(
    row: &CustomerRow,
    points: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> crm_dedup::Record {
    let mut r = record_of(row);
    add_points(&mut r, points);
    r
}

/// Adds contact points, as (kind, stored value), to a matcher record.
pub fn add_points<'a>(
    r: &mut crm_dedup::Record,
    points: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (kind, value) in points {
        match kind {
            "EMAIL" if !r.emails.iter().any(|e| e == value) => r.emails.push(value.to_owned()),
            "PHONE" if !r.phones.iter().any(|p| p == value) => r.phones.push(value.to_owned()),
            "ADDRESS" => {
                if let Ok(a) = serde_json::from_str::<crate::contact_points::Address>(value) {
                    r.addresses.push(match_address(a));
                }
            }
            _ => {}
        }
    }
}

/// A stored address as the matcher compares it: by its parts, or by the text as entered when
/// it has no parts (the matcher reads house number, street and postal code out of it).
fn match_address(a: crate::contact_points::Address) -> crm_dedup::Address {
    let parts = [&a.city, &a.postal_code, &a.region];
    if a.lines.iter().all(|l| l.trim().is_empty()) && parts.iter().all(|p| p.trim().is_empty()) {
        return crm_dedup::Address {
            country: a.country,
            ..crm_dedup::Address::free_text(a.as_entered)
        };
    }
    crm_dedup::Address {
        lines: a.lines,
        city: a.city,
        region: a.region,
        postal_code: a.postal_code,
        country: a.country,
    }
}

/// FNV-1a: stable across builds and platforms (std's hasher is neither promised nor keyed the
/// same), and collisions only cost a rejected candidate.
fn hash(key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

/// A customer's hashed blocking keys, by what a check does with them (each sorted, once).
#[derive(Debug, Default)]
pub struct KeyHashes {
    /// Email and phone: they identify on their own.
    pub strong: Vec<i64>,
    /// A name pinned down by a postal code or a street and house number, or name initials with
    /// a birth date.
    pub pinning: Vec<i64>,
    /// A birth date alone.
    pub dates: Vec<i64>,
    /// Bare names (of persons or firms).
    pub names: Vec<i64>,
}

impl KeyHashes {
    /// Every key once, sorted: what is stored for the customer.
    pub fn all(&self) -> Vec<i64> {
        let mut all: Vec<i64> = [&self.strong, &self.pinning, &self.dates, &self.names]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        // Two keys can hash alike.
        all.dedup();
        all
    }

    /// The keys a batch check looks up: those that pin a customer down. A name alone never makes
    /// a likely duplicate and common names' keys hold thousands of customers; a birth date alone
    /// would pull in dozens of customers for every row of a batch of 1,000.
    pub fn identifying(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self.strong.iter().chain(&self.pinning).copied().collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The hashed keys of a customer (its record with its contact points), from one computation
/// of its blocking keys.
pub fn key_hashes(record: &crm_dedup::Record, cfg: &crm_dedup::Config) -> KeyHashes {
    let mut out = KeyHashes::default();
    for k in crm_dedup::blocking_keys(record, cfg) {
        let prefix = k.split(':').next().unwrap_or_default();
        let bucket = match prefix {
            "e" | "p" => &mut out.strong,
            "b" | "a" | "ah" | "as" => &mut out.pinning,
            "d" => &mut out.dates,
            _ => &mut out.names,
        };
        bucket.push(hash(&k));
    }
    for v in [
        &mut out.strong,
        &mut out.pinning,
        &mut out.dates,
        &mut out.names,
    ] {
        v.sort_unstable();
        v.dedup();
    }
    out
}

/// Stores `keys` as (hash, customer) in `tx`, in as few statements as the bind limit allows.
pub(crate) async fn insert_keys(tx: &mut Tx, keys: &[(i64, Uuid)]) -> Result<(), DbError> {
    crm_platform::bulk::insert_rows(
        tx,
        "INSERT INTO customer_match_keys (key_hash, customer_id) VALUES ",
        " ON CONFLICT DO NOTHING",
        2,
        keys.len(),
        |i, v| v.extend([SqlValue::Int(keys[i].0), SqlValue::Uuid(keys[i].1)]),
    )
    .await
}

/// Stores the keys of customers created in `tx` (who have none yet): a plain append, binary COPY
/// on PostgreSQL. A customer's key made twice (the same value in two of its fields) is stored
/// once.
pub(crate) async fn copy_new_keys(tx: &mut Tx, mut keys: Vec<(i64, Uuid)>) -> Result<(), DbError> {
    // Sorted by hash, the index's order: the inserts walk the key index instead of jumping.
    keys.sort_unstable();
    keys.dedup();
    crm_platform::bulk::copy_rows(
        tx,
        "customer_match_keys",
        "key_hash, customer_id",
        keys.len(),
        |i, v| v.extend([SqlValue::Int(keys[i].0), SqlValue::Uuid(keys[i].1)]),
    )
    .await
}

/// Replaces a customer's keys in `tx` (after an insert, a change of its identifying fields or
/// of its contact points), reading its contact points in `tx`.
pub async fn write_keys(
    tx: &mut Tx,
    row: &CustomerRow,
    cfg: &crm_dedup::Config,
) -> Result<(), DbError> {
    let points = crate::contact_points::of_customer(tx, row.id).await?;
    let record = record_with(row, points.iter().map(ContactPointRow::pair));
    write_record_keys(tx, row.id, &record, cfg).await
}

/// Replaces the keys of customer `id` by those of `record` (which must be its record with all
/// of its contact points; a new customer has none).
pub async fn write_record_keys(
    tx: &mut Tx,
    id: Uuid,
    record: &crm_dedup::Record,
    cfg: &crm_dedup::Config,
) -> Result<(), DbError> {
    with_tx!(tx, |conn| sqlx::query(
        "DELETE FROM customer_match_keys WHERE customer_id = $1"
    )
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(drop))?;
    insert_record_keys(tx, id, record, cfg).await
}

/// Stores the keys of a customer who has none yet (a new one): no DELETE to send first.
pub async fn insert_record_keys(
    tx: &mut Tx,
    id: Uuid,
    record: &crm_dedup::Record,
    cfg: &crm_dedup::Config,
) -> Result<(), DbError> {
    // One statement for all of them: a round trip per key was a good part of a create's time.
    let keys: Vec<(i64, Uuid)> = key_hashes(record, cfg)
        .all()
        .into_iter()
        .map(|h| (h, id))
        .collect();
    insert_keys(tx, &keys).await?;
    Ok(())
}

/// Customers sharing keys with a new record, in one statement for several groups of keys: per
/// group `(hashes, per_key, limit)`, at most `per_key` customers a key, and of those the `limit`
/// sharing the most keys. Groups come in order of trust: a customer is listed once, in the
/// first group it is found in (one round trip: three were a fifth of a create's statements).
async fn sharing(db: &Db, groups: &[(&[i64], i64, i64)]) -> Result<Vec<Uuid>, DbError> {
    let keys: Vec<(usize, i64, i64)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, (hashes, per_key, _))| hashes.iter().map(move |h| (g, *h, *per_key)))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut buf = SqlBuf::new("SELECT g, customer_id, COUNT(*) AS shared FROM (");
    for (i, (g, h, per_key)) in keys.iter().enumerate() {
        if i > 0 {
            buf.push(" UNION ALL ");
        }
        buf.push(&format!(
            "SELECT {g} AS g, customer_id FROM (SELECT customer_id FROM customer_match_keys WHERE key_hash = "
        ));
        buf.push_bind(SqlValue::Int(*h));
        buf.push(" LIMIT ");
        buf.push_bind(SqlValue::Int(*per_key));
        buf.push(") AS k");
    }
    buf.push(") AS k GROUP BY g, customer_id");
    let SqlBuf { sql, binds } = buf;
    let mut rows: Vec<(i32, Uuid, i64)> = with_pool!(db, |pool| crm_platform::db::bind_values(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .fetch_all(pool)
    .await)?;
    // By group, then most keys shared first; the id breaks ties so that the same data always
    // gives the same candidates.
    rows.sort_by_key(|r| (r.0, -r.2, r.1));
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (g, (_, _, limit)) in groups.iter().enumerate() {
        let taken = rows
            .iter()
            .filter(|r| r.0 as usize == g && !seen.contains(&r.1))
            .take(*limit as usize)
            .map(|r| r.1)
            .collect::<Vec<_>>();
        seen.extend(taken.iter().copied());
        ids.extend(taken);
    }
    Ok(ids)
}

/// Pairs a reviewer marked "not a duplicate", among `ids` and `of`.
async fn not_duplicates(db: &Db, of: Uuid, ids: &[Uuid]) -> Result<HashSet<Uuid>, DbError> {
    let mut buf = SqlBuf::new(
        "SELECT customer_a, customer_b FROM duplicate_decisions WHERE decision = 'NOT_DUPLICATE' AND (customer_a = ",
    );
    buf.push_bind(SqlValue::Uuid(of));
    buf.push(" OR customer_b = ");
    buf.push_bind(SqlValue::Uuid(of));
    buf.push(") AND (customer_a IN (");
    buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
    buf.push(") OR customer_b IN (");
    buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
    buf.push("))");
    let SqlBuf { sql, binds } = buf;
    let rows: Vec<(Uuid, Uuid)> = with_pool!(db, |pool| crm_platform::db::bind_values(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(a, b)| if a == of { b } else { a })
        .collect())
}

/// Appends "AND id IN (`ids`)".
pub(crate) fn ids_in(buf: &mut SqlBuf, ids: &[Uuid]) {
    buf.push(" AND id IN (");
    buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
    buf.push(")");
}

impl Customers {
    /// The existing customers `row` may duplicate (itself and the pairs a reviewer marked "not a
    /// duplicate" excepted): those the caller reaches named, the others counted.
    pub async fn check_duplicates(
        &self,
        principal: &Principal,
        row: &CustomerRow,
    ) -> Result<Check, Error> {
        // A stored customer is checked with its contact points.
        let own = crate::contact_points::of_customers(self.store.db(), &[row.id]).await?;
        let me = record_with(row, pairs_of(&own, row.id));
        self.check_record(principal, row, me).await
    }

    /// [`Customers::check_duplicates`] of `row` as the matcher sees it (`me`): a customer about
    /// to be created has no contact points to read.
    pub(crate) async fn check_record(
        &self,
        principal: &Principal,
        row: &CustomerRow,
        me: crm_dedup::Record,
    ) -> Result<Check, Error> {
        let cfg = self.duplicates.matcher();
        let db = self.store.db();
        let keys = key_hashes(&me, &cfg);
        let pinning: Vec<i64> = keys.pinning.iter().chain(&keys.dates).copied().collect();
        // Strong keys (email, phone) on their own, so common names cannot crowd them out; then
        // the keys that pin a person down (birth date, address); then a few namesakes. Every
        // candidate is a random read of its row: reading hundreds of namesakes of a common name
        // for each create made creates slow, and a name alone never makes a likely duplicate.
        let mut ids = sharing(
            db,
            &[
                (keys.strong.as_slice(), CANDIDATES, CANDIDATES),
                (pinning.as_slice(), PER_WEAK_KEY, CANDIDATES),
                (keys.names.as_slice(), PER_NAME_KEY, NAMESAKES),
            ],
        )
        .await?;
        ids.retain(|id| *id != row.id);
        if ids.is_empty() {
            return Ok(Check::default());
        }
        let mut buf = Store::list_query(&Reach::all());
        ids_in(&mut buf, &ids);
        let rows = self.store.fetch(buf).await?;
        let theirs = crate::contact_points::of_customers(db, &ids).await?;
        // Prepared once, not once per candidate.
        let me = crm_dedup::Prepared::new(&me, &cfg);
        let mut scored: Vec<(CustomerRow, crm_dedup::Match)> = rows
            .into_iter()
            .filter_map(|other| {
                let record = record_with(&other, pairs_of(&theirs, other.id));
                let them = crm_dedup::Prepared::new(&record, &cfg);
                let m = crm_dedup::compare_prepared(&me, &them, &cfg)?;
                Some((other, m))
            })
            .collect();
        if scored.is_empty() {
            return Ok(Check::default());
        }
        let matched: Vec<Uuid> = scored.iter().map(|(r, _)| r.id).collect();
        let rejected = not_duplicates(db, row.id, &matched).await?;
        scored.retain(|(r, _)| !rejected.contains(&r.id));
        let reach = self.reach(principal, false).await?;
        // A caller who reaches everything sees every candidate: no second read.
        let visible: HashSet<Uuid> = if reach == Reach::all() {
            matched.iter().copied().collect()
        } else {
            let mut buf = Store::list_query(&reach);
            ids_in(&mut buf, &matched);
            self.store
                .fetch(buf)
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        Ok(check_of(
            scored
                .into_iter()
                .map(|(r, m)| (r.id, r.display_name, visible.contains(&r.id), m))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable() {
        // Stored hashes must not change between builds: these are FNV-1a's published values.
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325_u64 as i64);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c_u64 as i64);
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(DuplicateConfig::default().validate().is_ok());
        let bad = DuplicateConfig {
            possible: 0.9,
            duplicate: 0.8,
            ..DuplicateConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("possible"));
    }
}
