//! Key rotation of the vault: values sealed before data keys are sealed anew, and data keys
//! wrapped by an older key are re-wrapped; and the count of what is left to do.
use super::{SecretRow, Vault, aad, crypto_error, owner};
use crate::error::Error;
use crm_platform::{
    db::{Db, DbError},
    with_pool, with_tx,
};
use uuid::Uuid;

impl Vault {
    /// Brings every value under the current key, `batch` at a time, each batch its own
    /// transaction: values written before data keys existed are sealed with their customer's
    /// data key, and data keys wrapped by an older key are re-wrapped (the values sealed with
    /// them stay as they are). Safe to interrupt and run again, and beside live writes: a row
    /// is replaced only if it is still the one that was read. Returns how many rows changed.
    pub async fn rotate(&self, db: &Db, batch: usize) -> Result<u64, Error> {
        Ok(self.seal_legacy(db, batch).await? + self.rewrap_keys(db, batch).await?)
    }

    async fn seal_legacy(&self, db: &Db, batch: usize) -> Result<u64, Error> {
        let mut done = 0;
        let mut after = (Uuid::nil(), String::new());
        loop {
            const SQL: &str = "SELECT customer_id, field, ciphertext FROM customer_secrets \
                WHERE ciphertext NOT LIKE 'd1.%' AND (customer_id, field) > ($1, $2) \
                ORDER BY customer_id, field LIMIT $3";
            let rows: Vec<SecretRow> = with_pool!(db, |pool| sqlx::query_as(SQL)
                .bind(after.0)
                .bind(&after.1)
                .bind(batch as i64)
                .fetch_all(pool)
                .await)
            .map_err(DbError::from)?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = (last.customer_id, last.field.clone());
            let mut tx = db.begin().await?;
            for row in &rows {
                let bound = aad(&row.field, row.customer_id);
                let plain = zeroize::Zeroizing::new(
                    self.keyring
                        .decrypt(&bound, &row.ciphertext)
                        .map_err(crypto_error)?,
                );
                let key = self
                    .data_key_in(&mut tx, row.customer_id, true)
                    .await?
                    .ok_or_else(|| Error::Corrupt("no data key".into()))?;
                let fresh = key
                    .seal(&self.keyring, &bound, &plain)
                    .map_err(crypto_error)?;
                const UPDATE: &str = "UPDATE customer_secrets SET ciphertext = $1 \
                    WHERE customer_id = $2 AND field = $3 AND ciphertext = $4";
                let changed = with_tx!(tx, |conn| sqlx::query(UPDATE)
                    .bind(&fresh)
                    .bind(row.customer_id)
                    .bind(&row.field)
                    .bind(&row.ciphertext)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))
                .map_err(DbError::from)?;
                if changed > 0 {
                    Self::refresh_packed(&mut tx, row.customer_id).await?;
                }
                done += changed;
            }
            tx.commit().await?;
        }
    }

    async fn rewrap_keys(&self, db: &Db, batch: usize) -> Result<u64, Error> {
        let mut done = 0;
        let mut after = Uuid::nil();
        let current = format!(
            "{}%",
            crm_platform::auth::escape_like(&self.keyring.current_prefix())
        );
        loop {
            const SQL: &str = "SELECT customer_id, wrapped FROM customer_keys \
                WHERE wrapped NOT LIKE $1 ESCAPE '\\' AND customer_id > $2 ORDER BY customer_id LIMIT $3";
            let rows: Vec<(Uuid, String)> = with_pool!(db, |pool| sqlx::query_as(SQL)
                .bind(&current)
                .bind(after)
                .bind(batch as i64)
                .fetch_all(pool)
                .await)
            .map_err(DbError::from)?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = last.0;
            let mut tx = db.begin().await?;
            for (customer, wrapped) in &rows {
                let fresh = self
                    .keyring
                    .rotate(&owner(*customer), wrapped)
                    .map_err(crypto_error)?;
                const UPDATE: &str =
                    "UPDATE customer_keys SET wrapped = $1 WHERE customer_id = $2 AND wrapped = $3";
                let changed = with_tx!(tx, |conn| sqlx::query(UPDATE)
                    .bind(&fresh)
                    .bind(customer)
                    .bind(wrapped)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected()))
                .map_err(DbError::from)?;
                if changed > 0 {
                    Self::refresh_packed(&mut tx, *customer).await?;
                }
                done += changed;
            }
            tx.commit().await?;
        }
    }

    /// How many rows [`Vault::rotate`] would change: values not sealed with a data key, and
    /// data keys not wrapped by the current key.
    pub async fn stale(&self, db: &Db) -> Result<u64, DbError> {
        // Counted by the database: the tables may hold millions of rows.
        const VALUES: &str =
            "SELECT COUNT(*) FROM customer_secrets WHERE ciphertext NOT LIKE 'd1.%'";
        const KEYS: &str =
            "SELECT COUNT(*) FROM customer_keys WHERE wrapped NOT LIKE $1 ESCAPE '\\'";
        let pattern = format!(
            "{}_%",
            crm_platform::auth::escape_like(&self.keyring.current_prefix())
        );
        let (values,): (i64,) =
            with_pool!(db, |pool| sqlx::query_as(VALUES).fetch_one(pool).await)?;
        let (keys,): (i64,) = with_pool!(db, |pool| sqlx::query_as(KEYS)
            .bind(&pattern)
            .fetch_one(pool)
            .await)?;
        Ok((values + keys) as u64)
    }
}
