//! Contact points: several emails, phones and postal addresses per customer, each with a label,
//! one primary per kind. They follow the customer's data scope.
use crate::{error::Error, service::Customers};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{DbError, Tx},
    with_pool, with_tx,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "id, customer_id, kind, label, is_primary, value, created_at";

/// Kinds, in proto order.
pub const KINDS: &[&str] = &["EMAIL", "PHONE", "ADDRESS"];

/// A postal address: as entered, and in parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// Region.
    pub region: String,
    /// City.
    pub city: String,
    /// Postal code, as entered.
    pub postal_code: String,
    /// Street lines.
    pub lines: Vec<String>,
    /// The whole address as written.
    pub as_entered: String,
}

/// A stored contact point; `value` is the email, the E.164 phone, or the address as JSON.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ContactPointRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// "EMAIL", "PHONE" or "ADDRESS".
    pub kind: String,
    /// Label.
    pub label: String,
    /// Primary of its kind.
    pub is_primary: bool,
    /// The value.
    pub value: String,
    /// Added.
    pub created_at: DateTime<Utc>,
}

impl ContactPointRow {
    /// As the duplicate matcher takes it: (kind, stored value).
    pub fn pair(&self) -> (&str, &str) {
        (&self.kind, &self.value)
    }

    /// The address, for an ADDRESS.
    pub fn address(&self) -> Option<Address> {
        (self.kind == "ADDRESS")
            .then(|| serde_json::from_str(&self.value).ok())
            .flatten()
    }
}

/// Changes to a contact point, validated.
#[derive(Debug, Clone, Default)]
pub struct ContactPointChange {
    /// New label.
    pub label: Option<String>,
    /// New value with its kind.
    pub value: Option<(&'static str, String)>,
    /// Make it the primary of its kind.
    pub primary: bool,
}

/// A contact point to add, validated.
#[derive(Debug, Clone)]
pub struct NewContactPoint {
    /// Kind.
    pub kind: &'static str,
    /// Label.
    pub label: String,
    /// Asked to be primary.
    pub primary: bool,
    /// The value (see [`ContactPointRow::value`]).
    pub value: String,
}

/// A customer's contact points, by kind, primary first.
fn of_customer_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM contact_points WHERE customer_id = $1 ORDER BY kind, is_primary DESC, created_at, id"
    )
}

