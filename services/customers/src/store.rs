//! SQL for customers, one code path for PostgreSQL and SQLite. Data scope is applied here, in
//! [`Store::scoped`], for every read and write path.
use crate::{access::Reach, domain::Kind};
use chrono::{DateTime, Utc};
use crm_platform::{
    db::{Db, DbError, Migrations, Tx, bind_values},
    filter::{FieldSpec, FieldType, Normalizer, Schema},
    sql::{SqlBuf, SqlValue},
    with_pool, with_tx,
};
use uuid::Uuid;

/// The embedded migrations of the customers database.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Phone filter literals: compared in E.164, as stored (see [`crate::domain::phone_literal`]).
pub static PHONE_LITERALS: Normalizer = Normalizer {
    exact: crate::domain::phone_literal,
    partial: crate::domain::phone_fragment,
    ignore_case: false,
};

/// Email filter literals: normalised as stored, compared ignoring case (the local part is
/// stored as entered, but nobody expects `Info@…` and `info@…` to be different customers).
pub static EMAIL_LITERALS: Normalizer = Normalizer {
    exact: crate::domain::email_literal,
    partial: crate::domain::email_fragment,
    ignore_case: true,
};

/// Fields callers may filter and sort customers by, and their columns.
pub static SCHEMA: Schema = Schema {
    id_column: "id",
    fields: &[
        // For picking customers by id (`id = "…" OR id = "…"`), as the UI's export of ticked
        // rows does.
        FieldSpec {
            name: "id",
            column: "id",
            ty: FieldType::Uuid,
            sortable: false,
        },
        FieldSpec {
            name: "display_name",
            column: "display_name",
            ty: FieldType::Text,
            sortable: true,
        },
        FieldSpec {
            name: "kind",
            column: "kind",
            ty: FieldType::Enum(&["PERSON", "ORGANIZATION"]),
            sortable: false,
        },
        FieldSpec {
            name: "email",
            column: "email",
            ty: FieldType::Normalized(&EMAIL_LITERALS),
            sortable: false,
        },
        FieldSpec {
            name: "phone",
            column: "phone",
            ty: FieldType::Normalized(&PHONE_LITERALS),
            sortable: false,
        },
        FieldSpec {
            name: "owner_id",
            column: "owner_id",
            ty: FieldType::Uuid,
            sortable: false,
        },
        FieldSpec {
            name: "legal_name",
            column: "legal_name",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "given_name",
            column: "given_name",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "family_name",
            column: "family_name",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "lifecycle_stage",
            column: "lifecycle_stage",
            ty: FieldType::Enum(crate::profile::STAGES),
            sortable: false,
        },
        FieldSpec {
            name: "value_tier",
            column: "value_tier",
            ty: FieldType::Enum(crate::profile::TIERS),
            sortable: false,
        },
        FieldSpec {
            name: "industry",
            column: "industry",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "region",
            column: "region",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "company_size",
            column: "company_size",
            ty: FieldType::Enum(crate::profile::SIZES),
            sortable: false,
        },
        FieldSpec {
            name: "source_channel",
            column: "source_channel",
            ty: FieldType::Enum(crate::profile::CHANNELS),
            sortable: false,
        },
        FieldSpec {
            // A JSON array: `tags:vip` finds customers with a tag containing "vip".
            name: "tags",
            column: "tags",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "external_id",
            column: "external_id",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "source",
            column: "source",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "birth_date",
            column: "birth_date",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            name: "preferred_language",
            column: "preferred_language",
            ty: FieldType::Text,
            sortable: false,
        },
        FieldSpec {
            // Minor units, currencies added as they are (as the value tier's monetary score).
            name: "lifetime_value",
            column: "lifetime_value_minor",
            ty: FieldType::Integer,
            sortable: true,
        },
        FieldSpec {
            name: "create_time",
            column: "created_at",
            ty: FieldType::Timestamp,
            sortable: true,
        },
        FieldSpec {
            name: "update_time",
            column: "updated_at",
            ty: FieldType::Timestamp,
            sortable: true,
        },
    ],
};

pub(crate) const COLUMNS: &str = "id, display_name, kind, email, phone, owner_id, owner_unit_path, version, created_at, updated_at, \
    legal_name, lifecycle_stage, stage_pinned, value_tier, industry, region, company_size, source_channel, tags, \
    external_id, source, birth_date, preferred_language, notes, custom_fields, lifetime_value_minor, secrets, \
    given_name, family_name";

