//! Security events and alerts.
use super::*;

fn insert_event_sql() -> String {
    format!("INSERT INTO security_events ({EVENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
}

/// The INSERT of one event, bound; one text for the pool and for a transaction.
macro_rules! insert_event_query {
    ($sql:expr, $e:expr) => {
        sqlx::query(sqlx::AssertSqlSafe($sql))
            .bind($e.id)
            .bind(&$e.r#type)
            .bind(&$e.actor)
            .bind(&$e.target)
            .bind($e.time)
            .bind(&$e.source_ip)
            .bind(&$e.request_id)
            .bind(&$e.trace_id)
            .bind(&$e.details)
    };
}

/// Appends a security event inside `tx`, so that a change and its record commit together.
pub(super) async fn insert_event_in(tx: &mut Tx, e: &EventRow) -> Result<(), DbError> {
    let sql = insert_event_sql();
    with_tx!(tx, |conn| insert_event_query!(sql, e)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

impl Store {
    // security events and alerts

    /// Appends a security event.
    pub async fn insert_event(&self, e: &EventRow) -> Result<(), DbError> {
        let sql = insert_event_sql();
        with_pool!(&self.db, |pool| insert_event_query!(sql, e)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// How many events of `type` have `column` (target or source_ip) = `value` since `since`.
    pub async fn count_events(
        &self,
        r#type: &str,
        column: EventKey,
        value: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let sql = format!(
            "SELECT COUNT(*) FROM security_events WHERE type = $1 AND {} = $2 AND time >= $3",
            match column {
                EventKey::Target => "target",
                EventKey::Actor => "actor",
                EventKey::SourceIp => "source_ip",
            }
        );
        let (n,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(r#type)
            .bind(value)
            .bind(since)
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    /// Opens an alert unless one is already open for the rule and subject; the alert and its
    /// `security_alert.raised` event (made by `event`) are written in one transaction.
    pub async fn open_alert(
        &self,
        a: &AlertRow,
        event: impl FnOnce(&AlertRow) -> crm_proto::crm::events::v1::Event,
    ) -> Result<bool, DbError> {
        let mut q = select(ALERT, "security_alerts");
        q.push("rule = ");
        q.push_bind(SqlValue::Text(a.rule.clone()));
        q.push(" AND subject = ");
        q.push_bind(SqlValue::Text(a.subject.clone()));
        q.push(" AND state = 'OPEN'");
        if self.one::<AlertRow>(q).await?.is_some() {
            return Ok(false);
        }
        let sql = format!(
            "INSERT INTO security_alerts ({ALERT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let mut tx = self.db.begin().await?;
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a.id)
            .bind(&a.rule)
            .bind(&a.subject)
            .bind(a.count)
            .bind(a.window_start)
            .bind(a.window_end)
            .bind(&a.state)
            .bind(&a.ack_actor)
            .bind(a.ack_time)
            .bind(a.version)
            .bind(a.created_at)
            .bind(a.updated_at)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        tx.emit(&event(a)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One alert.
    pub async fn alert(&self, id: Uuid) -> Result<Option<AlertRow>, DbError> {
        self.one(by_id(ALERT, "security_alerts", id)).await
    }

    /// Acknowledges an open alert still at `version`.
    pub async fn acknowledge_alert(
        &self,
        id: Uuid,
        version: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        const SQL: &str = "UPDATE security_alerts SET state = 'ACKNOWLEDGED', ack_actor = $1, ack_time = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4";
        let n = with_pool!(&self.db, |pool| sqlx::query(SQL)
            .bind(actor)
            .bind(now)
            .bind(id)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
