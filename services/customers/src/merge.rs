//! Merging duplicate customers into a survivor, and undoing a merge (issue 6).
//!
//! A merged customer is not deleted: it is marked `merged_into` the survivor, which hides it
//! from every read (`access::Reach`), and keeps its own row, secrets and shares untouched, so an
//! undo brings it back exactly. Its sub-resources move to the survivor, except those the
//! survivor already has (the same email/phone/address, the same order reference), which stay
//! with it. Everything undo needs (the survivor's values before, the moved rows, the demoted
//! primaries) is kept with the merge as JSON.
use crate::survivorship::{set, survive, validate, value};
use crate::{
    access::Reach,
    error::Error,
    events, history,
    history::Change,
    service::{Customers, FAMILY},
    store::{CustomerRow, Write},
};
use chrono::{DateTime, Utc};
use crm_platform::{
    auth::Principal,
    db::{self, DbError, Tx},
    with_tx,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Most customers merged at once.
pub const MAX_MERGED: usize = 10;

/// Sub-resources that move as a whole (no uniqueness to respect).
const PLAIN: &[&str] = &["interactions", "reminders", "consents", "contacts"];

/// Fields a rule can name (besides `custom_fields.<key>`).
pub const FIELDS: &[&str] = &[
    "display_name",
    "given_name",
    "family_name",
    "email",
    "phone",
    "legal_name",
    "industry",
    "region",
    "company_size",
    "source_channel",
    "birth_date",
    "preferred_language",
    "notes",
    "owner_id",
];

/// How one field of the survivor is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule {
    /// The survivor's value, even when empty.
    KeepSurvivor,
    /// The survivor's value, or the most recent merged one's when empty.
    #[default]
    FillEmpty,
    /// The most recently updated customer's value.
    MostRecent,
    /// The longest value.
    MostComplete,
    /// This customer's value.
    Choose(Uuid),
}

/// A merge to make.
#[derive(Debug, Clone, Default)]
pub struct MergeRequest {
    /// The customer that stays.
    pub survivor: Uuid,
    /// The customers merged into it.
    pub merged: Vec<Uuid>,
    /// Rules by field; the others follow `default_rule`.
    pub rules: BTreeMap<String, Rule>,
    /// The rule of the other fields.
    pub default_rule: Rule,
    /// The survivor's version as read.
    pub etag: Option<i64>,
}

/// What undo needs and what the merge did (stored as JSON with the merge; `{}` once the merge
/// can no longer be undone and its undo data is gone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Details {
    /// The survivor's fields the merge changed, with their values before.
    pub before: Vec<Change>,
    /// Moved sub-resources by table: (row id, the merged customer it came from).
    pub moved: BTreeMap<String, Vec<(Uuid, Uuid)>>,
    /// Contact points that lost their primary flag (the survivor had a primary of the kind).
    pub demoted: Vec<Uuid>,
    /// Sub-resources that stayed with their merged customer.
    pub kept_apart: Vec<String>,
}

/// A stored merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The survivor.
    pub survivor_id: Uuid,
    /// The merged customers.
    pub merged_ids: Vec<Uuid>,
    /// "MERGED" or "UNDONE".
    pub state: String,
    /// What it did.
    pub details: Details,
    /// The survivor's unit path (the merge's data scope).
    pub owner_unit_path: String,
    /// Who merged.
    pub actor: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when it can be undone.
    pub undo_deadline: DateTime<Utc>,
    /// When it was undone.
    pub undone_at: Option<DateTime<Utc>>,
    /// Who undid it.
    pub undone_by: Option<String>,
}

type Stored = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const COLUMNS: &str = "id, survivor_id, merged_ids, state, undo, owner_unit_path, actor, created_at, \
                       undo_deadline, undone_at, undone_by";