/// A stored customer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CustomerRow {
    /// UUIDv7.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// "PERSON" or "ORGANIZATION".
    pub kind: String,
    /// Normalized email.
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Owning user.
    pub owner_id: Option<Uuid>,
    /// Owning unit path.
    pub owner_unit_path: String,
    /// Optimistic-concurrency version; the etag.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
    /// Legal name (organisations).
    pub legal_name: Option<String>,
    /// "PROSPECT", "NEW", "ACTIVE", "AT_RISK" or "CHURNED".
    pub lifecycle_stage: String,
    /// Whether the stage was set by hand.
    pub stage_pinned: bool,
    /// "A", "B" or "C".
    pub value_tier: String,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Company size band.
    pub company_size: Option<String>,
    /// Source channel.
    pub source_channel: Option<String>,
    /// JSON array of tags.
    pub tags: String,
    /// Id in the corporate system `source`.
    pub external_id: Option<String>,
    /// The corporate system.
    pub source: Option<String>,
    /// "YYYY-MM-DD".
    pub birth_date: Option<String>,
    /// BCP 47 language tag.
    pub preferred_language: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Custom field values: a JSON object by key.
    pub custom_fields: String,
    /// Sum of completed purchases in minor units (kept by `RecordTransaction`).
    pub lifetime_value_minor: i64,
    /// The sensitive values' ciphertexts, "field=ciphertext,..." (kept by `sensitive::Vault`;
    /// never plaintext).
    pub secrets: Option<String>,
    /// A person's given name.
    pub given_name: Option<String>,
    /// A person's family name.
    pub family_name: Option<String>,
}

impl CustomerRow {
    /// The kind as a domain value.
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_stored(&self.kind)
    }

    /// A new customer: version 1, no contact data, no descriptive fields, stage PROSPECT and
    /// tier C (no purchases yet).
    pub fn new(
        display_name: &str,
        kind: Kind,
        owner_id: Option<Uuid>,
        owner_unit_path: &str,
        now: DateTime<Utc>,
    ) -> CustomerRow {
        CustomerRow {
            id: Uuid::now_v7(),
            display_name: display_name.to_owned(),
            kind: kind.as_str().to_owned(),
            email: None,
            phone: None,
            owner_id,
            owner_unit_path: owner_unit_path.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
            legal_name: None,
            lifecycle_stage: crate::profile::DEFAULT_STAGE.to_owned(),
            stage_pinned: false,
            value_tier: crate::profile::DEFAULT_TIER.to_owned(),
            industry: None,
            region: None,
            company_size: None,
            source_channel: None,
            tags: "[]".to_owned(),
            external_id: None,
            source: None,
            birth_date: None,
            preferred_language: None,
            notes: None,
            custom_fields: "{}".to_owned(),
            lifetime_value_minor: 0,
            secrets: None,
            given_name: None,
            family_name: None,
        }
    }

    /// The tags.
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    /// Every field a caller can change, by API name, with its value as text: what changed
    /// between two versions is where these differ.
    pub fn field_values(&self) -> Vec<(&'static str, String)> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("display_name", self.display_name.clone()),
            ("kind", self.kind.clone()),
            ("email", text(&self.email)),
            ("phone", text(&self.phone)),
            (
                "owner_id",
                self.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            ),
            ("legal_name", text(&self.legal_name)),
            ("lifecycle_stage", self.lifecycle_stage.clone()),
            ("stage_pinned", self.stage_pinned.to_string()),
            ("value_tier", self.value_tier.clone()),
            ("industry", text(&self.industry)),
            ("region", text(&self.region)),
            ("company_size", text(&self.company_size)),
            ("source_channel", text(&self.source_channel)),
            ("tags", self.tags.clone()),
            ("external_id", text(&self.external_id)),
            ("source", text(&self.source)),
            ("birth_date", text(&self.birth_date)),
            ("preferred_language", text(&self.preferred_language)),
            ("notes", text(&self.notes)),
            ("given_name", text(&self.given_name)),
            ("family_name", text(&self.family_name)),
        ]
    }

    /// The value of a sortable field, for page cursors.
    pub fn sort_value(&self, field: &str) -> SqlValue {
        match field {
            "display_name" => SqlValue::Text(self.display_name.clone()),
            "update_time" => SqlValue::Timestamp(self.updated_at),
            "lifetime_value" => SqlValue::Int(self.lifetime_value_minor),
            _ => SqlValue::Timestamp(self.created_at),
        }
    }
}

pub use crm_platform::idempotency::RequestRecord;

/// A new request record, written in the same transaction as the change it records.
pub struct NewRequest<'a> {
    /// The caller's request id.
    pub request_id: &'a str,
    /// The RPC.
    pub method: &'a str,
    /// Hash of the request.
    pub fingerprint: &'a str,
}

