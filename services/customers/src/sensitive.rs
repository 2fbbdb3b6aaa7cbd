//! Sensitive customer fields (national ID, bank account): encrypted at rest with AES-256-GCM
//! (the key id is part of the stored value), found by exact match through a keyed hash (blind
//! index), shown masked unless the caller holds `customers.sensitive.read`, and every unmasked
//! read is written to the customer's audit trail.
//!
//! The values live in `customer_secrets`, one row per customer and field, so adding a field
//! is one entry in [`FIELDS`] plus its proto field (see `api::sensitive`): no migration.
use crate::{error::Error, history::Change, service::Customers};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    crypto::{DataKey, Keyring, mask, normalize_identifier},
    db::{Db, DbError, Tx},
    permissions::CUSTOMERS_SENSITIVE_READ,
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use std::collections::HashMap;

mod rotation;
use uuid::Uuid;

/// One sensitive field: its API name and how a value is checked and normalized.
#[derive(Debug)]
pub struct Field {
    /// API name, e.g. "national_id".
    pub name: &'static str,
    /// Checks a value and returns its normalized form (what is encrypted and indexed).
    pub parse: fn(&str) -> Result<String, &'static str>,
}

/// Every sensitive field.
pub const FIELDS: &[Field] = &[
    Field {
        name: "national_id",
        parse: parse_national_id,
    },
    Field {
        name: "bank_account",
        parse: parse_bank_account,
    },
];

/// The field with this API name.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// A national identity number: 4-32 letters and digits once spaces and "-" are removed. An
/// 18-character Chinese resident ID must carry a valid check digit (GB 11643).
fn parse_national_id(raw: &str) -> Result<String, &'static str> {
    let value = normalize_identifier(raw);
    if !(4..=32).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("must be 4-32 letters and digits (spaces and \"-\" are ignored)");
    }
    let bytes = value.as_bytes();
    let chinese = bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
    if chinese {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = bytes[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err("is not a valid resident ID number: the check digit does not match");
        }
    }
    Ok(value)
}

/// A bank account number or IBAN: 8-34 letters and digits once spaces and "-" are removed.
fn parse_bank_account(raw: &str) -> Result<String, &'static str> {
    let value = normalize_identifier(raw);
    if !(8..=34).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("must be 8-34 letters and digits (spaces and \"-\" are ignored)");
    }
    Ok(value)
}

/// Plaintext values by field, of one customer. Never printed.
#[derive(Clone, Default, PartialEq)]
pub struct Values(pub Vec<(&'static str, String)>);

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.0.iter().map(|(n, _)| *n).collect();
        write!(f, "Values({names:?}, <redacted>)")
    }
}

impl Values {
    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The same fields, masked ("************1234").
    pub fn masked(&self) -> Values {
        Values(self.0.iter().map(|(n, v)| (*n, mask(v))).collect())
    }
}

/// Writes to apply: `Some` sets a (normalized) value, `None` clears it. Never printed.
#[derive(Clone, Default)]
pub struct Writes(pub Vec<(&'static str, Option<String>)>);

impl std::fmt::Debug for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.0.iter().map(|(n, _)| *n).collect();
        write!(f, "Writes({names:?}, <redacted>)")
    }
}

/// A stored secret.
#[derive(sqlx::FromRow)]
struct SecretRow {
    customer_id: Uuid,
    field: String,
    ciphertext: String,
}

/// Encryption and storage of sensitive values.
#[derive(Clone, Debug)]
pub struct Vault {
    keyring: Keyring,
}

/// Associated data of a value: the field and the customer, so a ciphertext moved to another
/// field or another customer does not decrypt.
fn aad(field: &str, customer: Uuid) -> String {
    format!("{field}:{customer}")
}

/// What a customer's data key is bound to when wrapped.
fn owner(customer: Uuid) -> String {
    format!("customer:{customer}")
}

fn crypto_error(e: crm_platform::crypto::CryptoError) -> Error {
    Error::Corrupt(format!("sensitive field: {e}"))
}

