//! Duplicate scans (issue 6): every customer in the caller's scope is read once (streamed),
//! blocked and compared in memory by `crm_dedup::scan` (never all pairs), and the pairs found
//! are stored with the scan for review. Pairs a reviewer marked "not a duplicate" are left out.
use crate::{
    access::Reach,
    error::Error,
    service::{Customers, FAMILY},
};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::{DataScope, Principal},
    db::{self, Db, DbError},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use futures::TryStreamExt;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use uuid::Uuid;

/// Pairs written per INSERT (8 values each, well under either backend's bind limit).
const BATCH: usize = 500;

/// A stored scan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScanRow {
    /// UUIDv7.
    pub id: Uuid,
    /// "RUNNING", "SUCCEEDED" or "FAILED".
    pub state: String,
    /// Who started it ("users/{id}", ...).
    pub started_by: String,
    /// Customers read.
    pub customers_scanned: i64,
    /// Pairs compared.
    pub comparisons: i64,
    /// Clusters of likely duplicates.
    pub clusters: i64,
    /// Likely duplicate pairs.
    pub duplicate_pairs: i64,
    /// Possible pairs.
    pub possible_pairs: i64,
    /// Time reading.
    pub read_millis: i64,
    /// Time comparing.
    pub compare_millis: i64,
    /// Why it failed.
    pub error: String,
    /// Start.
    pub created_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, state, started_by, customers_scanned, comparisons, clusters, duplicate_pairs, \
                       possible_pairs, read_millis, compare_millis, error, created_at, finished_at";

/// A pair found by a scan (or reviewed), with the reviewers' decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// Its place in the scan's listing (0 for a pair reviewed outside a scan).
    pub position: i64,
    /// The lesser id.
    pub customer_a: Uuid,
    /// The greater id.
    pub customer_b: Uuid,
    /// Cluster number (0: a possible pair).
    pub cluster: i64,
    /// Score.
    pub score: f64,
    /// "DUPLICATE" or "POSSIBLE".
    pub level: String,
    /// Reasons.
    pub reasons: Vec<String>,
    /// "DUPLICATE", "NOT_DUPLICATE", or none yet.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Display names of a and b (filled when listed).
    pub names: (String, String),
}

