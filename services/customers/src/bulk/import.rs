//! Running an import: the file is read on a blocking thread (streamed, batch by batch, through
//! a bounded channel: memory stays flat whatever the file's size) while each batch is checked
//! and written. Every row is validated exactly like the API (`api::convert::parse_new`); a
//! bad row fails alone, with the column at fault, and never stops the others. Values are taken
//! as text and never guessed: dates parse only in unambiguous or declared forms.
use super::batch::Carry;
use super::contacts::{Extras, already_has, second_contacts};
pub use super::rows::{ImportOptions, MatchKey};
use super::rows::{Outcome, Plan, Read, parse_row, read_file, skip_reason, sorted};
use super::{ImportRow, fields, import_name};
use crate::{
    contact_points::NewContactPoint,
    duplicates::Policy,
    error::Error,
    service::{Changes, Created, Customers, NewCustomer},
    store::CustomerRow,
};
use crm_platform::{
    auth::Principal,
    db::{self, DbError},
    with_pool, with_tx,
};
use crm_tabular::{Format, Mapper, Row};
use std::collections::HashMap;
use std::path::PathBuf;
use uuid::Uuid;

/// A checked batch, to be written: every row's outcome so far, and the new customers (with the
/// rows they come from and what they bring besides) to insert.
struct Checked {
    outcomes: Vec<Outcome>,
    kept: Vec<Row>,
    created: Vec<CustomerRow>,
    extras: Vec<Extras>,
    parse: std::time::Duration,
    check: std::time::Duration,
}

/// The job's running counts, and where its time went (logged at the end).
#[derive(Default)]
struct Counts {
    done: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    failed: i64,
    /// Waiting for the reading thread (reading and decoding the file).
    read: std::time::Duration,
    /// Checking rows and mapping them to customers.
    parse: std::time::Duration,
    /// Duplicate checks.
    check: std::time::Duration,
    /// Writing customers (and row-by-row updates).
    write: std::time::Duration,
    /// Recording progress and reported rows.
    progress: std::time::Duration,
}

