//! Sharing a customer with a user or a unit (read or write), on top of the owner and scope
//! rules, and transferring ownership, one by one or in bulk ("all of X's customers to Y").
//! Both are decided by the caller's data scope alone: a share never lets its grantee share
//! further, transfer or delete.
use crate::{
    access::Reach,
    error::Error,
    events, history,
    history::Change,
    service::Customers,
    store::{COLUMNS, CustomerRow},
};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{DbError, Tx},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use uuid::Uuid;

/// Customers transferred per transaction in a bulk transfer.
const TRANSFER_BATCH: i64 = 500;
/// Most customers named in one transfer.
pub const MAX_TRANSFER_NAMES: usize = 1000;

/// Who a share is with.
#[derive(Debug, Clone, PartialEq)]
pub enum Grantee {
    /// A user, by id.
    User(Uuid),
    /// A unit, by path ("/g/east/"): its members and the units below it.
    Unit(String),
}

impl Grantee {
    fn kind(&self) -> &'static str {
        match self {
            Grantee::User(_) => "USER",
            Grantee::Unit(_) => "UNIT",
        }
    }

    fn key(&self) -> String {
        match self {
            Grantee::User(id) => id.to_string(),
            Grantee::Unit(path) => path.clone(),
        }
    }

    /// Checks a unit path: "/" then codes of lower-case letters, digits and "-", each followed
    /// by "/".
    pub fn unit(path: &str) -> Result<Grantee, &'static str> {
        let ok = path.starts_with('/')
            && path.ends_with('/')
            && path.len() <= 1000
            && path.trim_matches('/').split('/').all(|code| {
                !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        if ok && path != "/" {
            Ok(Grantee::Unit(path.to_owned()))
        } else {
            Err("must be a unit path such as \"/g/east/\" (the unit's `path`)")
        }
    }
}

/// A stored share.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ShareRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// "USER" or "UNIT".
    pub grantee_kind: String,
    /// The user id or unit path.
    pub grantee: String,
    /// "READ" or "WRITE".
    pub access: String,
    /// Who shared it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const SHARE_COLUMNS: &str =
    "id, customer_id, grantee_kind, grantee, access, created_by, created_at";

impl Customers {
    /// A customer the caller may share, transfer or delete: in their own data scope.
    async fn owned(&self, principal: &Principal, id: Uuid) -> Result<CustomerRow, Error> {
        let scope = Reach::scope(principal.scope("customers"));
        self.get_within(
            principal,
            id,
            &scope,
            "is shared with you; only its owners may share or transfer it",
        )
        .await
    }