type StoredPair = (
    i64,
    Uuid,
    Uuid,
    i64,
    f64,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// The pair in stored order (a < b).
fn ordered(x: Uuid, y: Uuid) -> (Uuid, Uuid) {
    if x < y { (x, y) } else { (y, x) }
}

/// Marks scans left RUNNING by a stopped process as FAILED (they never finish otherwise).
pub async fn fail_interrupted(db: &Db) -> Result<u64, DbError> {
    Ok(with_pool!(db, |pool| {
        sqlx::query(
        "UPDATE duplicate_scans SET state = 'FAILED', error = 'interrupted by a restart of the service', \
         finished_at = $1 WHERE state = 'RUNNING'"
    )
    .bind(db::now())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?)
}

async fn rejected_pairs(db: &Db) -> Result<HashSet<(Uuid, Uuid)>, DbError> {
    let rows: Vec<(Uuid, Uuid)> = with_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT customer_a, customer_b FROM duplicate_decisions WHERE decision = 'NOT_DUPLICATE'"
    )
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().collect())
}

/// The customers in `reach`, as the matcher sees them, streamed (never two copies in memory).
async fn read_records(db: &Db, reach: &Reach) -> Result<Vec<crm_dedup::Record>, DbError> {
    type Row = (
        Uuid,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut buf = SqlBuf::new(
        "SELECT id, kind, display_name, legal_name, email, phone, birth_date, given_name, family_name \
         FROM customers WHERE ",
    );
    reach.push_condition(&mut buf);
    let SqlBuf { sql, binds } = buf;
    let mut records = Vec::new();
    with_pool!(db, |pool| {
        let mut rows = db::bind_values(
            sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str())),
            &binds,
        )
        .fetch(pool);
        while let Some((id, kind, name, legal_name, email, phone, birth_date, given, family)) =
            rows.try_next().await?
        {
            records.push(crm_dedup::Record {
                id: id.as_u128(),
                kind: crate::duplicates::match_kind(&kind),
                name,
                legal_name,
                emails: email.into_iter().collect(),
                phones: phone.into_iter().collect(),
                birth_date,
                given_name: given,
                family_name: family,
                addresses: Vec::new(),
            });
        }
        Ok::<_, sqlx::Error>(())
    })?;
    // Every email, phone and address of the customers read, streamed as well.
    let at: HashMap<u128, usize> = records.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    with_pool!(db, |pool| {
        let mut points = sqlx::query_as::<_, (Uuid, String, String)>(
            "SELECT customer_id, kind, value FROM contact_points",
        )
        .fetch(pool);
        while let Some((customer, kind, value)) = points.try_next().await? {
            if let Some(i) = at.get(&customer.as_u128()) {
                crate::duplicates::add_points(&mut records[*i], [(kind.as_str(), value.as_str())]);
            }
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(records)
}

/// The scan's pairs in listing order: clusters (best first), then possible pairs.
fn pairs_of(scan: &crm_dedup::Scan, rejected: &HashSet<(Uuid, Uuid)>) -> Vec<PairRow> {
    let row = |m: &crm_dedup::PairMatch, cluster: i64| {
        let (a, b) = ordered(Uuid::from_u128(m.a), Uuid::from_u128(m.b));
        (!rejected.contains(&(a, b))).then(|| PairRow {
            position: 0,
            customer_a: a,
            customer_b: b,
            cluster,
            score: m.matched.score,
            level: match m.matched.level {
                crm_dedup::Level::Duplicate => "DUPLICATE",
                crm_dedup::Level::Possible => "POSSIBLE",
            }
            .to_owned(),
            reasons: m.matched.reasons.iter().map(ToString::to_string).collect(),
            decision: None,
            decided_by: None,
            names: Default::default(),
        })
    };
    let by_score = |x: &PairRow, y: &PairRow| y.score.total_cmp(&x.score);
    let mut clusters: Vec<Vec<PairRow>> = scan
        .clusters
        .iter()
        .map(|c| {
            let mut pairs: Vec<PairRow> = c.matches.iter().filter_map(|m| row(m, 0)).collect();
            pairs.sort_by(by_score);
            pairs
        })
        .filter(|pairs| !pairs.is_empty())
        .collect();
    clusters.sort_by(|x, y| by_score(&x[0], &y[0]));
    let mut out = Vec::new();
    for (n, pairs) in clusters.into_iter().enumerate() {
        out.extend(pairs.into_iter().map(|p| PairRow {
            cluster: n as i64 + 1,
            ..p
        }));
    }
    let mut possible: Vec<PairRow> = scan.possible.iter().filter_map(|m| row(m, 0)).collect();
    possible.sort_by(by_score);
    out.extend(possible);
    for (i, p) in out.iter_mut().enumerate() {
        p.position = i as i64 + 1;
    }
    out
}

async fn write_pairs(db: &Db, scan: Uuid, pairs: &[PairRow]) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    for chunk in pairs.chunks(BATCH) {
        let mut buf = SqlBuf::new(
            "INSERT INTO duplicate_scan_pairs (scan_id, position, customer_a, customer_b, cluster, score, \
             level, reasons) VALUES ",
        );
        for (i, p) in chunk.iter().enumerate() {
            buf.push(if i == 0 { "(" } else { ", (" });
            buf.push_binds([
                SqlValue::Uuid(scan),
                SqlValue::Int(p.position),
                SqlValue::Uuid(p.customer_a),
                SqlValue::Uuid(p.customer_b),
                SqlValue::Int(p.cluster),
                SqlValue::Float(p.score),
                SqlValue::Text(p.level.clone()),
                SqlValue::Text(serde_json::to_string(&p.reasons).unwrap_or_else(|_| "[]".into())),
            ]);
            buf.push(")");
        }
        let SqlBuf { sql, binds } = buf;
        with_tx!(tx, |conn| db::bind_values(
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(())
}

impl Customers {
    /// Starts a scan of the caller's scope in the background; returns it RUNNING.
    pub async fn start_scan(&self, principal: &Principal) -> Result<ScanRow, Error> {
        let scan = self.new_scan(principal).await?;
        let (c, p, id) = (self.clone(), principal.clone(), scan.id);
        tokio::spawn(async move {
            if let Err(e) = c.run_scan(&p, id).await {
                tracing::warn!(scan = %id, error = %e, "duplicate scan failed");
            }
        });
        Ok(scan)
    }

    /// Records a new RUNNING scan (the caller then runs it).
    pub async fn new_scan(&self, principal: &Principal) -> Result<ScanRow, Error> {
        let scan = ScanRow {
            id: Uuid::now_v7(),
            state: "RUNNING".into(),
            started_by: principal.actor(),
            customers_scanned: 0,
            comparisons: 0,
            clusters: 0,
            duplicate_pairs: 0,
            possible_pairs: 0,
            read_millis: 0,
            compare_millis: 0,
            error: String::new(),
            created_at: db::now(),
            finished_at: None,
        };
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO duplicate_scans (id, state, started_by, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(scan.id)
        .bind(&scan.state)
        .bind(&scan.started_by)
        .bind(scan.created_at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(scan)
    }

    /// Runs a RUNNING scan to its end, recording SUCCEEDED with its counts, or FAILED.
    pub async fn run_scan(&self, principal: &Principal, id: Uuid) -> Result<ScanRow, Error> {
        let outcome = self.scan_and_store(principal, id).await;
        let db = self.store.db();
        let now = db::now();
        match &outcome {
            Ok(()) => {}
            Err(e) => {
                with_pool!(db, |pool| sqlx::query(
                    "UPDATE duplicate_scans SET state = 'FAILED', error = $1, finished_at = $2 WHERE id = $3"
                )
                .bind(e.to_string())
                .bind(now)
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))
                .map_err(DbError::from)?;
            }
        }
        let scan = self
            .scan_row(id)
            .await?
            .ok_or_else(|| Error::NotFound(scan_name(id)))?;
        outcome.map(|()| scan)
    }

    async fn scan_and_store(&self, principal: &Principal, id: Uuid) -> Result<(), Error> {
        let db = self.store.db();
        let started = Instant::now();
        // The caller's own scope: a scan proposes merges, which shares do not reach.
        let records = read_records(db, &Reach::scope(principal.scope(FAMILY))).await?;
        let read_millis = started.elapsed().as_millis() as i64;
        let scanned = records.len() as i64;
        let cfg = self.duplicates.matcher();
        let started = Instant::now();
        let scan = tokio::task::spawn_blocking(move || crm_dedup::scan(&records, &cfg))
            .await
            .map_err(|e| Error::Corrupt(format!("the scan stopped: {e}")))?;
        let compare_millis = started.elapsed().as_millis() as i64;
        let pairs = pairs_of(&scan, &rejected_pairs(db).await?);
        write_pairs(db, id, &pairs).await?;
        let clusters = pairs.iter().map(|p| p.cluster).max().unwrap_or(0);
        let duplicates = pairs.iter().filter(|p| p.cluster > 0).count() as i64;
        with_pool!(db, |pool| sqlx::query(
            "UPDATE duplicate_scans SET state = 'SUCCEEDED', customers_scanned = $1, comparisons = $2, \
             clusters = $3, duplicate_pairs = $4, possible_pairs = $5, read_millis = $6, compare_millis = $7, \
             finished_at = $8 WHERE id = $9"
        )
        .bind(scanned)
        .bind(scan.stats.comparisons as i64)
        .bind(clusters)
        .bind(duplicates)
        .bind(pairs.len() as i64 - duplicates)
        .bind(read_millis)
        .bind(compare_millis)
        .bind(db::now())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        tracing::info!(scan = %id, customers = scanned, clusters, read_millis, compare_millis, "duplicate scan done");
        Ok(())
    }

    async fn scan_row(&self, id: Uuid) -> Result<Option<ScanRow>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM duplicate_scans WHERE id = $1");
        Ok(with_pool!(self.store.db(), |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// A scan, for the one who started it (or a caller whose scope is everything).
    pub async fn get_scan(&self, principal: &Principal, id: Uuid) -> Result<ScanRow, Error> {
        match self.scan_row(id).await? {
            Some(scan)
                if scan.started_by == principal.actor()
                    || principal.scope(FAMILY) == DataScope::All =>
            {
                Ok(scan)
            }
            _ => Err(Error::NotFound(scan_name(id))),
        }
    }

    /// A page of a scan's pairs after `after` (a position), both customers in the caller's
    /// reach and not merged since.
    pub async fn list_pairs(
        &self,
        principal: &Principal,
        scan: Uuid,
        level: Option<&str>,
        undecided_only: bool,
        limit: i64,
        after: i64,
    ) -> Result<Vec<PairRow>, Error> {
        self.get_scan(principal, scan).await?;
        let reach = self.reach(principal, false).await?;
        let mut buf = SqlBuf::new(
            "SELECT p.position, p.customer_a, p.customer_b, p.cluster, p.score, p.level, p.reasons, \
             d.decision, d.decided_by FROM duplicate_scan_pairs p LEFT JOIN duplicate_decisions d \
             ON d.customer_a = p.customer_a AND d.customer_b = p.customer_b WHERE p.scan_id = ",
        );
        buf.push_bind(SqlValue::Uuid(scan));
        buf.push(" AND p.position > ");
        buf.push_bind(SqlValue::Int(after));
        if let Some(level) = level {
            buf.push(" AND p.level = ");
            buf.push_bind(SqlValue::Text(level.to_owned()));
        }
        if undecided_only {
            buf.push(" AND d.decision IS NULL");
        }
        for side in ["a", "b"] {
            buf.push(&format!(
                " AND p.customer_{side} IN (SELECT id FROM customers WHERE "
            ));
            reach.push_condition(&mut buf);
            buf.push(")");
        }
        buf.push(" ORDER BY p.position LIMIT ");
        buf.push_bind(SqlValue::Int(limit));
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<StoredPair> = with_pool!(self.store.db(), |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        let mut pairs: Vec<PairRow> = rows
            .into_iter()
            .map(|r| PairRow {
                position: r.0,
                customer_a: r.1,
                customer_b: r.2,
                cluster: r.3,
                score: r.4,
                level: r.5,
                reasons: serde_json::from_str(&r.6).unwrap_or_default(),
                decision: r.7,
                decided_by: r.8,
                names: Default::default(),
            })
            .collect();
        let ids: Vec<Uuid> = pairs
            .iter()
            .flat_map(|p| [p.customer_a, p.customer_b])
            .collect();
        if !ids.is_empty() {
            let mut buf = crate::store::Store::list_query(&Reach::all());
            crate::duplicates::ids_in(&mut buf, &ids);
            let names: std::collections::HashMap<Uuid, String> = self
                .store
                .fetch(buf)
                .await?
                .into_iter()
                .map(|r| (r.id, r.display_name))
                .collect();
            for p in &mut pairs {
                let name = |id| names.get(&id).cloned().unwrap_or_default();
                p.names = (name(p.customer_a), name(p.customer_b));
            }
        }
        Ok(pairs)
    }

    /// Records a decision on a pair of customers the caller reaches; "not a duplicate" keeps
    /// the pair out of later scans and write checks. Returns the pair as scored now.
    pub async fn review_pair(
        &self,
        principal: &Principal,
        x: Uuid,
        y: Uuid,
        duplicate: bool,
    ) -> Result<PairRow, Error> {
        if x == y {
            return Err(Error::field("customer_b", "must differ from customer_a"));
        }
        let (a, b) = ordered(x, y);
        let row_a = self.get(principal, a).await?;
        let row_b = self.get(principal, b).await?;
        let decision = if duplicate {
            "DUPLICATE"
        } else {
            "NOT_DUPLICATE"
        };
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO duplicate_decisions (customer_a, customer_b, decision, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_a, customer_b) DO UPDATE SET \
             decision = excluded.decision, decided_by = excluded.decided_by, decided_at = excluded.decided_at"
        )
        .bind(a)
        .bind(b)
        .bind(decision)
        .bind(principal.actor())
        .bind(db::now())
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        let cfg = self.duplicates.matcher();
        let (ra, rb) = (
            crate::duplicates::record_of(&row_a),
            crate::duplicates::record_of(&row_b),
        );
        let matched = crm_dedup::compare(&ra, &rb, &cfg);
        Ok(PairRow {
            position: 0,
            customer_a: a,
            customer_b: b,
            cluster: 0,
            score: matched.as_ref().map_or(0.0, |m| m.score),
            level: match matched.as_ref().map(|m| m.level) {
                Some(crm_dedup::Level::Duplicate) => "DUPLICATE",
                _ => "POSSIBLE",
            }
            .to_owned(),
            reasons: matched
                .map(|m| m.reasons.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            decision: Some(decision.to_owned()),
            decided_by: Some(principal.actor()),
            names: (row_a.display_name, row_b.display_name),
        })
    }
}

/// "duplicateScans/{id}".
pub fn scan_name(id: Uuid) -> String {
    format!("duplicateScans/{id}")
}

impl Customers {
    /// A scan's pairs (those the caller reaches) written to a file, in listing order.
    pub async fn export_pairs(
        &self,
        principal: &Principal,
        scan: Uuid,
        xlsx: bool,
    ) -> Result<crate::bulk::report::FileOut, Error> {
        use crate::bulk::report::{CSV, FileOut, Sink, XLSX, temp_path};
        use crm_tabular::Cell;
        let ext = if xlsx { "xlsx" } else { "csv" };
        let path = temp_path("duplicate-pairs", ext);
        let mut sink = Sink::create(xlsx, &path)?;
        sink.sheet(
            "Pairs",
            &[
                "cluster",
                "customer_a",
                "display_name_a",
                "customer_b",
                "display_name_b",
                "score",
                "level",
                "reasons",
                "decision",
                "decided_by",
            ],
        )?;
        let (mut after, mut rows) = (0, 0u64);
        loop {
            let page = self
                .list_pairs(principal, scan, None, false, 1000, after)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for p in &page {
                let (a, b) = (
                    crate::domain::name_of(p.customer_a),
                    crate::domain::name_of(p.customer_b),
                );
                let score = format!("{:.4}", p.score);
                let reasons = p.reasons.join("; ");
                sink.row(&[
                    Cell::Integer(p.cluster),
                    Cell::Text(&a),
                    Cell::Text(&p.names.0),
                    Cell::Text(&b),
                    Cell::Text(&p.names.1),
                    Cell::Decimal(&score),
                    Cell::Text(&p.level),
                    Cell::Text(&reasons),
                    Cell::Text(p.decision.as_deref().unwrap_or_default()),
                    Cell::Text(p.decided_by.as_deref().unwrap_or_default()),
                ])?;
                rows += 1;
            }
        }
        sink.finish(path.clone()).await?;
        Ok(FileOut {
            path,
            file_name: format!("{}-pairs.{ext}", scan_name(scan).replace('/', "-")),
            content_type: if xlsx { XLSX } else { CSV },
            rows,
        })
    }
}