impl Vault {
    /// A vault over these keys.
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }

    /// The keys.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyed hash a value is found by.
    pub fn index(&self, field: &str, normalized: &str) -> String {
        self.keyring.blind_index(field, normalized)
    }

    /// Applies `writes` to a customer in `tx` and returns the audit trail entries (masked).
    pub async fn write(
        &self,
        tx: &mut Tx,
        customer: Uuid,
        writes: &Writes,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, Error> {
        if writes.0.is_empty() {
            return Ok(Vec::new());
        }
        let before = self.read_in(tx, customer).await?;
        let key = if writes.0.iter().any(|(_, v)| v.is_some()) {
            self.data_key_in(tx, customer, true).await?
        } else {
            None
        };
        let mut trail = Vec::new();
        for (name, value) in &writes.0 {
            let old = before.get(name).unwrap_or_default();
            let new = value.as_deref().unwrap_or_default();
            if old == new {
                continue;
            }
            let masked = |v: &str| if v.is_empty() { String::new() } else { mask(v) };
            trail.push(Change {
                field: (*name).to_owned(),
                before: masked(old),
                after: masked(new),
            });
            match value {
                Some(plain) => {
                    let key = key
                        .as_ref()
                        .ok_or_else(|| Error::Corrupt("no data key".into()))?;
                    let sealed = key
                        .seal(&self.keyring, &aad(name, customer), plain)
                        .map_err(crypto_error)?;
                    let index = self.index(name, plain);
                    const SQL: &str = "INSERT INTO customer_secrets (customer_id, field, ciphertext, blind_index, updated_at) \
                        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id, field) DO UPDATE SET \
                        ciphertext = excluded.ciphertext, blind_index = excluded.blind_index, updated_at = excluded.updated_at";
                    with_tx!(tx, |conn| sqlx::query(SQL)
                        .bind(customer)
                        .bind(*name)
                        .bind(&sealed)
                        .bind(&index)
                        .bind(now)
                        .execute(&mut *conn)
                        .await
                        .map(drop))
                    .map_err(DbError::from)?;
                }
                None => {
                    const SQL: &str =
                        "DELETE FROM customer_secrets WHERE customer_id = $1 AND field = $2";
                    with_tx!(tx, |conn| sqlx::query(SQL)
                        .bind(customer)
                        .bind(*name)
                        .execute(&mut *conn)
                        .await
                        .map(drop))
                    .map_err(DbError::from)?;
                }
            }
        }
        if !trail.is_empty() {
            Self::refresh_packed(tx, customer).await?;
        }
        Ok(trail)
    }

    /// Copies the customer's ciphertexts into its row (`customers.secrets`), where reads find
    /// them.
    async fn refresh_packed(tx: &mut Tx, customer: Uuid) -> Result<(), DbError> {
        let aggregate = match tx.backend() {
            "postgres" => "string_agg",
            _ => "group_concat",
        };
        // The wrapped data key travels with the values ("@key=..."), so a read needs no
        // second query; no values, no copy (NULL || ... is NULL).
        let sql = format!(
            "UPDATE customers SET secrets = (SELECT {aggregate}(field || '=' || ciphertext, ',') \
             FROM customer_secrets s WHERE s.customer_id = $1) || COALESCE((SELECT ',@key=' || wrapped \
             FROM customer_keys k WHERE k.customer_id = $1), '') WHERE id = $1"
        );
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(customer)
            .execute(&mut *conn)
            .await
            .map(drop))?;
        Ok(())
    }

    async fn read_in(&self, tx: &mut Tx, customer: Uuid) -> Result<Values, Error> {
        const SQL: &str =
            "SELECT customer_id, field, ciphertext FROM customer_secrets WHERE customer_id = $1";
        let rows: Vec<SecretRow> = with_tx!(tx, |conn| sqlx::query_as(SQL)
            .bind(customer)
            .fetch_all(&mut *conn)
            .await)
        .map_err(DbError::from)?;
        let keys: HashMap<Uuid, DataKey> = self
            .data_key_in(tx, customer, false)
            .await?
            .map(|k| (customer, k))
            .into_iter()
            .collect();
        Ok(self
            .decrypt_rows(rows, &keys)?
            .remove(&customer)
            .unwrap_or_default())
    }

    /// The plaintext values of these customers (absent: none stored).
    pub async fn read(&self, db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Values>, Error> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut buf = SqlBuf::new(
            "SELECT customer_id, field, ciphertext FROM customer_secrets WHERE customer_id IN (",
        );
        buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<SecretRow> = with_pool!(db, |pool| crm_platform::db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        let keys = self.data_keys(db, ids).await?;
        self.decrypt_rows(rows, &keys)
    }

    /// The data keys of these customers (those that have one).
    async fn data_keys(&self, db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, DataKey>, Error> {
        let mut buf =
            SqlBuf::new("SELECT customer_id, wrapped FROM customer_keys WHERE customer_id IN (");
        buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id)));
        buf.push(")");
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<(Uuid, String)> = with_pool!(db, |pool| crm_platform::db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)
        .map_err(DbError::from)?;
        rows.into_iter()
            .map(|(id, wrapped)| {
                let key = self
                    .keyring
                    .unwrap_data_key(&owner(id), &wrapped)
                    .map_err(crypto_error)?;
                Ok((id, key))
            })
            .collect()
    }

    /// A customer's data key in `tx`; with `create`, made (and stored wrapped) when missing.
    async fn data_key_in(
        &self,
        tx: &mut Tx,
        customer: Uuid,
        create: bool,
    ) -> Result<Option<DataKey>, Error> {
        let found: Option<(String,)> = with_tx!(tx, |conn| sqlx::query_as(
            "SELECT wrapped FROM customer_keys WHERE customer_id = $1"
        )
        .bind(customer)
        .fetch_optional(&mut *conn)
        .await)
        .map_err(DbError::from)?;
        if let Some((wrapped,)) = found {
            return self
                .keyring
                .unwrap_data_key(&owner(customer), &wrapped)
                .map(Some)
                .map_err(crypto_error);
        }
        if !create {
            return Ok(None);
        }
        let (key, wrapped) = self
            .keyring
            .new_data_key(&owner(customer))
            .map_err(crypto_error)?;
        with_tx!(tx, |conn| sqlx::query(
            "INSERT INTO customer_keys (customer_id, wrapped, created_at) VALUES ($1, $2, $3)"
        )
        .bind(customer)
        .bind(&wrapped)
        .bind(crm_platform::db::now())
        .execute(&mut *conn)
        .await
        .map(drop))
        .map_err(DbError::from)?;
        Ok(Some(key))
    }

    /// The values packed in a customer row's `secrets`.
    pub fn unpack(&self, customer: Uuid, packed: Option<&str>) -> Result<Values, Error> {
        let mut keys = HashMap::new();
        let mut rows = Vec::new();
        for (field, value) in packed
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| item.split_once('='))
        {
            if field == "@key" {
                let key = self
                    .keyring
                    .unwrap_data_key(&owner(customer), value)
                    .map_err(crypto_error)?;
                keys.insert(customer, key);
            } else {
                rows.push(SecretRow {
                    customer_id: customer,
                    field: field.to_owned(),
                    ciphertext: value.to_owned(),
                });
            }
        }
        Ok(self
            .decrypt_rows(rows, &keys)?
            .remove(&customer)
            .unwrap_or_default())
    }

    /// Opens values: sealed with the customer's data key, or (written before data keys)
    /// with the keyring itself.
    fn decrypt_rows(
        &self,
        rows: Vec<SecretRow>,
        keys: &HashMap<Uuid, DataKey>,
    ) -> Result<HashMap<Uuid, Values>, Error> {
        let mut out: HashMap<Uuid, Values> = HashMap::new();
        for row in rows {
            // Fields no longer listed are kept in storage but not shown.
            let Some(f) = field(&row.field) else { continue };
            let bound = aad(f.name, row.customer_id);
            let plain = if DataKey::sealed(&row.ciphertext) {
                keys.get(&row.customer_id)
                    .ok_or_else(|| Error::Corrupt("a sensitive value without its key".into()))?
                    .open(&bound, &row.ciphertext)
            } else {
                self.keyring.decrypt(&bound, &row.ciphertext)
            }
            .map_err(crypto_error)?;
            out.entry(row.customer_id)
                .or_default()
                .0
                .push((f.name, plain));
        }
        Ok(out)
    }

    /// Customers whose sensitive `field` (every field when `None`) equals `value` once
    /// normalized, found through the blind index.
    pub async fn find(
        &self,
        db: &Db,
        field_name: Option<&str>,
        value: &str,
    ) -> Result<Vec<Uuid>, DbError> {
        let normalized = normalize_identifier(value);
        let mut buf = SqlBuf::new("SELECT customer_id FROM customer_secrets WHERE ");
        let mut first = true;
        for f in FIELDS
            .iter()
            .filter(|f| field_name.is_none_or(|n| n == f.name))
        {
            buf.push(if first { "(" } else { " OR (" });
            first = false;
            buf.push("field = ");
            buf.push_bind(SqlValue::Text(f.name.to_owned()));
            buf.push(" AND blind_index = ");
            buf.push_bind(SqlValue::Text(self.index(f.name, &normalized)));
            buf.push(")");
        }
        if first {
            return Ok(Vec::new());
        }
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<(Uuid,)> = with_pool!(db, |pool| crm_platform::db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

impl Customers {
    /// The sensitive values of these customers as the caller may see them: in clear with
    /// `customers.sensitive.read` (each customer's read is recorded in its audit trail),
    /// masked otherwise. The customers must already be known to be in the caller's scope.
    pub async fn sensitive_values(
        &self,
        principal: &Principal,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Values>, Error> {
        let values = self.vault.read(self.store.db(), ids).await?;
        self.shown(principal, values).await
    }

    /// One customer the caller reaches, with its sensitive values as the caller may see them
    /// (see [`Customers::sensitive_values`]), in one round trip.
    pub async fn get_showing_sensitive(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<(crate::store::CustomerRow, Values), Error> {
        let row = self.get(principal, id).await?;
        let values = self.vault.unpack(id, row.secrets.as_deref())?;
        let mut shown = self.shown(principal, HashMap::from([(id, values)])).await?;
        Ok((row, shown.remove(&id).unwrap_or_default()))
    }

    /// One customer the caller reaches, with its sensitive values masked whatever the caller's
    /// permissions, and no read recorded (the caller asked for masked values).
    pub async fn get_masked(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<(crate::store::CustomerRow, Values), Error> {
        let row = self.get(principal, id).await?;
        let values = self.vault.unpack(id, row.secrets.as_deref())?;
        Ok((row, values.masked()))
    }

    /// Values masked, or in clear and audited with `customers.sensitive.read`.
    async fn shown(
        &self,
        principal: &Principal,
        mut values: HashMap<Uuid, Values>,
    ) -> Result<HashMap<Uuid, Values>, Error> {
        values.retain(|_, v| !v.0.is_empty());
        if !principal.has(CUSTOMERS_SENSITIVE_READ) {
            return Ok(values.into_iter().map(|(id, v)| (id, v.masked())).collect());
        }
        if !values.is_empty() {
            let mut tx = self.store.db().begin().await?;
            for (id, v) in &values {
                let read: Vec<Change> =
                    v.0.iter()
                        .map(|(name, _)| Change {
                            field: (*name).to_owned(),
                            before: String::new(),
                            after: String::new(),
                        })
                        .collect();
                crate::history::record(&mut tx, &principal.actor(), *id, "SENSITIVE_READ", &read)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(values)
    }

    /// The sensitive values of these customer rows as the caller may see them (see
    /// [`Customers::sensitive_values`]), from the rows' own copy of the ciphertexts.
    pub async fn sensitive_of(
        &self,
        principal: &Principal,
        rows: &[crate::store::CustomerRow],
    ) -> Result<HashMap<Uuid, Values>, Error> {
        let mut values = HashMap::new();
        for row in rows.iter().filter(|r| r.secrets.is_some()) {
            values.insert(row.id, self.vault.unpack(row.id, row.secrets.as_deref())?);
        }
        self.shown(principal, values).await
    }

    /// The sensitive values of these customers, masked: for write responses, which echo
    /// what was stored without revealing it.
    pub async fn masked_values(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Values>, Error> {
        let values = self.vault.read(self.store.db(), ids).await?;
        Ok(values.into_iter().map(|(id, v)| (id, v.masked())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_resident_ids_need_a_valid_check_digit() {
        // 11010519491231002X is the standard's worked example.
        assert_eq!(
            parse_national_id("110105 19491231 002x"),
            Ok("11010519491231002X".to_owned())
        );
        assert!(parse_national_id("110105194912310021").is_err());
        // Other countries' numbers pass on shape alone.
        assert_eq!(parse_national_id("AB-123456-C"), Ok("AB123456C".to_owned()));
        assert!(parse_national_id("12").is_err());
        assert!(parse_national_id("1234*5678").is_err());
    }

    #[test]
    fn bank_accounts_are_normalized() {
        assert_eq!(
            parse_bank_account("DE89 3704 0044 0532 0130 00"),
            Ok("DE89370400440532013000".to_owned())
        );
        assert!(parse_bank_account("1234").is_err());
    }

    #[test]
    fn values_never_print() {
        let v = Values(vec![("national_id", "11010519491231002X".into())]);
        assert!(!format!("{v:?}").contains("1101"));
        assert_eq!(v.masked().get("national_id"), Some("************002X"));
    }
}
