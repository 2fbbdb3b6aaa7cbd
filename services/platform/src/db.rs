//! Storage: one pool enum for PostgreSQL (production) and SQLite (embedded default), embedded
//! migrations for both, and one classification of database errors for both dialects.
//!
//! A store writes its SQL once, with `$N` placeholders and portable syntax, and runs it on
//! either backend through [`with_pool!`](crate::with_pool): the body is compiled once per
//! driver, so native types (`Uuid`, `DateTime<Utc>`, `bool`) work on both.
use crate::error::ErrorKind;
use crate::sql::SqlValue;
use sqlx::{
    Database, Encode, PgPool, SqlitePool, Type,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use std::{future::Future, str::FromStr, time::Duration};

/// A connection pool to the service's own database.
#[derive(Clone, Debug)]
pub enum Db {
    /// PostgreSQL (production).
    Pg(PgPool),
    /// SQLite (embedded default, `crm dev`).
    Sqlite(SqlitePool),
}

/// Runs the same expression on whichever backend `db` is; `$pool` is the concrete pool.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Pg($pool) => $body,
            $crate::db::Db::Sqlite($pool) => $body,
        }
    };
}

/// A service's embedded migrations, one folder per backend.
pub struct Migrations {
    /// `migrations/postgres`.
    pub postgres: Migrator,
    /// `migrations/sqlite`.
    pub sqlite: Migrator,
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Maximum open connections.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Is this URL a PostgreSQL URL (otherwise SQLite)?
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Db {
    /// Connects to `url`: `postgres://...` or `sqlite://path` (the file is created if missing).
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Db, sqlx::Error> {
        if is_postgres_url(url) {
            Self::connect_postgres(PgConnectOptions::from_str(url)?, settings).await
        } else {
            Self::connect_sqlite(SqliteConnectOptions::from_str(url)?, settings).await
        }
    }

    /// Connects to PostgreSQL with explicit options.
    pub async fn connect_postgres(
        options: PgConnectOptions,
        settings: PoolSettings,
    ) -> Result<Db, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // No ping before every checkout: it is a round trip per statement (a customer's page
            // takes about ten), and a connection that died since is found by the statement
            // itself, which fails with an error the caller may retry; nothing is half written.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Db::Pg(pool))
    }

    /// Connects to a SQLite file with the settings a server needs: WAL so readers never block
    /// the writer, a busy timeout so concurrent writers wait instead of failing, foreign keys on.
    pub async fn connect_sqlite(
        options: SqliteConnectOptions,
        settings: PoolSettings,
    ) -> Result<Db, sqlx::Error> {
        // A fresh data dir is normal (`crm dev`, seeding): create the file's directory too.
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.min(8))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// Applies the pending migrations of this backend: the service's, then the events tables
    /// (outbox, inbox, timers) that every service database holds.
    pub async fn migrate(
        &self,
        migrations: &Migrations,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let events = crate::events::migrations();
        for m in [migrations, &events] {
            match self {
                Db::Pg(pool) => m.postgres.run(pool).await?,
                Db::Sqlite(pool) => m.sqlite.run(pool).await?,
            }
        }
        Ok(())
    }