/// Outcome of a conditional write.
#[derive(Debug, PartialEq)]
pub enum Write<T> {
    /// Done.
    Done(T),
    /// No such row in scope.
    NotFound,
    /// The row exists but its version is not the expected one.
    Conflict,
}

/// Customer storage.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    /// A store on a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// "SELECT ... FROM customers WHERE <scope>": the one place data scope enters a query.
    fn scoped(reach: &Reach) -> SqlBuf {
        Self::scoped_select(&format!("SELECT {COLUMNS}"), reach)
    }

    /// "`select` FROM customers WHERE <scope>", for reads of other columns than a whole row
    /// (aggregates): `select` is trusted text ("SELECT COUNT(*)"); the caller appends more
    /// conditions, grouping and order.
    pub fn scoped_select(select: &str, reach: &Reach) -> SqlBuf {
        let mut buf = SqlBuf::new(format!("{select} FROM customers WHERE "));
        reach.push_condition(&mut buf);
        buf
    }

    /// Inserts a customer in `tx`; with a request record in the same transaction, so a retry
    /// finds either both or neither. The encoded response is produced from the stored row by
    /// `encode`.
    pub async fn insert(
        &self,
        tx: &mut Tx,
        row: &CustomerRow,
        request: Option<NewRequest<'_>>,
        encode: impl Fn(&CustomerRow) -> Vec<u8>,
    ) -> Result<CustomerRow, DbError> {
        let sql = format!(
            "INSERT INTO customers ({COLUMNS}, search_doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30) RETURNING {COLUMNS}"
        );
        const LOG: &str = "INSERT INTO request_log (request_id, method, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)";
        with_tx!(tx, |conn| {
            let stored: CustomerRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(row.id)
                .bind(&row.display_name)
                .bind(&row.kind)
                .bind(&row.email)
                .bind(&row.phone)
                .bind(row.owner_id)
                .bind(&row.owner_unit_path)
                .bind(row.version)
                .bind(row.created_at)
                .bind(row.updated_at)
                .bind(&row.legal_name)
                .bind(&row.lifecycle_stage)
                .bind(row.stage_pinned)
                .bind(&row.value_tier)
                .bind(&row.industry)
                .bind(&row.region)
                .bind(&row.company_size)
                .bind(&row.source_channel)
                .bind(&row.tags)
                .bind(&row.external_id)
                .bind(&row.source)
                .bind(&row.birth_date)
                .bind(&row.preferred_language)
                .bind(&row.notes)
                .bind(&row.custom_fields)
                .bind(row.lifetime_value_minor)
                .bind(&row.secrets)
                .bind(&row.given_name)
                .bind(&row.family_name)
                .bind(crate::search::document(row))
                .fetch_one(&mut *conn)
                .await?;
            if let Some(req) = request {
                sqlx::query(LOG)
                    .bind(req.request_id)
                    .bind(req.method)
                    .bind(req.fingerprint)
                    .bind(encode(&stored))
                    .bind(stored.created_at)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(stored)
        })
    }

    /// One customer, if it exists in scope.
    pub async fn get(&self, id: Uuid, reach: &Reach) -> Result<Option<CustomerRow>, DbError> {
        let mut buf = Self::scoped(reach);
        buf.push(" AND id = ");
        buf.push_bind(SqlValue::Uuid(id));
        self.fetch(buf).await.map(|mut rows| rows.pop())
    }

    /// Runs a built SELECT.
    pub async fn fetch(&self, buf: SqlBuf) -> Result<Vec<CustomerRow>, DbError> {
        let SqlBuf { sql, binds } = buf;
        Ok(with_pool!(&self.db, |pool| bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The customer a corporate system knows as (`source`, `external_id`), if it is in scope;
    /// `Err(())`-free: a customer outside the scope is reported as absent.
    pub async fn by_external_id(
        &self,
        source: &str,
        external_id: &str,
        reach: &Reach,
    ) -> Result<Option<CustomerRow>, DbError> {
        let mut buf = Self::scoped(reach);
        buf.push(" AND source = ");
        buf.push_bind(SqlValue::Text(source.to_owned()));
        buf.push(" AND external_id = ");
        buf.push_bind(SqlValue::Text(external_id.to_owned()));
        self.fetch(buf).await.map(|mut rows| rows.pop())
    }

    /// Whether any customer, in scope or not, has this external id: an upsert must not create a
    /// duplicate of a customer the caller cannot see.
    pub async fn external_id_taken(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<bool, DbError> {
        self.by_external_id(source, external_id, &Reach::all())
            .await
            .map(|r| r.is_some())
    }

    /// The scoped SELECT a list query starts from; the caller appends filter, cursor and order.
    pub fn list_query(reach: &Reach) -> SqlBuf {
        Self::scoped(reach)
    }

    /// Replaces the updatable fields of a customer if it is in scope and still at
    /// `expected_version`; bumps the version and update time.
    pub async fn update(
        &self,
        tx: &mut Tx,
        row: &CustomerRow,
        expected_version: i64,
        reach: &Reach,
    ) -> Result<Write<CustomerRow>, DbError> {
        let mut buf = SqlBuf::new("UPDATE customers SET display_name = ");
        buf.push_bind(SqlValue::Text(row.display_name.clone()));
        buf.push(", kind = ");
        buf.push_bind(SqlValue::Text(row.kind.clone()));
        buf.push(", email = ");
        push_opt_text(&mut buf, &row.email);
        buf.push(", phone = ");
        push_opt_text(&mut buf, &row.phone);
        buf.push(", owner_id = ");
        match row.owner_id {
            Some(id) => buf.push_bind(SqlValue::Uuid(id)),
            None => buf.push("NULL"),
        }
        for (column, value) in [
            ("legal_name", &row.legal_name),
            ("industry", &row.industry),
            ("region", &row.region),
            ("company_size", &row.company_size),
            ("source_channel", &row.source_channel),
            ("external_id", &row.external_id),
            ("source", &row.source),
            ("birth_date", &row.birth_date),
            ("preferred_language", &row.preferred_language),
            ("notes", &row.notes),
            ("given_name", &row.given_name),
            ("family_name", &row.family_name),
        ] {
            buf.push(&format!(", {column} = "));
            push_opt_text(&mut buf, value);
        }
        buf.push(", lifecycle_stage = ");
        buf.push_bind(SqlValue::Text(row.lifecycle_stage.clone()));
        buf.push(", stage_pinned = ");
        buf.push_bind(SqlValue::Bool(row.stage_pinned));
        buf.push(", value_tier = ");
        buf.push_bind(SqlValue::Text(row.value_tier.clone()));
        buf.push(", tags = ");
        buf.push_bind(SqlValue::Text(row.tags.clone()));
        buf.push(", custom_fields = ");
        buf.push_bind(SqlValue::Text(row.custom_fields.clone()));
        buf.push(", search_doc = ");
        buf.push_bind(SqlValue::Text(crate::search::document(row)));
        buf.push(", version = version + 1, updated_at = ");
        buf.push_bind(SqlValue::Timestamp(row.updated_at));
        buf.push(" WHERE id = ");
        buf.push_bind(SqlValue::Uuid(row.id));
        buf.push(" AND version = ");
        buf.push_bind(SqlValue::Int(expected_version));
        buf.push(" AND ");
        reach.push_condition(&mut buf);
        buf.push(&format!(" RETURNING {COLUMNS}"));
        let mut rows = fetch_in(tx, buf).await?;
        match rows.pop() {
            Some(updated) => Ok(Write::Done(updated)),
            None => self.missing_or_conflict(row.id, reach).await,
        }
    }

    /// Deletes a customer in scope, if `expected_version` (when given) is still current;
    /// returns the deleted row.
    pub async fn delete(
        &self,
        tx: &mut Tx,
        id: Uuid,
        expected_version: Option<i64>,
        reach: &Reach,
    ) -> Result<Write<CustomerRow>, DbError> {
        let mut buf = SqlBuf::new("DELETE FROM customers WHERE id = ");
        buf.push_bind(SqlValue::Uuid(id));
        if let Some(version) = expected_version {
            buf.push(" AND version = ");
            buf.push_bind(SqlValue::Int(version));
        }
        buf.push(" AND ");
        reach.push_condition(&mut buf);
        buf.push(&format!(" RETURNING {COLUMNS}"));
        match fetch_in(tx, buf).await?.pop() {
            Some(row) => Ok(Write::Done(row)),
            None => self.missing_or_conflict(id, reach).await,
        }
    }

    /// After a conditional write matched nothing: was the row gone, or changed?
    async fn missing_or_conflict<T>(&self, id: Uuid, reach: &Reach) -> Result<Write<T>, DbError> {
        Ok(match self.get(id, reach).await? {
            Some(_) => Write::Conflict,
            None => Write::NotFound,
        })
    }
}

/// Runs a built statement returning customer rows inside a transaction.
async fn fetch_in(tx: &mut Tx, buf: SqlBuf) -> Result<Vec<CustomerRow>, DbError> {
    let SqlBuf { sql, binds } = buf;
    Ok(with_tx!(tx, |conn| bind_values(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .fetch_all(&mut *conn)
    .await)?)
}

fn push_opt_text(buf: &mut SqlBuf, value: &Option<String>) {
    match value {
        Some(v) => buf.push_bind(SqlValue::Text(v.clone())),
        None => buf.push("NULL"),
    }
}