    /// Shares a customer with a user or unit; sharing again with the same grantee changes the
    /// access. Recorded in the customer's history.
    pub async fn share(
        &self,
        principal: &Principal,
        customer: Uuid,
        grantee: Grantee,
        write: bool,
    ) -> Result<ShareRow, Error> {
        self.owned(principal, customer).await?;
        let row = ShareRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            grantee_kind: grantee.kind().to_owned(),
            grantee: grantee.key(),
            access: if write { "WRITE" } else { "READ" }.to_owned(),
            created_by: principal.actor(),
            created_at: crm_platform::db::now(),
        };
        let mut tx = self.store.db().begin().await?;
        let sql = format!(
            "INSERT INTO customer_shares ({SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (customer_id, grantee_kind, grantee) DO UPDATE SET access = excluded.access \
             RETURNING {SHARE_COLUMNS}"
        );
        let stored: ShareRow = with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(&row.grantee_kind)
            .bind(&row.grantee)
            .bind(&row.access)
            .bind(&row.created_by)
            .bind(row.created_at)
            .fetch_one(&mut *conn)
            .await)
        .map_err(DbError::from)?;
        let trail = [Change {
            field: format!("share.{}", stored.grantee_kind.to_lowercase()),
            before: String::new(),
            after: format!("{} {}", stored.grantee, stored.access),
        }];
        history::record(&mut tx, &principal.actor(), customer, "SHARED", &trail).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The shares of a customer the caller reaches.
    pub async fn shares(
        &self,
        principal: &Principal,
        customer: Uuid,
    ) -> Result<Vec<ShareRow>, Error> {
        self.get(principal, customer).await?;
        let sql = format!(
            "SELECT {SHARE_COLUMNS} FROM customer_shares WHERE customer_id = $1 ORDER BY created_at, id"
        );
        Ok(
            with_pool!(self.store.db(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(customer)
            .fetch_all(pool)
            .await)
            .map_err(DbError::from)?,
        )
    }

    /// Withdraws a share.
    pub async fn unshare(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
    ) -> Result<(), Error> {
        self.owned(principal, customer).await?;
        let mut tx = self.store.db().begin().await?;
        let sql = format!(
            "DELETE FROM customer_shares WHERE id = $1 AND customer_id = $2 RETURNING {SHARE_COLUMNS}"
        );
        let gone: Option<ShareRow> = with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(customer)
            .fetch_optional(&mut *conn)
            .await)
        .map_err(DbError::from)?;
        let Some(gone) = gone else {
            return Err(Error::NotFound(format!(
                "{}/shares/{id}",
                crate::domain::name_of(customer)
            )));
        };
        let trail = [Change {
            field: format!("share.{}", gone.grantee_kind.to_lowercase()),
            before: format!("{} {}", gone.grantee, gone.access),
            after: String::new(),
        }];
        history::record(&mut tx, &principal.actor(), customer, "UNSHARED", &trail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives customers to another owner (and that owner's unit, which unit and subtree scopes
    /// follow): the named ones (all or none), or every customer of `from_owner` in the
    /// caller's scope, in batches. Each is versioned, recorded in its history and announced
    /// (`customer.updated`). Returns how many changed owner.
    pub async fn transfer(
        &self,
        principal: &Principal,
        customers: Transfer,
        to_owner: Uuid,
        to_unit_path: &str,
    ) -> Result<u64, Error> {
        match customers {
            Transfer::Named(ids) => {
                let mut rows = Vec::with_capacity(ids.len());
                for id in ids {
                    rows.push(self.owned(principal, id).await?);
                }
                let mut tx = self.store.db().begin().await?;
                let done = self
                    .reassign(&mut tx, principal, &rows, to_owner, to_unit_path)
                    .await?;
                tx.commit().await?;
                Ok(done)
            }
            Transfer::OwnedBy(from) => {
                let scope = Reach::scope(principal.scope("customers"));
                let mut done = 0;
                loop {
                    let mut buf = SqlBuf::new(format!("SELECT {COLUMNS} FROM customers WHERE "));
                    scope.push_condition(&mut buf);
                    buf.push(" AND owner_id = ");
                    buf.push_bind(SqlValue::Uuid(from));
                    buf.push(" ORDER BY id LIMIT ");
                    buf.push_bind(SqlValue::Int(TRANSFER_BATCH));
                    let rows = self.store.fetch(buf).await?;
                    if rows.is_empty() || from == to_owner {
                        return Ok(done);
                    }
                    let mut tx = self.store.db().begin().await?;
                    done += self
                        .reassign(&mut tx, principal, &rows, to_owner, to_unit_path)
                        .await?;
                    tx.commit().await?;
                }
            }
        }
    }

    async fn reassign(
        &self,
        tx: &mut Tx,
        principal: &Principal,
        rows: &[CustomerRow],
        to_owner: Uuid,
        to_unit_path: &str,
    ) -> Result<u64, Error> {
        let now = crm_platform::db::now();
        let mut done = 0;
        for row in rows {
            if row.owner_id == Some(to_owner) && row.owner_unit_path == to_unit_path {
                continue;
            }
            let sql = format!(
                "UPDATE customers SET owner_id = $1, owner_unit_path = $2, version = version + 1, updated_at = $3 \
                 WHERE id = $4 AND version = $5 RETURNING {COLUMNS}"
            );
            let updated: Option<CustomerRow> =
                with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(to_owner)
                    .bind(to_unit_path)
                    .bind(now)
                    .bind(row.id)
                    .bind(row.version)
                    .fetch_optional(&mut *conn)
                    .await)
                .map_err(DbError::from)?;
            let Some(updated) = updated else {
                return Err(Error::EtagMismatch(crate::domain::name_of(row.id)));
            };
            let mut trail = history::changes(Some(row), Some(&updated));
            if row.owner_unit_path != to_unit_path {
                trail.push(Change {
                    field: "owner_unit_path".into(),
                    before: row.owner_unit_path.clone(),
                    after: to_unit_path.to_owned(),
                });
            }
            history::record(tx, &principal.actor(), row.id, "TRANSFERRED", &trail).await?;
            let fields = trail.iter().map(|c| c.field.clone()).collect();
            tx.emit(&events::changed(
                principal,
                events::UPDATED,
                &updated,
                fields,
            ))
            .await?;
            done += 1;
        }
        Ok(done)
    }
}

/// Which customers a transfer moves.
#[derive(Debug, Clone)]
pub enum Transfer {
    /// These, all or none.
    Named(Vec<Uuid>),
    /// Every customer of this owner in the caller's scope.
    OwnedBy(Uuid),
}