impl Customers {
    /// Records a new RUNNING import of the file at `path` (the caller then runs it).
    pub async fn new_import(
        &self,
        principal: &Principal,
        options: &ImportOptions,
    ) -> Result<ImportRow, Error> {
        let job = ImportRow {
            id: Uuid::now_v7(),
            state: "RUNNING".into(),
            file_name: options.file_name.clone(),
            format: String::new(),
            dry_run: options.dry_run,
            options: serde_json::to_string(options).unwrap_or_else(|_| "{}".into()),
            rows_total: 0,
            rows_done: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            failed: 0,
            header: "[]".into(),
            mapping: "{}".into(),
            unmapped: "[]".into(),
            detected_encoding: String::new(),
            detected_delimiter: String::new(),
            error: String::new(),
            cancel_requested: false,
            started_by: principal.actor(),
            created_at: db::now(),
            finished_at: None,
        };
        let mut tx = self.store.db().begin().await?;
        with_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO customer_imports (id, state, file_name, format, dry_run, options, started_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(job.id)
        .bind(&job.state)
        .bind(&job.file_name)
        .bind(&job.format)
        .bind(job.dry_run)
        .bind(&job.options)
        .bind(&job.started_by)
        .bind(job.created_at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(job)
    }

    /// Starts a recorded import in the background; the file is removed when it ends.
    pub fn spawn_import(
        &self,
        principal: &Principal,
        id: Uuid,
        options: ImportOptions,
        path: PathBuf,
    ) {
        let (c, p) = (self.clone(), principal.clone());
        tokio::spawn(async move {
            if let Err(e) = c.run_import(&p, id, options, path.clone()).await {
                tracing::warn!(import = %id, error = %e, "import failed");
            }
            let _ = tokio::fs::remove_file(&path).await;
        });
    }

    /// Runs a recorded import to its end and returns it as it ended.
    pub async fn run_import(
        &self,
        principal: &Principal,
        id: Uuid,
        options: ImportOptions,
        path: PathBuf,
    ) -> Result<ImportRow, Error> {
        let outcome = self.import_rows(principal, id, &options, path).await;
        let (state, error) = match &outcome {
            Ok(true) => ("SUCCEEDED", String::new()),
            Ok(false) => ("CANCELLED", String::new()),
            Err(e) => ("FAILED", e.to_string()),
        };
        with_pool!(self.store.db(), |pool| sqlx::query(
            "UPDATE customer_imports SET state = $1, error = $2, finished_at = $3 WHERE id = $4"
        )
        .bind(state)
        .bind(error)
        .bind(db::now())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        tracing::info!(import = %id, state, "import ended");
        self.import_row(id)
            .await?
            .ok_or_else(|| Error::NotFound(import_name(id)))
    }

    /// Reads and writes every row; `Ok(false)` when cancelled.
    async fn import_rows(
        &self,
        principal: &Principal,
        id: Uuid,
        options: &ImportOptions,
        path: PathBuf,
    ) -> Result<bool, Error> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let reading = options.clone();
        let reader = tokio::task::spawn_blocking(move || read_file(path, reading, tx));
        let plan = match rx.recv().await {
            Some(Read::Header(header, format, encoding, delimiter)) => {
                self.plan(id, options, &header, format, &encoding, &delimiter)
                    .await?
            }
            Some(Read::Failed(e)) => return Err(Error::field("file", e)),
            _ => return Err(Error::field("file", "could not be read")),
        };
        let mut counts = Counts::default();
        let mut finished = true;
        // A batch is written while the next one is read and checked: the database writes one
        // while this process checks the other. Rows matched for an update are the exception:
        // they may be customers of the batch being written, so with a match key each batch is
        // written before the next is looked at.
        let pipelined = options.match_key == MatchKey::None;
        let mut pending: Option<Checked> = None;
        let mut carry = Carry::default();
        // Statistics are refreshed as the import grows the tables (at 5,000 rows, then each
        // time it has doubled what it added): planned with the statistics of a table that was
        // nearly empty, looking up 1,000 candidates by id became a scan of the whole table
        // (6 s a batch at 250,000 rows), long before autovacuum's analyze came round.
        let mut next_analyze = 5_000;
        loop {
            let waited = std::time::Instant::now();
            let batch = match rx.recv().await {
                Some(Read::Rows(batch)) => Some(batch),
                Some(Read::Failed(e)) => return Err(Error::field("file", e)),
                Some(Read::Header(..)) => continue,
                None => None,
            };
            counts.read += waited.elapsed();
            let write = async {
                match pending.take() {
                    Some(checked) => Some(
                        self.write_checked(principal, id, options, &plan, checked)
                            .await,
                    ),
                    None => None,
                }
            };
            let Some(batch) = batch else {
                if let Some(written) = write.await
                    && !self.finish_batch(id, written?, &mut counts).await?
                {
                    finished = false;
                }
                break;
            };
            let check = self.check_rows(principal, options, &plan, batch, &carry);
            let (written, checked) = if pipelined {
                tokio::join!(write, check)
            } else {
                let written = write.await;
                (written, check.await)
            };
            if let Some(written) = written
                && !self.finish_batch(id, written?, &mut counts).await?
            {
                finished = false;
                break;
            }
            if counts.created >= next_analyze {
                self.analyze().await?;
                next_analyze = counts.created * 2;
            }
            let (checked, next) = checked?;
            counts.parse += checked.parse;
            counts.check += checked.check;
            carry = next;
            pending = Some(checked);
        }
        drop(rx);
        let _ = reader.await;
        tracing::info!(
            import = %id,
            rows = counts.done,
            read_ms = counts.read.as_millis() as u64,
            parse_ms = counts.parse.as_millis() as u64,
            check_ms = counts.check.as_millis() as u64,
            write_ms = counts.write.as_millis() as u64,
            progress_ms = counts.progress.as_millis() as u64,
            "import time by phase"
        );
        with_pool!(self.store.db(), |pool| sqlx::query(
            "UPDATE customer_imports SET rows_total = rows_done WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        Ok(finished)
    }

    /// Maps the header and records the mapping; a field claimed twice fails the import.
    async fn plan(
        &self,
        id: Uuid,
        options: &ImportOptions,
        header: &Row,
        format: Format,
        encoding: &str,
        delimiter: &str,
    ) -> Result<Plan, Error> {
        for field in options.mapping.values() {
            if !field.is_empty() && !fields::importable(field) {
                return Err(Error::field(
                    "mapping",
                    format!("{field:?} is not a field that can be imported"),
                ));
            }
        }
        let mapper = Mapper::new(fields::ALIASES, options.mapping.clone())
            .map_err(|e| Error::field("mapping", e.to_string()))?;
        let mut mapping = mapper.map(&header.cells);
        second_contacts(&mut mapping);
        if let Some((field, columns)) = mapping.duplicates.first() {
            let names: Vec<&str> = columns
                .iter()
                .filter_map(|c| header.cells.get(*c).map(String::as_str))
                .collect();
            return Err(Error::field(
                "mapping",
                format!(
                    "{field} is mapped from more than one column: {}",
                    names.join(", ")
                ),
            ));
        }
        let mut headers = HashMap::new();
        let mut applied = serde_json::Map::new();
        for (i, field) in mapping.columns.iter().enumerate() {
            if let (Some(f), Some(h)) = (field, header.cells.get(i)) {
                headers.insert(f.clone(), h.clone());
                applied.insert(h.clone(), serde_json::Value::String(f.clone()));
            }
        }
        let def_list = self.definitions().await?;
        let defs = def_list
            .iter()
            .map(|d| (d.key.clone(), d.clone()))
            .collect();
        with_pool!(self.store.db(), |pool| sqlx::query(
            "UPDATE customer_imports SET format = $1, mapping = $2, unmapped = $3, detected_encoding = $4, \
             detected_delimiter = $5, header = $7 WHERE id = $6"
        )
        .bind(match format {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
        })
        .bind(serde_json::Value::Object(applied).to_string())
        .bind(serde_json::to_string(&mapping.unmapped).unwrap_or_else(|_| "[]".into()))
        .bind(encoding)
        .bind(delimiter)
        .bind(id)
        .bind(serde_json::to_string(&header.cells).unwrap_or_else(|_| "[]".into()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(DbError::from)?;
        let fields = mapping.columns.iter().flatten().cloned().collect();
        Ok(Plan {
            header: header.cells.clone(),
            width: header.cells.len(),
            mapping: mapping.columns,
            headers,
            fields,
            defs,
            def_list,
            dates: options.date_formats(),
            default_kind: options
                .default_kind
                .as_deref()
                .and_then(crm_proto::crm::customers::v1::customer::Kind::from_str_name),
            csv: format == Format::Csv,
            default_source: options
                .default_source
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "import".to_owned()),
        })
    }

    /// Refreshes the planner's statistics of the tables an import grows (PostgreSQL; SQLite
    /// plans these lookups by index regardless).
    async fn analyze(&self) -> Result<(), Error> {
        if let crm_platform::db::Db::Pg(pool) = self.store.db() {
            sqlx::query("ANALYZE customers, customer_match_keys, contact_points")
                .execute(pool)
                .await
                .map_err(DbError::from)?;
        }
        Ok(())
    }

    /// Counts a written batch's outcomes and records its reported rows; false when a cancel was
    /// asked for.
    async fn finish_batch(
        &self,
        id: Uuid,
        (outcomes, took): (Vec<Outcome>, std::time::Duration),
        counts: &mut Counts,
    ) -> Result<bool, Error> {
        counts.write += took;
        let mut reported = Vec::new();
        for outcome in outcomes {
            counts.done += 1;
            match outcome.outcome {
                "CREATED" => counts.created += 1,
                "UPDATED" => counts.updated += 1,
                "SKIPPED_DUPLICATE" => counts.skipped += 1,
                _ => counts.failed += 1,
            }
            if outcome.outcome != "CREATED" || outcome.candidate.is_some() {
                reported.push(outcome);
            }
        }
        let recording = std::time::Instant::now();
        let cancelled = self.record_progress(id, counts, &reported).await?;
        counts.progress += recording.elapsed();
        Ok(!cancelled)
    }

    /// Checks a batch: each row parsed, matched rows updated (row by row), the new customers
    /// checked for duplicates together. Returns what is to be written and the carry for the
    /// next batch's check.
    async fn check_rows(
        &self,
        principal: &Principal,
        options: &ImportOptions,
        plan: &Plan,
        batch: Vec<Result<Row, (u64, String)>>,
        carry: &Carry,
    ) -> Result<(Checked, Carry), Error> {
        let started = std::time::Instant::now();
        let mut outcomes = Vec::with_capacity(batch.len());
        // What the caller may change, once per batch (matched rows are updated).
        let reach = match options.match_key {
            MatchKey::None => None,
            _ => Some(self.reach(principal, true).await?),
        };
        let mut creates: Vec<(Row, CustomerRow, Extras)> = Vec::new();
        for row in batch {
            let row = match row {
                Ok(row) => row,
                Err((number, error)) => {
                    outcomes.push(Outcome {
                        row_number: number as i64,
                        outcome: "FAILED",
                        customer: None,
                        candidate: None,
                        field: String::new(),
                        error,
                        cells: Vec::new(),
                    });
                    continue;
                }
            };
            let (new, points) = match parse_row(plan, &row) {
                Ok(parsed) => parsed,
                Err((field, error)) => {
                    outcomes.push(Outcome::failed(&row, &field, error));
                    continue;
                }
            };
            if let Some(reach) = &reach
                && let Some(existing) = self.matching(reach, options.match_key, &new).await?
            {
                outcomes.push(
                    self.update_row(principal, options, plan, row, (new, points), existing)
                        .await?,
                );
                continue;
            }
            let mut draft = crate::service::draft(principal, &new);
            match crate::custom_fields::apply(
                &plan.def_list,
                "{}",
                &crate::custom_fields::ValuesChange::Replace(new.custom_fields),
                true,
            ) {
                Ok(values) => draft.custom_fields = values,
                Err(v) => {
                    let (field, error) = plan.first_violation(v);
                    outcomes.push(Outcome::failed(&row, &field, error));
                    continue;
                }
            }
            creates.push((
                row,
                draft,
                Extras {
                    secrets: new.secrets,
                    points,
                },
            ));
        }
        let policy = options.policy();
        let mut rows = Vec::with_capacity(creates.len());
        let mut drafts = Vec::with_capacity(creates.len());
        let mut all_extras = Vec::with_capacity(creates.len());
        for (row, draft, extra) in creates {
            rows.push(row);
            drafts.push(draft);
            all_extras.push(extra);
        }
        let parse = started.elapsed();
        let started = std::time::Instant::now();
        let (checks, next) = match policy {
            Policy::Allow => (vec![Default::default(); drafts.len()], Carry::default()),
            _ => {
                self.check_batch(
                    principal,
                    &drafts,
                    &all_extras,
                    policy == Policy::Block,
                    carry,
                )
                .await?
            }
        };
        let mut kept = Vec::new();
        let mut created = Vec::new();
        let mut extras = Vec::new();
        for (((row, draft), extra), check) in
            rows.into_iter().zip(drafts).zip(all_extras).zip(checks)
        {
            let first = check.candidates.first().map(|c| c.id);
            let outcome = Outcome::done(
                &row,
                "CREATED",
                (!options.dry_run).then_some(draft.id),
                first,
            );
            if policy == Policy::Block && check.blocks() {
                outcomes.push(Outcome {
                    outcome: "SKIPPED_DUPLICATE",
                    customer: None,
                    error: skip_reason(&check),
                    ..outcome
                });
            } else {
                kept.push(row);
                created.push(draft);
                extras.push(extra);
                outcomes.push(outcome);
            }
        }
        Ok((
            Checked {
                outcomes,
                kept,
                created,
                extras,
                parse,
                check: started.elapsed(),
            },
            next,
        ))
    }

    /// Writes a checked batch's new customers in one transaction (or, when one of them cannot be
    /// stored, row by row so that only that row fails). Returns every row's outcome, in row
    /// order, and the time the write took.
    async fn write_checked(
        &self,
        principal: &Principal,
        id: Uuid,
        options: &ImportOptions,
        plan: &Plan,
        checked: Checked,
    ) -> Result<(Vec<Outcome>, std::time::Duration), Error> {
        let started = std::time::Instant::now();
        let Checked {
            mut outcomes,
            kept,
            created,
            extras,
            ..
        } = checked;
        if options.dry_run || created.is_empty() {
            return Ok((sorted(outcomes), started.elapsed()));
        }
        let inserted = self.insert_batch(principal, id, &created, &extras).await;
        let outcomes = match inserted {
            Ok(()) => sorted(outcomes),
            // A row the batch cannot take (an external id already used): row by row, so that
            // only that row fails.
            Err(Error::Db(e)) if e.is_unique("external") => {
                outcomes.retain(|o| o.outcome != "CREATED" || o.customer.is_none());
                for row in kept {
                    outcomes.push(self.create_one(principal, options, plan, row).await?);
                }
                sorted(outcomes)
            }
            Err(e) => return Err(e),
        };
        Ok((outcomes, started.elapsed()))
    }

    /// Updates the customer a row matched (only the mapped fields).
    async fn update_row(
        &self,
        principal: &Principal,
        options: &ImportOptions,
        plan: &Plan,
        row: Row,
        (new, points): (NewCustomer, Vec<NewContactPoint>),
        existing: Uuid,
    ) -> Result<Outcome, Error> {
        if options.dry_run {
            return Ok(Outcome::done(&row, "UPDATED", Some(existing), None));
        }
        let changes = Changes::from_new(new, Some(&plan.fields));
        Ok(
            match self.update(principal, existing, None, changes).await {
                Ok(updated) => {
                    self.add_new_points(principal, &updated, points).await?;
                    Outcome::done(&row, "UPDATED", Some(updated.id), None)
                }
                Err(Error::InvalidArgument(v)) => {
                    let (field, error) = plan.first_violation(v);
                    Outcome::failed(&row, &field, error)
                }
                Err(e @ (Error::AlreadyExists(_) | Error::PermissionDenied(_))) => {
                    Outcome::failed(&row, "", e.to_string())
                }
                Err(e) => return Err(e),
            },
        )
    }

    /// Creates one row's customer on its own (when its batch could not be inserted whole).
    async fn create_one(
        &self,
        principal: &Principal,
        options: &ImportOptions,
        plan: &Plan,
        row: Row,
    ) -> Result<Outcome, Error> {
        let (new, points) = match parse_row(plan, &row) {
            Ok(parsed) => parsed,
            Err((field, error)) => return Ok(Outcome::failed(&row, &field, error)),
        };
        match self
            .create_checked(principal, new, options.policy(), None, |_, _| Vec::new())
            .await
        {
            Ok((Created::New(created), candidates)) => {
                self.add_new_points(principal, &created, points).await?;
                Ok(Outcome::done(
                    &row,
                    "CREATED",
                    Some(created.id),
                    candidates.first().map(|c| c.id),
                ))
            }
            Ok((Created::Replayed(_), _)) => Ok(Outcome::failed(&row, "", "replayed")),
            Err(Error::Duplicate(check)) => Ok(Outcome {
                error: skip_reason(&check),
                ..Outcome::done(
                    &row,
                    "SKIPPED_DUPLICATE",
                    None,
                    check.candidates.first().map(|c| c.id),
                )
            }),
            Err(Error::InvalidArgument(v)) => {
                let (field, error) = plan.first_violation(v);
                Ok(Outcome::failed(&row, &field, error))
            }
            Err(e @ Error::AlreadyExists(_)) => Ok(Outcome::failed(&row, "", e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Adds the row's contact points a customer does not have yet.
    async fn add_new_points(
        &self,
        principal: &Principal,
        customer: &CustomerRow,
        points: Vec<NewContactPoint>,
    ) -> Result<(), Error> {
        if points.is_empty() {
            return Ok(());
        }
        let existing = self.contact_points_of(customer.id).await?;
        for point in points {
            if !already_has(&existing, (&customer.email, &customer.phone), &point) {
                self.add_contact_point(principal, customer.id, point)
                    .await?;
            }
        }
        Ok(())
    }

    /// The customer in the caller's reach a row updates, by the match key.
    async fn matching(
        &self,
        reach: &crate::access::Reach,
        key: MatchKey,
        new: &NewCustomer,
    ) -> Result<Option<Uuid>, Error> {
        let found = match key {
            MatchKey::None => None,
            MatchKey::ExternalId => match (&new.profile.source, &new.profile.external_id) {
                (Some(source), Some(external)) => self
                    .store
                    .by_external_id(source, external, reach)
                    .await?
                    .map(|r| r.id),
                _ => None,
            },
            MatchKey::Email | MatchKey::Phone => {
                let (column, value) = match key {
                    MatchKey::Email => ("email", new.email.as_ref().map(|e| e.as_str().to_owned())),
                    _ => ("phone", new.phone.as_ref().map(|p| p.as_str().to_owned())),
                };
                match value {
                    None => None,
                    Some(v) => {
                        let mut buf = crate::store::Store::list_query(reach);
                        buf.push(&format!(" AND {column} = "));
                        buf.push_bind(crm_platform::sql::SqlValue::Text(v));
                        buf.push(" ORDER BY created_at LIMIT 1");
                        self.store.fetch(buf).await?.first().map(|r| r.id)
                    }
                }
            }
        };
        Ok(found)
    }

    /// Stores the batch's reported rows and counts; true when a cancel was asked for.
    async fn record_progress(
        &self,
        id: Uuid,
        counts: &Counts,
        rows: &[Outcome],
    ) -> Result<bool, Error> {
        let mut tx = self.store.db().begin().await?;
        crm_platform::bulk::copy_rows(
            &mut tx,
            "customer_import_rows",
            "import_id, row_number, outcome, customer_id, candidate, field, error, cells",
            rows.len(),
            |i, v| {
                use crm_platform::sql::SqlValue as V;
                let r = &rows[i];
                let uuid = |u: Option<Uuid>| u.map_or(V::NullUuid, V::Uuid);
                v.extend([
                    V::Uuid(id),
                    V::Int(r.row_number),
                    V::Text(r.outcome.to_owned()),
                    uuid(r.customer),
                    uuid(r.candidate),
                    V::Text(r.field.clone()),
                    V::Text(r.error.clone()),
                    V::Text(serde_json::to_string(&r.cells).unwrap_or_else(|_| "[]".into())),
                ]);
            },
        )
        .await?;
        let cancel: (bool,) = with_tx!(tx, |conn| {
            sqlx::query_as(
            "UPDATE customer_imports SET rows_done = $1, created = $2, updated = $3, skipped = $4, failed = $5 \
             WHERE id = $6 RETURNING cancel_requested"
        )
        .bind(counts.done)
        .bind(counts.created)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.failed)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        })?;
        tx.commit().await?;
        Ok(cancel.0)
    }
}