fn from_stored(s: Stored) -> Result<MergeRow, Error> {
    let corrupt = |e: serde_json::Error| Error::Corrupt(format!("merge {}: {e}", s.0));
    Ok(MergeRow {
        id: s.0,
        survivor_id: s.1,
        merged_ids: serde_json::from_str(&s.2).map_err(corrupt)?,
        state: s.3,
        details: serde_json::from_str(&s.4).map_err(corrupt)?,
        owner_unit_path: s.5,
        actor: s.6,
        created_at: s.7,
        undo_deadline: s.8,
        undone_at: s.9,
        undone_by: s.10,
    })
}

/// Moves `merged`'s sub-resources to `survivor`, recording what moved in `details`.
async fn move_children(
    tx: &mut Tx,
    survivor: Uuid,
    merged: Uuid,
    details: &mut Details,
) -> Result<(), DbError> {
    with_tx!(tx, |conn| {
        for table in PLAIN {
            let sql =
                format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2 RETURNING id");
            let ids: Vec<(Uuid,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(survivor)
                .bind(merged)
                .fetch_all(&mut *conn)
                .await?;
            let entry = details.moved.entry((*table).to_owned()).or_default();
            entry.extend(ids.into_iter().map(|(id,)| (id, merged)));
        }
        // An order the survivor already has stays apart (the same order, recorded twice).
        let ids: Vec<(Uuid,)> = sqlx::query_as(
            "UPDATE transactions SET customer_id = $1 WHERE customer_id = $2 AND order_reference NOT IN \
             (SELECT order_reference FROM transactions WHERE customer_id = $1) RETURNING id",
        )
        .bind(survivor)
        .bind(merged)
        .fetch_all(&mut *conn)
        .await?;
        let entry = details.moved.entry("transactions".to_owned()).or_default();
        entry.extend(ids.into_iter().map(|(id,)| (id, merged)));
        let kept: Vec<(String,)> =
            sqlx::query_as("SELECT order_reference FROM transactions WHERE customer_id = $1")
                .bind(merged)
                .fetch_all(&mut *conn)
                .await?;
        details
            .kept_apart
            .extend(kept.into_iter().map(|(r,)| format!("transaction {r}")));
        // The survivor keeps its primaries; the merged ones of those kinds become secondary.
        let demoted: Vec<(Uuid,)> = sqlx::query_as(
            "UPDATE contact_points SET is_primary = $3 WHERE customer_id = $2 AND is_primary AND kind IN \
             (SELECT kind FROM contact_points WHERE customer_id = $1 AND is_primary) RETURNING id",
        )
        .bind(survivor)
        .bind(merged)
        .bind(false)
        .fetch_all(&mut *conn)
        .await?;
        details.demoted.extend(demoted.into_iter().map(|(id,)| id));
        let ids: Vec<(Uuid,)> = sqlx::query_as(
            "UPDATE contact_points SET customer_id = $1 WHERE customer_id = $2 AND NOT EXISTS \
             (SELECT 1 FROM contact_points x WHERE x.customer_id = $1 AND x.kind = contact_points.kind \
             AND x.value = contact_points.value) RETURNING id",
        )
        .bind(survivor)
        .bind(merged)
        .fetch_all(&mut *conn)
        .await?;
        let entry = details
            .moved
            .entry("contact_points".to_owned())
            .or_default();
        entry.extend(ids.into_iter().map(|(id,)| (id, merged)));
        let kept: Vec<(String, String)> =
            sqlx::query_as("SELECT kind, value FROM contact_points WHERE customer_id = $1")
                .bind(merged)
                .fetch_all(&mut *conn)
                .await?;
        details.kept_apart.extend(
            kept.into_iter()
                .map(|(k, v)| format!("contact point {k} {v}")),
        );
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

/// Moves the sub-resources back and restores the demoted primaries.
async fn restore_children(tx: &mut Tx, details: &Details) -> Result<(), DbError> {
    with_tx!(tx, |conn| {
        for (table, rows) in &details.moved {
            if !PLAIN.contains(&table.as_str())
                && table != "transactions"
                && table != "contact_points"
            {
                continue;
            }
            let sql = format!("UPDATE {table} SET customer_id = $1 WHERE id = $2");
            for (id, from) in rows {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(from)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        for id in &details.demoted {
            sqlx::query("UPDATE contact_points SET is_primary = $1 WHERE id = $2")
                .bind(true)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

async fn set_merged_into(tx: &mut Tx, id: Uuid, into: Option<Uuid>) -> Result<(), DbError> {
    with_tx!(tx, |conn| sqlx::query(
        "UPDATE customers SET merged_into = $1 WHERE id = $2"
    )
    .bind(into)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

impl Customers {
    /// Merges customers into a survivor; all of them must be in the caller's data scope (a
    /// share does not reach a merge, as it does not reach a delete).
    pub async fn merge(
        &self,
        principal: &Principal,
        req: &MergeRequest,
    ) -> Result<MergeRow, Error> {
        validate(req)?;
        let scope = Reach::scope(principal.scope(FAMILY));
        let survivor = self
            .get_within(principal, req.survivor, &scope, "is not yours to merge")
            .await?;
        if req.etag.is_some_and(|e| e != survivor.version) {
            return Err(Error::EtagMismatch(crate::domain::name_of(survivor.id)));
        }
        let mut merged = Vec::with_capacity(req.merged.len());
        for id in &req.merged {
            let row = self
                .get_within(principal, *id, &scope, "is not yours to merge")
                .await?;
            if row.kind != survivor.kind {
                return Err(Error::field(
                    "merged_customers",
                    format!(
                        "{} is not of the survivor's kind",
                        crate::domain::name_of(*id)
                    ),
                ));
            }
            merged.push(row);
        }
        let mut next = survive(req, &survivor, &merged);
        next.updated_at = db::now();
        let mut details = Details {
            before: history::changes(Some(&survivor), Some(&next)),
            ..Details::default()
        };
        // `before` keeps the raw values (history masks some): undo writes them back.
        for change in &mut details.before {
            change.before = value(&survivor, &change.field).unwrap_or_default();
            change.after = value(&next, &change.field).unwrap_or_default();
        }
        let mut tx = self.store.db().begin().await?;
        let written = match self
            .store
            .update(&mut tx, &next, survivor.version, &scope)
            .await?
        {
            Write::Done(row) => row,
            Write::NotFound => return Err(Error::NotFound(crate::domain::name_of(survivor.id))),
            Write::Conflict => {
                return Err(Error::EtagMismatch(crate::domain::name_of(survivor.id)));
            }
        };
        let matcher = self.duplicates.matcher();
        crate::duplicates::write_keys(&mut tx, &written, &matcher).await?;
        for row in &merged {
            move_children(&mut tx, written.id, row.id, &mut details).await?;
            set_merged_into(&mut tx, row.id, Some(written.id)).await?;
            with_tx!(tx, |conn| sqlx::query(
                "DELETE FROM customer_match_keys WHERE customer_id = $1"
            )
            .bind(row.id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))?;
        }
        let written = crate::transactions::reclassify(
            &mut tx,
            principal,
            written,
            db::now(),
            &self.classification,
        )
        .await?;
        let now = db::now();
        let merge = MergeRow {
            id: Uuid::now_v7(),
            survivor_id: written.id,
            merged_ids: req.merged.clone(),
            state: "MERGED".into(),
            details,
            owner_unit_path: written.owner_unit_path.clone(),
            actor: principal.actor(),
            created_at: now,
            undo_deadline: now + chrono::Duration::days(i64::from(self.duplicates.merge_undo_days)),
            undone_at: None,
            undone_by: None,
        };
        insert(&mut tx, &merge).await?;
        let merged_names: Vec<String> = req
            .merged
            .iter()
            .map(|id| crate::domain::name_of(*id))
            .collect();
        let mut trail = merge.details.before.clone();
        trail.push(Change {
            field: "merged_customers".into(),
            before: String::new(),
            after: merged_names.join(","),
        });
        history::record(&mut tx, &principal.actor(), written.id, "MERGED", &trail).await?;
        for id in &req.merged {
            let into = vec![Change {
                field: "merged_into".into(),
                before: String::new(),
                after: crate::domain::name_of(written.id),
            }];
            history::record(&mut tx, &principal.actor(), *id, "MERGED", &into).await?;
        }
        tx.emit(&events::merged(principal, events::MERGED, &merge, &written))
            .await?;
        tx.commit().await?;
        tracing::info!(survivor = %written.id, merged = merge.merged_ids.len(), "customers merged");
        Ok(merge)
    }

    /// A merge whose survivor the caller reaches.
    pub async fn get_merge(&self, principal: &Principal, id: Uuid) -> Result<MergeRow, Error> {
        let sql = format!("SELECT {COLUMNS} FROM customer_merges WHERE id = $1");
        let stored: Option<Stored> =
            crm_platform::with_pool!(self.store.db(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(
                sql
            ))
            .bind(id)
            .fetch_optional(pool)
            .await)
            .map_err(DbError::from)?;
        let not_found = || Error::NotFound(merge_name(id));
        let merge = from_stored(stored.ok_or_else(not_found)?)?;
        // The merge is visible to whoever sees its survivor.
        self.get(principal, merge.survivor_id)
            .await
            .map_err(|_| not_found())?;
        Ok(merge)
    }

    /// Merges whose survivor the caller reaches, newest first; optionally of one survivor.
    pub async fn list_merges(
        &self,
        principal: &Principal,
        survivor: Option<Uuid>,
        limit: i64,
        before: Option<Uuid>,
    ) -> Result<Vec<MergeRow>, Error> {
        let reach = self.reach(principal, false).await?;
        let mut buf = crm_platform::sql::SqlBuf::new(format!(
            "SELECT {COLUMNS} FROM customer_merges WHERE survivor_id IN (SELECT id FROM customers WHERE "
        ));
        reach.push_condition(&mut buf);
        buf.push(")");
        if let Some(s) = survivor {
            buf.push(" AND survivor_id = ");
            buf.push_bind(crm_platform::sql::SqlValue::Uuid(s));
        }
        if let Some(b) = before {
            buf.push(" AND id < ");
            buf.push_bind(crm_platform::sql::SqlValue::Uuid(b));
        }
        buf.push(" ORDER BY id DESC LIMIT ");
        buf.push_bind(crm_platform::sql::SqlValue::Int(limit));
        let crm_platform::sql::SqlBuf { sql, binds } = buf;
        let rows: Vec<Stored> = crm_platform::with_pool!(self.store.db(), |pool| {
            crm_platform::db::bind_values(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), &binds)
                .fetch_all(pool)
                .await
        })
        .map_err(DbError::from)?;
        rows.into_iter().map(from_stored).collect()
    }

    /// Undoes a merge within its undo period: the merged customers come back as they were, the
    /// moved sub-resources go back, the survivor's merged fields get their values from before.
    pub async fn undo_merge(&self, principal: &Principal, id: Uuid) -> Result<MergeRow, Error> {
        let merge = self.get_merge(principal, id).await?;
        let scope = Reach::scope(principal.scope(FAMILY));
        let survivor = self
            .get_within(
                principal,
                merge.survivor_id,
                &scope,
                "is not yours to unmerge",
            )
            .await?;
        if merge.state != "MERGED" {
            return Err(Error::FailedPrecondition(format!(
                "{} was already undone",
                merge_name(id)
            )));
        }
        let now = db::now();
        if now > merge.undo_deadline {
            return Err(Error::FailedPrecondition(format!(
                "{} can no longer be undone (its undo period ended {})",
                merge_name(id),
                merge.undo_deadline.to_rfc3339()
            )));
        }
        let mut next = survivor.clone();
        for change in &merge.details.before {
            let before = Some(change.before.clone()).filter(|s| !s.is_empty());
            set(&mut next, &change.field, before);
        }
        next.updated_at = now;
        let mut tx = self.store.db().begin().await?;
        restore_children(&mut tx, &merge.details).await?;
        let written = match self
            .store
            .update(&mut tx, &next, survivor.version, &scope)
            .await?
        {
            Write::Done(row) => row,
            Write::NotFound => return Err(Error::NotFound(crate::domain::name_of(survivor.id))),
            Write::Conflict => {
                return Err(Error::EtagMismatch(crate::domain::name_of(survivor.id)));
            }
        };
        let matcher = self.duplicates.matcher();
        crate::duplicates::write_keys(&mut tx, &written, &matcher).await?;
        for merged in &merge.merged_ids {
            set_merged_into(&mut tx, *merged, None).await?;
            if let Some(row) = self.store_get_in(&mut tx, *merged).await? {
                crate::duplicates::write_keys(&mut tx, &row, &matcher).await?;
                history::record(
                    &mut tx,
                    &principal.actor(),
                    *merged,
                    "UNMERGED",
                    &[Change {
                        field: "merged_into".into(),
                        before: crate::domain::name_of(written.id),
                        after: String::new(),
                    }],
                )
                .await?;
            }
        }
        let written =
            crate::transactions::reclassify(&mut tx, principal, written, now, &self.classification)
                .await?;
        let trail: Vec<Change> = merge
            .details
            .before
            .iter()
            .map(|c| Change {
                field: c.field.clone(),
                before: c.after.clone(),
                after: c.before.clone(),
            })
            .collect();
        history::record(&mut tx, &principal.actor(), written.id, "UNMERGED", &trail).await?;
        let undone = MergeRow {
            state: "UNDONE".into(),
            undone_at: Some(now),
            undone_by: Some(principal.actor()),
            ..merge
        };
        let claimed = with_tx!(tx, |conn| sqlx::query(
            "UPDATE customer_merges SET state = 'UNDONE', undone_at = $1, undone_by = $2 \
             WHERE id = $3 AND state = 'MERGED'"
        )
        .bind(now)
        .bind(principal.actor())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
        if claimed != 1 {
            return Err(Error::FailedPrecondition(format!(
                "{} was already undone",
                merge_name(id)
            )));
        }
        tx.emit(&events::merged(
            principal,
            events::UNMERGED,
            &undone,
            &written,
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(survivor = %written.id, "merge undone");
        Ok(undone)
    }

    /// A customer by id in `tx`, merged or not.
    async fn store_get_in(&self, tx: &mut Tx, id: Uuid) -> Result<Option<CustomerRow>, DbError> {
        let sql = format!(
            "SELECT {} FROM customers WHERE id = $1",
            crate::store::COLUMNS
        );
        Ok(with_tx!(tx, |conn| sqlx::query_as(sqlx::AssertSqlSafe(
            sql
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await)?)
    }
}

async fn insert(tx: &mut Tx, m: &MergeRow) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO customer_merges ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let merged = serde_json::to_string(&m.merged_ids).unwrap_or_else(|_| "[]".into());
    let details = serde_json::to_string(&m.details).unwrap_or_else(|_| "{}".into());
    with_tx!(tx, |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.id)
        .bind(m.survivor_id)
        .bind(merged)
        .bind(&m.state)
        .bind(details)
        .bind(&m.owner_unit_path)
        .bind(&m.actor)
        .bind(m.created_at)
        .bind(m.undo_deadline)
        .bind(m.undone_at)
        .bind(&m.undone_by)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// "customerMerges/{id}".
pub fn merge_name(id: Uuid) -> String {
    format!("customerMerges/{id}")
}
