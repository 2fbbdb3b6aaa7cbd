//! Bulk work on customers (issue 6): imports from CSV and Excel files as jobs with per-row
//! results (`import`), their reports (`report`), and exports (`export`).
pub mod batch;
pub mod contacts;
mod custom_cells;
pub mod export;
pub mod fields;
pub mod import;
pub mod report;
mod rows;

use crate::{error::Error, service::Customers};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::{DataScope, Principal},
    db::{self, DbError},
    sql::{SqlBuf, SqlValue},
    with_pool,
};
use uuid::Uuid;

/// A stored import.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImportRow {
    /// UUIDv7.
    pub id: Uuid,
    /// "RUNNING", "SUCCEEDED", "FAILED" or "CANCELLED".
    pub state: String,
    /// The file's name.
    pub file_name: String,
    /// "CSV" or "XLSX".
    pub format: String,
    /// Writes nothing.
    pub dry_run: bool,
    /// The options as JSON (for the record).
    pub options: String,
    /// Data rows in the file.
    pub rows_total: i64,
    /// Rows handled.
    pub rows_done: i64,
    /// Created.
    pub created: i64,
    /// Updated.
    pub updated: i64,
    /// Skipped as duplicates.
    pub skipped: i64,
    /// Failed.
    pub failed: i64,
    /// The file's header row, JSON array.
    pub header: String,
    /// Column → field, JSON object.
    pub mapping: String,
    /// Unmapped columns, JSON array.
    pub unmapped: String,
    /// CSV encoding detected.
    pub detected_encoding: String,
    /// CSV delimiter detected.
    pub detected_delimiter: String,
    /// Why it failed.
    pub error: String,
    /// A user asked to stop it.
    pub cancel_requested: bool,
    /// Who started it.
    pub started_by: String,
    /// Start.
    pub created_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "id, state, file_name, format, dry_run, options, rows_total, rows_done, created, \
     updated, skipped, failed, header, mapping, unmapped, detected_encoding, detected_delimiter, error, \
     cancel_requested, started_by, created_at, finished_at";

/// One reported row of an import.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RowResult {
    /// Row number in the file (header = 1).
    pub row_number: i64,
    /// "CREATED" (with a candidate), "UPDATED", "SKIPPED_DUPLICATE" or "FAILED".
    pub outcome: String,
    /// The customer written.
    pub customer_id: Option<Uuid>,
    /// The existing customer it looks like.
    pub candidate: Option<Uuid>,
    /// The column at fault (its header).
    pub field: String,
    /// Why.
    pub error: String,
    /// The cells as in the file, JSON array.
    pub cells: String,
}

/// "customerImports/{id}".
pub fn import_name(id: Uuid) -> String {
    format!("customerImports/{id}")
}

/// Marks imports left RUNNING by a stopped process as FAILED.
pub async fn fail_interrupted(db: &db::Db) -> Result<u64, DbError> {
    Ok(with_pool!(db, |pool| {
        sqlx::query(
        "UPDATE customer_imports SET state = 'FAILED', error = 'interrupted by a restart of the service; \
         rows written before stay', finished_at = $1 WHERE state = 'RUNNING'"
    )
    .bind(db::now())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?)
}

impl Customers {
    async fn import_row(&self, id: Uuid) -> Result<Option<ImportRow>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM customer_imports WHERE id = $1");
        Ok(with_pool!(self.store.db(), |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql)
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// An import, for the one who started it (or a caller whose scope is everything).
    pub async fn get_import(&self, principal: &Principal, id: Uuid) -> Result<ImportRow, Error> {
        match self.import_row(id).await? {
            Some(job)
                if job.started_by == principal.actor()
                    || principal.scope(crate::service::FAMILY) == DataScope::All =>
            {
                Ok(job)
            }
            _ => Err(Error::NotFound(import_name(id))),
        }
    }

    /// The caller's imports, newest first, before `before` (an id).
    pub async fn list_imports(
        &self,
        principal: &Principal,
        limit: i64,
        before: Option<Uuid>,
    ) -> Result<Vec<ImportRow>, Error> {
        let mut buf = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM customer_imports WHERE started_by = "
        ));
        buf.push_bind(SqlValue::Text(principal.actor()));
        if let Some(b) = before {
            buf.push(" AND id < ");
            buf.push_bind(SqlValue::Uuid(b));
        }
        buf.push(" ORDER BY id DESC LIMIT ");
        buf.push_bind(SqlValue::Int(limit));
        let SqlBuf { sql, binds } = buf;
        Ok(with_pool!(self.store.db(), |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?)
    }

    /// Asks a running import to stop after its current batch.
    pub async fn cancel_import(&self, principal: &Principal, id: Uuid) -> Result<ImportRow, Error> {
        let job = self.get_import(principal, id).await?;
        if job.state != "RUNNING" {
            return Err(Error::FailedPrecondition(format!(
                "{} is not running (it is {})",
                import_name(id),
                job.state
            )));
        }
        with_pool!(self.store.db(), |pool| sqlx::query(
            "UPDATE customer_imports SET cancel_requested = $1 WHERE id = $2"
        )
        .bind(true)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        self.get_import(principal, id).await
    }

    /// Reported rows of an import after row `after`, in file order.
    pub async fn list_import_rows(
        &self,
        principal: &Principal,
        id: Uuid,
        outcome: Option<&str>,
        limit: i64,
        after: i64,
    ) -> Result<Vec<RowResult>, Error> {
        self.get_import(principal, id).await?;
        let mut buf = SqlBuf::new(
            "SELECT row_number, outcome, customer_id, candidate, field, error, cells \
             FROM customer_import_rows WHERE import_id = ",
        );
        buf.push_bind(SqlValue::Uuid(id));
        buf.push(" AND row_number > ");
        buf.push_bind(SqlValue::Int(after));
        if let Some(o) = outcome {
            buf.push(" AND outcome = ");
            buf.push_bind(SqlValue::Text(o.to_owned()));
        }
        buf.push(" ORDER BY row_number LIMIT ");
        buf.push_bind(SqlValue::Int(limit));
        let SqlBuf { sql, binds } = buf;
        Ok(with_pool!(self.store.db(), |pool| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?)
    }
}
