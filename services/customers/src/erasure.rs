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

/// Runs `sql` + "(ids)" for every chunk of ids in `tx`; returns the rows affected.
async fn each_chunk(tx: &mut Tx, sql: &str, ids: &[Uuid]) -> Result<u64, DbError> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut buf = SqlBuf::new(sql);
        buf.push("(");
        push_ids(&mut buf, chunk);
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        n += with_tx!(tx, |conn| db::bind_args(
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(n)
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
        let mut step = |n: u64, what: &str| actions.push(format!("{n} {what}"));
        let keys = each_chunk(
            &mut tx,
            "DELETE FROM customer_keys WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(
            keys,
            "per-customer data keys destroyed (crypto-shredding: every copy of their sensitive values, backups included, is unreadable)",
        );
        let sensitive = each_chunk(
            &mut tx,
            "DELETE FROM customer_secrets WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(
            sensitive,
            "sensitive values deleted (ciphertexts and blind indexes)",
        );
        let profile = {
            let mut n = 0;
            for chunk in ids.chunks(CHUNK) {
                let mut buf = SqlBuf::new(
                    "UPDATE customers SET display_name = 'Erased customer', email = NULL, phone = NULL, \
                     legal_name = NULL, region = NULL, birth_date = NULL, preferred_language = NULL, notes = NULL, \
                     external_id = NULL, source = NULL, tags = '[]', custom_fields = '{}', secrets = NULL, \
                     search_doc = '', version = version + 1, updated_at = ",
                );
                buf.push_bind(SqlValue::Timestamp(now));
                buf.push(" WHERE id IN (");
                push_ids(&mut buf, chunk);
                buf.push(")");
                let SqlBuf { sql, binds } = buf;
                n += with_tx!(tx, |conn| db::bind_args(
                    sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
                    &binds
                )
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected()))?;
            }
            n
        };
        step(
            profile,
            "profiles anonymized (name, email, phone, legal name, region, birth date, language, notes, external id, tags, custom fields)",
        );
        let n = each_chunk(
            &mut tx,
            "DELETE FROM contact_points WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "contact points deleted");
        let n = each_chunk(&mut tx, "DELETE FROM contacts WHERE customer_id IN ", ids).await?;
        step(n, "contacts deleted");
        let n = each_chunk(
            &mut tx,
            "DELETE FROM customer_shares WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "shares deleted");
        let n = each_chunk(
            &mut tx,
            "DELETE FROM customer_match_keys WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "duplicate keys deleted");
        let n = each_chunk(
            &mut tx,
            "UPDATE interactions SET subject = '[erased]', body = '', participants = '[]', outcome = '' WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "interactions redacted (type, time and duration kept)");
        let n = each_chunk(
            &mut tx,
            "UPDATE reminders SET note = '' WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "reminders redacted");
        let n = each_chunk(
            &mut tx,
            "UPDATE consents SET evidence = '' WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "consent decisions kept as proof, evidence erased");
        let kept = self.count_transactions(&mut tx, ids).await?;
        step(
            kept,
            "transactions kept for accounting (amounts, dates), anonymized with the customer",
        );
        let n = redact_history(&mut tx, ids).await?;
        step(n, "audit entries redacted (fields kept, values erased)");
        let n = each_chunk(
            &mut tx,
            "UPDATE customer_import_rows SET cells = '[]' WHERE customer_id IN ",
            ids,
        )
        .await?;
        step(n, "import report rows erased");
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
                step(merges, "merges closed (their undo data erased)");
            }
            crate::history::record(&mut tx, &principal.actor(), *id, "ERASED", &[]).await?;
        }
        let mut buf = SqlBuf::new(format!(
            "SELECT {} FROM customers WHERE id IN (",
            crate::store::COLUMNS
        ));
        push_ids(&mut buf, &ids[..ids.len().min(CHUNK)]);
        buf.push(")");
        tx.commit().await?;
        // Readers of the change stream replace what they cached.
        let rows = self.store.fetch(buf).await?;
        let mut tx = self.store.db().begin().await?;
        for row in &rows {
            tx.emit(&events::changed(
                principal,
                events::UPDATED,
                row,
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