/// The contact points of several customers, by customer (one query per 1,000 customers).
pub async fn of_customers(
    db: &crm_platform::db::Db,
    customers: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<ContactPointRow>>, DbError> {
    let mut out: std::collections::HashMap<Uuid, Vec<ContactPointRow>> = Default::default();
    for chunk in customers.chunks(1000) {
        let mut buf = crm_platform::sql::SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM contact_points WHERE customer_id IN ("
        ));
        buf.push_binds(
            chunk
                .iter()
                .map(|id| crm_platform::sql::SqlValue::Uuid(*id)),
        );
        buf.push(") ORDER BY customer_id, kind, is_primary DESC, created_at, id");
        let crm_platform::sql::SqlBuf { sql, binds } = buf;
        let rows: Vec<ContactPointRow> = with_pool!(db, |pool| crm_platform::db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)?;
        for r in rows {
            out.entry(r.customer_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// The contact points of `customer` in a map made by [`of_customers`], as (kind, value).
pub fn pairs_of(
    by_customer: &std::collections::HashMap<Uuid, Vec<ContactPointRow>>,
    customer: Uuid,
) -> impl Iterator<Item = (&str, &str)> {
    by_customer
        .get(&customer)
        .into_iter()
        .flatten()
        .map(ContactPointRow::pair)
}

pub(crate) async fn of_customer(
    tx: &mut Tx,
    customer: Uuid,
) -> Result<Vec<ContactPointRow>, DbError> {
    let sql = of_customer_sql();
    Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(customer)
    .fetch_all(&mut *conn)
    .await)?)
}

async fn set_primary(tx: &mut Tx, customer: Uuid, kind: &str, id: Uuid) -> Result<(), DbError> {
    // Unset first: the unique index allows one primary per kind at any moment.
    const UNSET: &str = "UPDATE contact_points SET is_primary = FALSE WHERE customer_id = $1 AND kind = $2 AND is_primary";
    const SET: &str = "UPDATE contact_points SET is_primary = TRUE WHERE id = $1";
    with_tx!(tx, |conn| {
        sqlx::query(UNSET)
            .bind(customer)
            .bind(kind)
            .execute(&mut *conn)
            .await?;
        sqlx::query(SET)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    })?;
    Ok(())
}

impl Customers {
    /// Adds a contact point to a customer in the caller's scope.
    pub async fn add_contact_point(
        &self,
        principal: &Principal,
        customer: Uuid,
        new: NewContactPoint,
    ) -> Result<ContactPointRow, Error> {
        let owner = self.get_for_write(principal, customer).await?;
        let mut tx = self.store.db().begin().await?;
        let existing = of_customer(&mut tx, customer).await?;
        let first_of_kind = !existing.iter().any(|p| p.kind == new.kind);
        let mut row = ContactPointRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            kind: new.kind.to_owned(),
            label: new.label,
            is_primary: false,
            value: new.value,
            created_at: crm_platform::db::now(),
        };
        let sql =
            format!("INSERT INTO contact_points ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(&row.kind)
            .bind(&row.label)
            .bind(row.is_primary)
            .bind(&row.value)
            .bind(row.created_at)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        if new.primary || first_of_kind {
            set_primary(&mut tx, customer, new.kind, row.id).await?;
            row.is_primary = true;
        }
        // The duplicate keys come from every contact point too.
        crate::duplicates::write_keys(&mut tx, &owner, &self.duplicates.matcher()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every contact point of a customer in the caller's scope: by kind, primary first.
    pub async fn list_contact_points(
        &self,
        principal: &Principal,
        customer: Uuid,
    ) -> Result<Vec<ContactPointRow>, Error> {
        self.get(principal, customer).await?;
        self.contact_points_of(customer).await
    }

    /// Every contact point of a customer already checked to be in scope.
    pub(crate) async fn contact_points_of(
        &self,
        customer: Uuid,
    ) -> Result<Vec<ContactPointRow>, Error> {
        // One statement on any connection: a transaction would cost two more round trips.
        let sql = of_customer_sql();
        let db = self.store.db();
        Ok(
            with_pool!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(customer)
                .fetch_all(pool)
                .await)
            .map_err(DbError::from)?,
        )
    }

    /// Changes a contact point: its label and value (already checked for its kind) when given,
    /// and makes it the primary of its kind when `primary`.
    pub async fn update_contact_point(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
        change: ContactPointChange,
    ) -> Result<ContactPointRow, Error> {
        let owner = self.get_for_write(principal, customer).await?;
        let mut tx = self.store.db().begin().await?;
        let existing = of_customer(&mut tx, customer).await?;
        let Some(mut row) = existing.into_iter().find(|p| p.id == id) else {
            return Err(Error::NotFound(format!(
                "{}/contactPoints/{id}",
                crate::domain::name_of(customer)
            )));
        };
        if let Some((kind, value)) = change.value {
            if kind != row.kind {
                return Err(Error::field(
                    "update_mask",
                    format!(
                        "this contact point is an {}: change its value of that kind",
                        row.kind
                    ),
                ));
            }
            row.value = value;
        }
        if let Some(label) = change.label {
            row.label = label;
        }
        const SQL: &str = "UPDATE contact_points SET label = $1, value = $2 WHERE id = $3";
        with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(&row.label)
            .bind(&row.value)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        if change.primary && !row.is_primary {
            set_primary(&mut tx, customer, &row.kind.clone(), id).await?;
            row.is_primary = true;
        }
        // The duplicate keys come from every contact point too.
        crate::duplicates::write_keys(&mut tx, &owner, &self.duplicates.matcher()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a contact point; a removed primary hands over to the oldest of its kind.
    pub async fn delete_contact_point(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
    ) -> Result<(), Error> {
        let owner = self.get_for_write(principal, customer).await?;
        let mut tx = self.store.db().begin().await?;
        let existing = of_customer(&mut tx, customer).await?;
        let Some(gone) = existing.iter().find(|p| p.id == id).cloned() else {
            return Err(Error::NotFound(format!(
                "{}/contactPoints/{id}",
                crate::domain::name_of(customer)
            )));
        };
        const SQL: &str = "DELETE FROM contact_points WHERE id = $1";
        with_tx!(tx, |conn| sqlx::query(SQL)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        if gone.is_primary
            && let Some(next) = existing.iter().find(|p| p.kind == gone.kind && p.id != id)
        {
            set_primary(&mut tx, customer, &gone.kind, next.id).await?;
        }
        // The duplicate keys come from every contact point too.
        crate::duplicates::write_keys(&mut tx, &owner, &self.duplicates.matcher()).await?;
        tx.commit().await?;
        Ok(())
    }
}
