//! Contacts: the people at an organisation customer, with their part in buying decisions. They
//! follow the organisation's data scope.
use crate::{error::Error, service::Customers};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::DbError,
    filter::{FieldSpec, FieldType, Schema},
    paging::ListParams,
    sql::{SqlBuf, SqlValue},
    with_pool,
};
use uuid::Uuid;

pub(crate) const COLUMNS: &str =
    "id, customer_id, display_name, title, role, email, phone, version, created_at, updated_at";

/// Roles in buying decisions, in proto order.
pub const ROLES: &[&str] = &["DECISION_MAKER", "INFLUENCER", "USER", "OTHER"];

/// Contacts list by name.
static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[FieldSpec {
        name: "display_name",
        column: "display_name",
        ty: FieldType::Text,
        sortable: true,
    }],
};

/// A stored contact.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct ContactRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The organisation.
    pub customer_id: Uuid,
    /// Full name.
    pub display_name: String,
    /// Job title.
    pub title: String,
    /// Role in buying decisions.
    pub role: Option<String>,
    /// Normalized email.
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// The etag.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A contact's fields, validated.
#[derive(Debug, Clone, Default)]
pub struct ContactFields {
    /// Full name.
    pub display_name: String,
    /// Job title.
    pub title: String,
    /// Role.
    pub role: Option<&'static str>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

fn not_found(customer: Uuid, id: Uuid) -> Error {
    Error::NotFound(format!(
        "{}/contacts/{id}",
        crate::domain::name_of(customer)
    ))
}

impl Customers {
    /// Adds a contact to an organisation in the caller's scope.
    pub async fn create_contact(
        &self,
        principal: &Principal,
        customer: Uuid,
        fields: ContactFields,
    ) -> Result<ContactRow, Error> {
        let owner = self.get_for_write(principal, customer).await?;
        if owner.kind != "ORGANIZATION" {
            return Err(Error::FailedPrecondition(
                "contacts belong to organisations; this customer is a person".to_owned(),
            ));
        }
        let now = crm_platform::db::now();
        let row = ContactRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            display_name: fields.display_name,
            title: fields.title,
            role: fields.role.map(str::to_owned),
            email: fields.email,
            phone: fields.phone,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let sql = format!(
            "INSERT INTO contacts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        // A transaction even for one statement: an idempotent request's id commits with it.
        let mut tx = self.store.db().begin().await?;
        crm_platform::with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id)
            .bind(row.customer_id)
            .bind(&row.display_name)
            .bind(&row.title)
            .bind(&row.role)
            .bind(&row.email)
            .bind(&row.phone)
            .bind(row.version)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(&mut *conn)
            .await
            .map(drop))
        .map_err(DbError::from)?;
        tx.commit().await?;
        Ok(row)
    }

    /// A page of an organisation's contacts, by name.
    pub async fn list_contacts(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<ContactRow>, String), Error> {
        self.get(principal, customer).await?;
        self.contacts_page_of(customer, params).await
    }

    /// A page of the contacts of a customer already checked to be in scope.
    pub(crate) async fn contacts_page_of(
        &self,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<(Vec<ContactRow>, String), Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM contacts WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        Ok(params
            .fetch_page(
                self.store.db(),
                query,
                &SCHEMA,
                "display_name",
                |r: &ContactRow, _| SqlValue::Text(r.display_name.clone()),
                |r| r.id,
            )
            .await?)
    }

    async fn contact(&self, customer: Uuid, id: Uuid) -> Result<ContactRow, Error> {
        let mut query = SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM contacts WHERE customer_id = "
        ));
        query.push_bind(SqlValue::Uuid(customer));
        query.push(" AND id = ");
        query.push_bind(SqlValue::Uuid(id));
        let mut rows: Vec<ContactRow> = crm_platform::db::fetch_all(self.store.db(), query).await?;
        rows.pop().ok_or_else(|| not_found(customer, id))
    }

    /// Changes the fields of a contact named in `mask` (etag checked when given).
    pub async fn update_contact(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
        etag: Option<i64>,
        fields: ContactFields,
        mask: &[String],
    ) -> Result<ContactRow, Error> {
        self.get_for_write(principal, customer).await?;
        let current = self.contact(customer, id).await?;
        let stale = || {
            Error::EtagMismatch(format!(
                "{}/contacts/{id}",
                crate::domain::name_of(customer)
            ))
        };
        if etag.is_some_and(|e| e != current.version) {
            return Err(stale());
        }
        let wants = |f: &str| mask.iter().any(|m| m == f);
        let mut next = current.clone();
        if wants("display_name") {
            next.display_name = fields.display_name;
        }
        if wants("title") {
            next.title = fields.title;
        }
        if wants("role") {
            next.role = fields.role.map(str::to_owned);
        }
        if wants("email") {
            next.email = fields.email;
        }
        if wants("phone") {
            next.phone = fields.phone;
        }
        next.version += 1;
        next.updated_at = crm_platform::db::now();
        const SQL: &str = "UPDATE contacts SET display_name = $1, title = $2, role = $3, email = $4, phone = $5, version = $6, updated_at = $7 WHERE id = $8 AND version = $9";
        let n = with_pool!(self.store.db(), |pool| sqlx::query(SQL)
            .bind(&next.display_name)
            .bind(&next.title)
            .bind(&next.role)
            .bind(&next.email)
            .bind(&next.phone)
            .bind(next.version)
            .bind(next.updated_at)
            .bind(id)
            .bind(current.version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        if n == 0 {
            return Err(stale());
        }
        Ok(next)
    }

    /// Removes a contact of a customer in the caller's scope.
    pub async fn delete_contact(
        &self,
        principal: &Principal,
        customer: Uuid,
        id: Uuid,
    ) -> Result<(), Error> {
        self.get_for_write(principal, customer).await?;
        const SQL: &str = "DELETE FROM contacts WHERE customer_id = $1 AND id = $2";
        let n = with_pool!(self.store.db(), |pool| sqlx::query(SQL)
            .bind(customer)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        if n == 0 {
            return Err(not_found(customer, id));
        }
        Ok(())
    }
}
