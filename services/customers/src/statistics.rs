//! SummarizeCustomers: statistics of the customers a caller reaches, for dashboards.
//!
//! Every number is computed by the database over the same rows ListCustomers would return
//! (the caller's reach from [`Store::scoped_select`], then the ListCustomers filter), so a
//! million customers never leave it: four statements, each answering with a handful of rows,
//! in one read-only snapshot so that they agree with each other (the total is the sum of the
//! stages, and the Pareto curve's 100% is every customer counted):
//! - one GROUP BY over (stage, tier, kind, channel), at most a few hundred groups, rolled up
//!   here into the total, the counts per dimension and the lifetime value per tier;
//! - the regions with the most customers;
//! - new customers per week (the dialects differ only in how a time becomes its week);
//! - the Pareto curve: a window over the customers by lifetime value (running sum), of which
//!   only the rows at the cut-offs come back.
//!
//! Lifetime values are the stored `lifetime_value_minor`: minor units added as they are,
//! whatever the currency, the single-currency assumption the value tier makes too.
use crate::{
    error::Error,
    profile::{CHANNELS, STAGES, TIERS},
    service::{Customers, dynamic_field},
    store::{SCHEMA, Store},
};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use crm_platform::{
    auth::Principal,
    db::{self, Db, DbError, bind_values},
    filter::{DynamicField, QueryError},
    sql::{SqlBuf, SqlValue},
};
use std::collections::HashMap;
use tracing::instrument;

/// Weeks of new customers when the caller asks for none.
pub const DEFAULT_WEEKS: u32 = 12;
/// Most weeks of new customers; more are lowered to this (as page sizes are, AIP-158).
pub const MAX_WEEKS: u32 = 104;
/// Regions listed by name; the others are counted together.
pub const TOP_REGIONS: usize = 20;
/// Where the Pareto curve is read: the top this many percent of the customers.
pub const PARETO_PERCENTS: [i64; 12] = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
/// Customer kinds in proto order (proto value = index + 1), as `profile::STAGES` are.
pub const KINDS: &[&str] = &["PERSON", "ORGANIZATION"];

/// Statistics of the customers a caller reaches, narrowed by a filter. Names are stored values
/// (`profile::STAGES`, `TIERS`, `CHANNELS`, [`KINDS`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Statistics {
    /// Customers summarized.
    pub total: i64,
    /// (stage, customers) in stage order; only stages that have customers.
    pub stages: Vec<(String, i64)>,
    /// (tier, customers, lifetime value) in tier order; only tiers that have customers.
    pub tiers: Vec<(String, i64, i64)>,
    /// (kind, customers) in kind order; only kinds that have customers.
    pub kinds: Vec<(String, i64)>,
    /// (channel, customers) in channel order, "" (not known) first; only channels present.
    pub channels: Vec<(String, i64)>,
    /// (region, customers): the [`TOP_REGIONS`] largest, largest first; "" is no region.
    pub regions: Vec<(String, i64)>,
    /// Customers in the other regions.
    pub other_regions: i64,
    /// (Monday of the week, customers created in it), oldest first, the current week last.
    pub weeks: Vec<(NaiveDate, i64)>,
    /// Sum of the lifetime values, minor units.
    pub lifetime_value: i64,
    /// The Pareto curve at [`PARETO_PERCENTS`], in that order.
    pub pareto: Vec<ParetoPoint>,
}

/// The top `percent` of the customers by lifetime value and their share of the total.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPoint {
    /// Percent of the customers.
    pub percent: i64,
    /// How many customers that is: [`cutoff`].
    pub customers: i64,
    /// Sum of their lifetime values, minor units.
    pub value: i64,
    /// `value` / the total, 0 to 1; 0 when the total is not positive.
    pub share: f64,
}

impl Statistics {
    /// The point of the curve at `percent`, if it is one of [`PARETO_PERCENTS`].
    pub fn pareto_at(&self, percent: i64) -> Option<&ParetoPoint> {
        self.pareto.iter().find(|p| p.percent == percent)
    }
}

/// How many customers the top `percent` of `customers` are: ceil(customers × percent / 100),
/// so at least one of any.
pub fn cutoff(customers: i64, percent: i64) -> i64 {
    (customers * percent + 99) / 100
}

/// The weeks to report: `requested` 0 is the default, more than the maximum is lowered to it.
pub fn weeks(requested: i32) -> Result<u32, Error> {
    match u32::try_from(requested) {
        Err(_) => Err(Error::field("weeks", "must not be negative")),
        Ok(0) => Ok(DEFAULT_WEEKS),
        Ok(n) => Ok(n.min(MAX_WEEKS)),
    }
}