    /// "postgres" or "sqlite", for logs (never the URL: it may hold a password).
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// Checks that the database answers, for readiness probes.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Closes every connection, waiting for checked-out ones to be returned.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// Connects a service to its database and applies its migrations; errors name the service and
/// never the URL (it may carry a password).
pub async fn open(
    service: &str,
    url: &crate::config::Secret,
    max_connections: u32,
    migrations: &Migrations,
) -> anyhow::Result<Db> {
    let settings = PoolSettings {
        max_connections,
        ..PoolSettings::default()
    };
    let db = Db::connect(url.expose(), settings)
        .await
        .map_err(|e| anyhow::anyhow!("{service}: cannot open database: {e}"))?;
    db.migrate(migrations)
        .await
        .map_err(|e| anyhow::anyhow!("{service}: migration failed: {e}"))?;
    Ok(db)
}

/// Opens a transaction that will write.
pub trait BeginWrite {
    /// The backend.
    type Database: Database;
    /// Begins the transaction.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send
    {
        self.begin()
    }
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    /// SQLite's default deferred transaction fails with SQLITE_BUSY when two readers both try
    /// to upgrade to writers; `BEGIN IMMEDIATE` takes the write lock up front (waiting on the
    /// busy timeout) so concurrent writers queue instead.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send
    {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

/// A write transaction on either backend. Use cases open one with [`Db::begin`], write through
/// [`with_tx!`](crate::with_tx), emit their events into the outbox with [`Tx::emit`]
/// (`crate::events`) and commit: the change and its events are stored together or not at all.
pub struct Tx {
    pub(crate) conn: TxConn,
    /// Whether an event was written, so the commit wakes this process's outbox relays.
    pub(crate) emitted: bool,
}

/// The backend-specific transaction inside a [`Tx`].
pub enum TxConn {
    /// PostgreSQL.
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    /// SQLite (`BEGIN IMMEDIATE`).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs the same expression on whichever backend the transaction is; `$conn` is the concrete
/// `&mut PgConnection` / `&mut SqliteConnection`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.conn_mut() {
            $crate::db::TxConn::Pg(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::TxConn::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Begins a write transaction (SQLite: `BEGIN IMMEDIATE`, so concurrent writers queue).
    pub async fn begin(&self) -> Result<Tx, DbError> {
        let conn = match self {
            Db::Pg(pool) => TxConn::Pg(pool.begin_write().await?),
            Db::Sqlite(pool) => TxConn::Sqlite(pool.begin_write().await?),
        };
        Ok(Tx {
            conn,
            emitted: false,
        })
    }
}

impl Tx {
    /// The backend transaction, for [`with_tx!`](crate::with_tx).
    pub fn conn_mut(&mut self) -> &mut TxConn {
        &mut self.conn
    }

    /// "postgres" or "sqlite".
    pub fn backend(&self) -> &'static str {
        match self.conn {
            TxConn::Pg(_) => "postgres",
            TxConn::Sqlite(_) => "sqlite",
        }
    }

    /// Commits; when events were emitted, wakes the outbox relays of this process.
    /// Inside an idempotent request (`idempotency::claiming`), the first commit also records
    /// the request id.
    pub async fn commit(mut self) -> Result<(), DbError> {
        crate::idempotency::claim(&mut self).await?;
        match self.conn {
            TxConn::Pg(t) => t.commit().await?,
            TxConn::Sqlite(t) => t.commit().await?,
        }
        if self.emitted {
            crate::events::outbox::wake_relays();
        }
        Ok(())
    }

    /// Rolls back (dropping a `Tx` does too, later and silently).
    pub async fn rollback(self) -> Result<(), DbError> {
        match self.conn {
            TxConn::Pg(t) => t.rollback().await?,
            TxConn::Sqlite(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// A database failure, classified the same way for both dialects.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique constraint rejected the write.
    #[error("unique constraint violated")]
    UniqueViolation {
        /// The constraint or index name (PostgreSQL) or the column list (SQLite), when known.
        constraint: Option<String>,
    },
    /// A foreign key rejected the write.
    #[error("foreign key constraint violated")]
    ForeignKeyViolation {
        /// The constraint name, when known.
        constraint: Option<String>,
    },
    /// The database could not be reached in time (pool exhausted, network, shutdown).
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug or a broken database.
    #[error("database error")]
    Other(#[source] sqlx::Error),
}

impl DbError {
    /// The error kind a service should report for this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DbError::UniqueViolation { .. } => ErrorKind::AlreadyExists,
            DbError::ForeignKeyViolation { .. } => ErrorKind::FailedPrecondition,
            DbError::Unavailable(_) => ErrorKind::Unavailable,
            DbError::Other(_) => ErrorKind::Internal,
        }
    }

    /// The stable `ErrorInfo` reason of this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            DbError::UniqueViolation { .. } => "ALREADY_EXISTS",
            DbError::ForeignKeyViolation { .. } => "REFERENCE_MISSING",
            DbError::Unavailable(_) => "DATABASE_UNAVAILABLE",
            DbError::Other(_) => "INTERNAL",
        }
    }

    /// True for a unique violation on the named constraint. SQLite reports no constraint name,
    /// only "UNIQUE constraint failed: table.column", so the name is matched against that text too.
    pub fn is_unique(&self, constraint_or_column: &str) -> bool {
        matches!(self, DbError::UniqueViolation { constraint: Some(c) } if c.contains(constraint_or_column))
    }
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => {
                let constraint = db
                    .constraint()
                    .map(str::to_owned)
                    .or_else(|| Some(db.message().to_owned()));
                if db.is_unique_violation() {
                    DbError::UniqueViolation { constraint }
                } else if db.is_foreign_key_violation() {
                    DbError::ForeignKeyViolation { constraint }
                } else {
                    DbError::Other(err)
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable(err)
            }
            _ => DbError::Other(err),
        }
    }
}

/// What both kinds of statement bind, so one match on [`SqlValue`] serves both.
pub trait Bind<'q, DB: Database>: Sized {
    /// Binds the next placeholder.
    fn bind_one<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self;
}

impl<'q, DB: Database> Bind<'q, DB> for sqlx::query::Query<'q, DB, <DB as Database>::Arguments> {
    fn bind_one<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

impl<'q, DB: Database, O> Bind<'q, DB>
    for sqlx::query::QueryAs<'q, DB, O, <DB as Database>::Arguments>
{
    fn bind_one<T: 'q + Encode<'q, DB> + Type<DB>>(self, value: T) -> Self {
        self.bind(value)
    }
}

/// Binds `values` (filter, paging, batched rows) to a statement's placeholders in order, for
/// either backend and either kind of statement (`sqlx::query_as` or `sqlx::query`).
pub fn bind_values<'q, DB, Q>(mut query: Q, values: &'q [SqlValue]) -> Q
where
    DB: Database,
    Q: Bind<'q, DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    chrono::DateTime<chrono::Utc>: Encode<'q, DB> + Type<DB>,
    uuid::Uuid: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<uuid::Uuid>: Encode<'q, DB> + Type<DB>,
{
    for value in values {
        query = match value {
            SqlValue::Text(v) => query.bind_one(v.as_str()),
            SqlValue::Int(v) => query.bind_one(*v),
            SqlValue::Float(v) => query.bind_one(*v),
            SqlValue::Bool(v) => query.bind_one(*v),
            SqlValue::Timestamp(v) => query.bind_one(*v),
            SqlValue::Uuid(v) => query.bind_one(*v),
            SqlValue::NullText => query.bind_one(None::<&str>),
            SqlValue::NullUuid => query.bind_one(None::<uuid::Uuid>),
        };
    }
    query
}

/// The current time truncated to microseconds, the precision PostgreSQL keeps, so a value
/// read back compares equal to the value written (etags, page cursors).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

/// Runs a built SELECT (trusted SQL text with bound values) and decodes every row, on either
/// backend.
pub async fn fetch_all<T>(db: &Db, buf: crate::sql::SqlBuf) -> Result<Vec<T>, DbError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    let crate::sql::SqlBuf { sql, binds } = buf;
    Ok(with_pool!(db, |pool| bind_values(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .fetch_all(pool)
    .await)?)
}
