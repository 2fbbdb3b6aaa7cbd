//! Erasure of data subjects (see `privacy`): what is personal is anonymized, deleted or
//! destroyed (the customer's data key: crypto-shredding); what law requires is kept.
use crate::{error::Error, events, privacy::push_ids, service::Customers};
use crm_platform::{
    auth::Principal,
    db::{self, DbError, Tx},
    sql::{SqlBuf, SqlValue},
    with_tx,
};
use uuid::Uuid;

/// Ids per IN list.
const CHUNK: usize = 500;

/// Runs `head` + "(ids)" for every chunk of ids in `tx`; returns the rows affected.
async fn each_chunk(tx: &mut Tx, head: &SqlBuf, ids: &[Uuid]) -> Result<u64, DbError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut buf = head.clone();
        buf.push("(");
        push_ids(&mut buf, chunk);
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        n += with_tx!(tx, |conn| db::bind_values(
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(n)
}

/// The customers by id in `tx` (the events tell their erased state).
async fn rows_in(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<crate::store::CustomerRow>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut buf = SqlBuf::new(format!(
            "SELECT {} FROM customers WHERE id IN (",
            crate::store::COLUMNS
        ));
        push_ids(&mut buf, chunk);
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<crate::store::CustomerRow> = with_tx!(tx, |conn| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(&mut *conn)
        .await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Redacts the values (not the field names) of the audit trail of these customers.
async fn redact_history(tx: &mut Tx, ids: &[Uuid]) -> Result<u64, DbError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut buf =
            SqlBuf::new("SELECT id, changes FROM customer_history WHERE customer_id IN (");
        push_ids(&mut buf, chunk);
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<(Uuid, String)> = with_tx!(tx, |conn| db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(&mut *conn)
        .await)?;
        for (id, changes) in rows {
            let mut list: Vec<crate::history::Change> =
                serde_json::from_str(&changes).unwrap_or_default();
            for c in &mut list {
                for v in [&mut c.before, &mut c.after] {
                    if !v.is_empty() {
                        *v = "[erased]".into();
                    }
                }
            }
            let json = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
            with_tx!(tx, |conn| sqlx::query(
                "UPDATE customer_history SET changes = $1 WHERE id = $2"
            )
            .bind(json)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
            n += 1;
        }
    }
    Ok(n)
}

impl Customers {
    /// Erases the customers' personal data; returns what was done.
    pub(crate) async fn erase(
        &self,
        principal: &Principal,
        ids: &[Uuid],
    ) -> Result<Vec<String>, Error> {
        if ids.is_empty() {
            return Ok(vec!["no customer matched".into()]);
        }
        let now = db::now();
        let mut tx = self.store.db().begin().await?;
        let mut actions = Vec::new();
        let mut profile = SqlBuf::new(
            "UPDATE customers SET display_name = 'Erased customer', email = NULL, phone = NULL, \
             legal_name = NULL, given_name = NULL, family_name = NULL, region = NULL, birth_date = NULL, preferred_language = NULL, notes = NULL, \
             external_id = NULL, source = NULL, tags = '[]', custom_fields = '{}', secrets = NULL, \
             search_doc = '', version = version + 1, updated_at = ",
        );
        profile.push_bind(SqlValue::Timestamp(now));
        profile.push(" WHERE id IN ");
        // Each step and what the receipt says of it, in order.
        let steps: [(SqlBuf, &str); 11] = [
            (
                SqlBuf::new("DELETE FROM customer_keys WHERE customer_id IN "),
                "per-customer data keys destroyed (crypto-shredding: every copy of their sensitive values, backups included, is unreadable)",
            ),
            (
                SqlBuf::new("DELETE FROM customer_secrets WHERE customer_id IN "),
                "sensitive values deleted (ciphertexts and blind indexes)",
            ),
            (
                profile,
                "profiles anonymized (name, email, phone, legal name, region, birth date, language, notes, external id, tags, custom fields)",
            ),
            (
                SqlBuf::new("DELETE FROM contact_points WHERE customer_id IN "),
                "contact points deleted",
            ),
            (
                SqlBuf::new("DELETE FROM contacts WHERE customer_id IN "),
                "contacts deleted",
            ),
            (
                SqlBuf::new("DELETE FROM customer_shares WHERE customer_id IN "),
                "shares deleted",
            ),
            (
                SqlBuf::new("DELETE FROM customer_match_keys WHERE customer_id IN "),
                "duplicate keys deleted",
            ),
            (
                SqlBuf::new(
                    "UPDATE interactions SET subject = '[erased]', body = '', participants = '[]', outcome = '' \
                     WHERE customer_id IN ",
                ),
                "interactions redacted (type, time and duration kept)",
            ),
            (
                SqlBuf::new("UPDATE reminders SET note = '' WHERE customer_id IN "),
                "reminders redacted",
            ),
            (
                SqlBuf::new("UPDATE consents SET evidence = '' WHERE customer_id IN "),
                "consent decisions kept as proof, evidence erased",
            ),
            (
                SqlBuf::new("UPDATE customer_import_rows SET cells = '[]' WHERE customer_id IN "),
                "import report rows erased",
            ),
        ];
        for (head, what) in &steps {
            let n = each_chunk(&mut tx, head, ids).await?;
            actions.push(format!("{n} {what}"));
        }
        let kept = self.count_transactions(&mut tx, ids).await?;
        actions.push(format!(
            "{kept} transactions kept for accounting (amounts, dates), anonymized with the customer"
        ));
        let n = redact_history(&mut tx, ids).await?;
        actions.push(format!(
            "{n} audit entries redacted (fields kept, values erased)"
        ));
        for id in ids {
            let merges = with_tx!(tx, |conn| {
                sqlx::query(
                    "UPDATE customer_merges SET undo = '{}', \
                 undo_deadline = $1 WHERE survivor_id = $2 OR merged_ids LIKE $3",
                )
                .bind(now)
                .bind(*id)
                .bind(format!("%{id}%"))
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
            })?;
            if merges > 0 {
                actions.push(format!("{merges} merges closed (their undo data erased)"));
            }
            crate::history::record(&mut tx, &principal.actor(), *id, "ERASED", &[]).await?;
        }
        // Readers of the change stream replace what they cached, in the erasure's transaction.
        for row in rows_in(&mut tx, ids).await? {
            tx.emit(&events::changed(
                principal,
                events::UPDATED,
                &row,
                vec!["erased".into()],
            ))
            .await?;
        }
        tx.commit().await?;
        tracing::info!(customers = ids.len(), "personal data erased");
        Ok(actions)
    }

    async fn count_transactions(&self, tx: &mut Tx, ids: &[Uuid]) -> Result<u64, DbError> {
        let mut n = 0u64;
        for chunk in ids.chunks(CHUNK) {
            let mut buf = SqlBuf::new("SELECT COUNT(*) FROM transactions WHERE customer_id IN (");
            push_ids(&mut buf, chunk);
            buf.push(")");
            let SqlBuf { sql, binds } = buf;
            let (c,): (i64,) = with_tx!(tx, |conn| db::bind_values(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
                &binds
            )
            .fetch_one(&mut *conn)
            .await)?;
            n += c as u64;
        }
        Ok(n)
    }
}