/// The Monday (UTC) starting the ISO week of `at`.
pub fn week_start(at: DateTime<Utc>) -> NaiveDate {
    let day = at.date_naive();
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

impl Customers {
    /// Statistics of the customers the caller reaches (scope and shares, as [`Customers::list`]),
    /// narrowed by a ListCustomers `filter`, with `weeks` weeks of new customers (see [`weeks`]).
    #[instrument(skip(self, principal))]
    pub async fn summarize(
        &self,
        principal: &Principal,
        filter: &str,
        weeks: i32,
    ) -> Result<Statistics, Error> {
        let weeks = self::weeks(weeks)?;
        let reach = self.reach(principal, false).await?;
        let dynamic = self.dynamic_filter_fields(filter).await?;
        // Every statement starts from the same scoped, filtered rows.
        let from = |select: &str| -> Result<SqlBuf, Error> {
            let mut buf = Store::scoped_select(select, &reach);
            push_filter(&mut buf, filter, &dynamic)
                .map_err(crm_platform::paging::PageError::Query)?;
            Ok(buf)
        };
        // The filter is checked before anything runs.
        let mut facets = from(FACETS)?;
        facets.push(FACETS_GROUPS);
        let this_week = week_start(db::now());
        let first_week = this_week - Days::new(7 * u64::from(weeks - 1));
        let mut snapshot = Snapshot::begin(self.store.db()).await?;
        let mut stats = roll_up(&snapshot.fetch(facets).await?);
        (stats.regions, stats.other_regions) =
            regions(&mut snapshot, from(REGIONS)?, stats.total).await?;
        let week = match &snapshot {
            Snapshot::Pg(_) => {
                "to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
            }
            // Forward to the week's Sunday (itself on a Sunday), back to its Monday.
            Snapshot::Sqlite(_) => "date(created_at, 'weekday 0', '-6 days')",
        };
        let new = from(&format!(
            "SELECT {week} AS week_start, COUNT(*) AS customers"
        ))?;
        stats.weeks = new_per_week(&mut snapshot, new, first_week, this_week, weeks).await?;
        stats.pareto = curve(
            &mut snapshot,
            from(PARETO)?,
            stats.total,
            stats.lifetime_value,
        )
        .await?;
        snapshot.end().await?;
        Ok(stats)
    }
}

/// A read-only transaction: every statement in it sees the customers as they were at its first.
enum Snapshot {
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Snapshot {
    async fn begin(db: &Db) -> Result<Snapshot, DbError> {
        Ok(match db {
            // REPEATABLE READ keeps one snapshot for the transaction (READ COMMITTED takes one
            // per statement); being read-only, it never fails to serialize.
            Db::Pg(pool) => Snapshot::Pg(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?,
            ),
            // Deferred (not `Db::begin`'s IMMEDIATE): a WAL reader keeps the snapshot of its first
            // read and takes no lock that writers wait for.
            Db::Sqlite(pool) => Snapshot::Sqlite(pool.begin().await?),
        })
    }

    /// Runs a built SELECT in the snapshot.
    async fn fetch<T>(&mut self, buf: SqlBuf) -> Result<Vec<T>, DbError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let SqlBuf { sql, binds } = buf;
        let sql = sqlx::AssertSqlSafe(sql.as_str());
        Ok(match self {
            Snapshot::Pg(tx) => {
                bind_values(sqlx::query_as(sql), &binds)
                    .fetch_all(&mut **tx)
                    .await?
            }
            Snapshot::Sqlite(tx) => {
                bind_values(sqlx::query_as(sql), &binds)
                    .fetch_all(&mut **tx)
                    .await?
            }
        })
    }

    /// Ends the transaction (it wrote nothing).
    async fn end(self) -> Result<(), DbError> {
        match self {
            Snapshot::Pg(tx) => tx.commit().await?,
            Snapshot::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Appends " AND (<filter>)" when the filter is not empty (numbering its binds after the
/// scope's), as ListCustomers does.
fn push_filter(
    buf: &mut SqlBuf,
    filter: &str,
    dynamic: &[(String, DynamicField)],
) -> Result<(), QueryError> {
    let resolve = |name: &str| dynamic_field(dynamic, name);
    let mut compiled = SqlBuf {
        binds: std::mem::take(&mut buf.binds),
        ..SqlBuf::default()
    };
    let result = crm_platform::filter::compile_with(filter, &SCHEMA, Some(&resolve), &mut compiled);
    if let Ok(true) = result {
        buf.push(" AND ");
    }
    buf.sql.push_str(&compiled.sql);
    buf.binds = compiled.binds;
    result.map(|_| ())
}

/// (stage, tier, kind, channel, customers, lifetime value) per combination present.
const FACETS: &str = "SELECT lifecycle_stage, value_tier, kind, COALESCE(source_channel, '') AS channel, \
     COUNT(*) AS customers, CAST(COALESCE(SUM(lifetime_value_minor), 0) AS BIGINT) AS value_minor";
/// Appended to [`FACETS`] after the conditions.
const FACETS_GROUPS: &str =
    " GROUP BY lifecycle_stage, value_tier, kind, COALESCE(source_channel, '')";

type Facet = (String, String, String, String, i64, i64);

/// The position of a stored name in its proto enum (unknown names last).
fn order_of(name: &str, names: &[&str]) -> usize {
    names.iter().position(|n| *n == name).unwrap_or(names.len())
}

/// Adds (`customers`, `value`) to the entry `name` of `entries`.
fn add(entries: &mut Vec<(String, i64, i64)>, name: &str, customers: i64, value: i64) {
    match entries.iter_mut().find(|(n, _, _)| n == name) {
        Some(entry) => {
            entry.1 += customers;
            entry.2 += value;
        }
        None => entries.push((name.to_owned(), customers, value)),
    }
}

/// The totals per dimension from the combinations: a few hundred rows at most.
fn roll_up(facets: &[Facet]) -> Statistics {
    let (mut stages, mut tiers, mut kinds, mut channels) = Default::default();
    let mut stats = Statistics::default();
    for (stage, tier, kind, channel, customers, value) in facets {
        stats.total += customers;
        stats.lifetime_value += value;
        add(&mut stages, stage, *customers, *value);
        add(&mut tiers, tier, *customers, *value);
        add(&mut kinds, kind, *customers, *value);
        add(&mut channels, channel, *customers, *value);
    }
    let sorted = |mut entries: Vec<(String, i64, i64)>, names: &[&str]| {
        // "" (no channel) is not a name, so it sorts before every name.
        entries.sort_by_key(|(n, _, _)| (!n.is_empty(), order_of(n, names), n.clone()));
        entries
    };
    let counts = |entries: Vec<(String, i64, i64)>| -> Vec<(String, i64)> {
        entries.into_iter().map(|(n, c, _)| (n, c)).collect()
    };
    stats.stages = counts(sorted(stages, STAGES));
    stats.tiers = sorted(tiers, TIERS);
    stats.kinds = counts(sorted(kinds, KINDS));
    stats.channels = counts(sorted(channels, CHANNELS));
    stats
}

const REGIONS: &str = "SELECT COALESCE(region, '') AS region_name, COUNT(*) AS customers";

/// The largest regions, and the customers of `total` in all the others.
async fn regions(
    snapshot: &mut Snapshot,
    mut buf: SqlBuf,
    total: i64,
) -> Result<(Vec<(String, i64)>, i64), DbError> {
    buf.push(&format!(
        " GROUP BY COALESCE(region, '') ORDER BY customers DESC, region_name LIMIT {TOP_REGIONS}"
    ));
    let rows: Vec<(String, i64)> = snapshot.fetch(buf).await?;
    let listed: i64 = rows.iter().map(|r| r.1).sum();
    Ok((rows, total - listed))
}

/// Customers created per week from `first` to `last` (Mondays), zero weeks included; `buf`
/// selects (week's Monday as "YYYY-MM-DD", customers).
async fn new_per_week(
    snapshot: &mut Snapshot,
    mut buf: SqlBuf,
    first: NaiveDate,
    last: NaiveDate,
    weeks: u32,
) -> Result<Vec<(NaiveDate, i64)>, DbError> {
    let midnight = |day: NaiveDate| SqlValue::Timestamp(day.and_time(Default::default()).and_utc());
    buf.push(" AND created_at >= ");
    buf.push_bind(midnight(first));
    buf.push(" AND created_at < ");
    buf.push_bind(midnight(last + Days::new(7)));
    buf.push(" GROUP BY 1");
    let rows: Vec<(String, i64)> = snapshot.fetch(buf).await?;
    let counts: HashMap<String, i64> = rows.into_iter().collect();
    Ok((0..u64::from(weeks))
        .map(|i| {
            let monday = first + Days::new(7 * i);
            let n = counts.get(&monday.format("%Y-%m-%d").to_string()).copied();
            (monday, n.unwrap_or(0))
        })
        .collect())
}

/// Each customer's place by lifetime value (highest first) and the running sum up to it.
const PARETO: &str = "SELECT place, running FROM (SELECT ROW_NUMBER() OVER w AS place, \
     CAST(SUM(lifetime_value_minor) OVER w AS BIGINT) AS running";

/// The Pareto curve at [`PARETO_PERCENTS`] of `customers` holding `total`: `buf` is [`PARETO`]
/// with its conditions; only the rows at a cut-off come back. Ties are ordered arbitrarily,
/// which changes no sum: the frame counts rows, so a running sum stops exactly at its row even
/// among equal values.
async fn curve(
    snapshot: &mut Snapshot,
    mut buf: SqlBuf,
    customers: i64,
    total: i64,
) -> Result<Vec<ParetoPoint>, DbError> {
    let cuts: Vec<(i64, i64)> = PARETO_PERCENTS
        .iter()
        .map(|&p| (p, cutoff(customers, p)))
        .collect();
    let running: HashMap<i64, i64> = if customers == 0 {
        HashMap::new()
    } else {
        buf.push(
            " WINDOW w AS (ORDER BY lifetime_value_minor DESC \
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) ranked WHERE place IN (",
        );
        buf.push_binds(cuts.iter().map(|(_, top)| SqlValue::Int(*top)));
        buf.push(")");
        let rows: Vec<(i64, i64)> = snapshot.fetch(buf).await?;
        rows.into_iter().collect()
    };
    Ok(cuts
        .into_iter()
        .map(|(percent, top)| {
            let value = running.get(&top).copied().unwrap_or(0);
            ParetoPoint {
                percent,
                customers: top,
                value,
                share: if total > 0 {
                    value as f64 / total as f64
                } else {
                    0.0
                },
            }
        })
        .collect())
}
