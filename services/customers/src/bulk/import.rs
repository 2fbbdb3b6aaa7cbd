//! Running an import: the file is read on a blocking thread (streamed, batch by batch, through
//! a bounded channel: memory stays flat whatever the file's size) while each batch is checked
//! and written. Every row is validated exactly like the API (`api::convert::parse_new`); a
//! bad row fails alone, with the column at fault, and never stops the others. Values are taken
//! as text and never guessed: dates parse only in unambiguous or declared forms.
use super::{ImportRow, fields, import_name};
use crate::{
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
use crm_tabular::{DateFormat, Format, Mapper, OpenOptions, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use uuid::Uuid;

/// Rows read, checked and written together.
const BATCH: usize = 1000;

/// How rows find the customer they update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MatchKey {
    /// Every row creates a customer.
    #[default]
    None,
    /// (`source`, `external_id`).
    ExternalId,
    /// The email.
    Email,
    /// The phone.
    Phone,
}

/// What the uploader asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportOptions {
    /// The file's name as the user chose it.
    pub file_name: String,
    /// The format, when the user said.
    pub xlsx: Option<bool>,
    /// XLSX sheet.
    pub sheet: Option<String>,
    /// CSV delimiter.
    pub delimiter: Option<u8>,
    /// CSV encoding label.
    pub encoding: Option<String>,
    /// Header (as written) → field ("" ignores the column).
    pub mapping: HashMap<String, String>,
    /// Write nothing.
    pub dry_run: bool,
    /// How rows find the customer they update.
    pub match_key: MatchKey,
    /// "BLOCK", "WARN" or "ALLOW".
    pub policy: String,
    /// "DMY" or "MDY" for dates like 03/04/2024.
    pub date_order: Option<String>,
    /// The kind of rows without one ("PERSON", "ORGANIZATION").
    pub default_kind: Option<String>,
}

impl ImportOptions {
    fn policy(&self) -> Policy {
        match self.policy.as_str() {
            "BLOCK" => Policy::Block,
            "ALLOW" => Policy::Allow,
            _ => Policy::Warn,
        }
    }

    fn date_formats(&self) -> Vec<DateFormat> {
        match self.date_order.as_deref() {
            Some("DMY") => vec![DateFormat::Dmy],
            Some("MDY") => vec![DateFormat::Mdy],
            _ => Vec::new(),
        }
    }
}

/// What the reading thread sends.
enum Read {
    /// The header row, the format and the CSV detections.
    Header(Row, Format, String, String),
    /// Data rows.
    Rows(Vec<Result<Row, (u64, String)>>),
    /// The file cannot be read at all.
    Failed(String),
}

/// Reads the file on this (blocking) thread, sending batches until the receiver is gone.
fn read_file(path: PathBuf, options: ImportOptions, tx: tokio::sync::mpsc::Sender<Read>) {
    let open = OpenOptions {
        csv: crm_tabular::CsvOptions {
            delimiter: options.delimiter,
            encoding: options.encoding.clone(),
        },
        sheet: options.sheet.clone(),
    };
    let rows = match crm_tabular::open_path(&path, &open) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = tx.blocking_send(Read::Failed(e.to_string()));
            return;
        }
    };
    let (format, encoding, delimiter) = match &rows {
        crm_tabular::Rows::Csv(csv) => (
            Format::Csv,
            csv.encoding().name().to_owned(),
            (csv.delimiter() as char).to_string(),
        ),
        crm_tabular::Rows::Xlsx(_) => (Format::Xlsx, String::new(), String::new()),
    };
    let mut rows = rows;
    let header = match rows.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            let _ = tx.blocking_send(Read::Failed(e.to_string()));
            return;
        }
        None => {
            let _ = tx.blocking_send(Read::Failed("the file is empty: no header row".into()));
            return;
        }
    };
    if tx
        .blocking_send(Read::Header(header, format, encoding, delimiter))
        .is_err()
    {
        return;
    }
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        match row {
            Ok(r) => batch.push(Ok(r)),
            Err(e) if e.is_recoverable() => {
                batch.push(Err((e.row().unwrap_or(0), e.to_string())));
            }
            Err(e) => {
                let _ = tx.blocking_send(Read::Failed(e.to_string()));
                return;
            }
        }
        if batch.len() == BATCH
            && tx
                .blocking_send(Read::Rows(std::mem::take(&mut batch)))
                .is_err()
        {
            return;
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Read::Rows(batch));
    }
}

/// The outcome of one row.
struct Outcome {
    row_number: i64,
    outcome: &'static str,
    customer: Option<Uuid>,
    candidate: Option<Uuid>,
    field: String,
    error: String,
    cells: Vec<String>,
}

impl Outcome {
    fn failed(row: &Row, field: &str, error: impl Into<String>) -> Outcome {
        Outcome {
            row_number: row.number as i64,
            outcome: "FAILED",
            customer: None,
            candidate: None,
            field: field.to_owned(),
            error: error.into(),
            cells: row.cells.clone(),
        }
    }
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

/// Everything fixed for the run.
struct Plan {
    /// The header row.
    header: Vec<String>,
    mapping: Vec<Option<String>>,
    /// Field → header, for error messages.
    headers: HashMap<String, String>,
    width: usize,
    fields: Vec<String>,
    defs: HashMap<String, crate::custom_fields::DefinitionRow>,
    def_list: Vec<crate::custom_fields::DefinitionRow>,
    dates: Vec<DateFormat>,
    default_kind: Option<crm_proto::crm::customers::v1::customer::Kind>,
}

impl Plan {
    fn header_of(&self, field: &str) -> String {
        let field = field.strip_prefix("customer.").unwrap_or(field);
        self.headers
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_owned())
    }
}

/// A custom field's text as the JSON value its definition wants.
fn custom_value(
    def: &crate::custom_fields::DefinitionRow,
    text: &str,
    dates: &[DateFormat],
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match def.field_type.as_str() {
        "NUMBER" => {
            let d = crm_tabular::parse_decimal(text).map_err(|e| e.reason().to_owned())?;
            let n: f64 = d
                .to_string()
                .parse()
                .map_err(|_| "is not a number".to_owned())?;
            // A value a double cannot hold exactly would be stored changed.
            let back =
                crm_tabular::parse_decimal(&n.to_string()).map_err(|e| e.reason().to_owned())?;
            let scale = d.scale().max(back.scale());
            if d.rescale(scale) != back.rescale(scale) {
                return Err(format!(
                    "{text:?} has more digits than a number field keeps"
                ));
            }
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| "is not a finite number".to_owned())?
        }
        "DATE" => Value::String(
            crm_tabular::parse_date(text, dates)
                .map_err(|e| e.reason().to_owned())?
                .to_string(),
        ),
        "BOOL" => Value::Bool(crm_tabular::parse_bool(text).map_err(|e| e.reason().to_owned())?),
        "MULTI_CHOICE" => Value::Array(
            text.split([';', '；'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_owned()))
                .collect(),
        ),
        _ => Value::String(text.to_owned()),
    })
}

/// One row read into a validated new customer, or the column at fault.
fn parse_row(plan: &Plan, row: &Row) -> Result<NewCustomer, (String, String)> {
    if row.cells.len() > plan.width && row.cells[plan.width..].iter().any(|c| !c.is_empty()) {
        return Err((
            String::new(),
            "more cells than headers (an unquoted delimiter inside a value?)".into(),
        ));
    }
    let (mut customer, custom) = fields::customer_of(&row.cells, &plan.mapping, plan.default_kind)
        .map_err(|(f, e)| (plan.header_of(&f), e))?;
    // Every bad cell of the row is reported at once, so one pass over the file fixes it.
    let mut bad: Vec<(String, String)> = Vec::new();
    if !customer.birth_date.trim().is_empty() {
        match crm_tabular::parse_date(&customer.birth_date, &plan.dates) {
            Ok(d) => customer.birth_date = d.to_string(),
            Err(e) => {
                bad.push((plan.header_of("birth_date"), e.reason().to_owned()));
                customer.birth_date.clear();
            }
        }
    }
    let mut values = serde_json::Map::new();
    for (key, text) in custom {
        let field = plan.header_of(&format!("custom_fields.{key}"));
        match plan.defs.get(&key) {
            None => bad.push((field, format!("no custom field {key:?} is defined"))),
            Some(def) => match custom_value(def, &text, &plan.dates) {
                Ok(value) => {
                    values.insert(key, value);
                }
                Err(e) => bad.push((field, e)),
            },
        }
    }
    let parsed = crate::api::parse_new_customer(&customer);
    if let Err(v) = &parsed {
        bad.extend(
            v.iter()
                .map(|f| (plan.header_of(&f.field), f.description.clone())),
        );
    }
    if !bad.is_empty() {
        // The row's order of columns, so the first named is the leftmost.
        let column = |h: &str| plan.header.iter().position(|x| x == h);
        bad.sort_by_key(|(h, _)| column(h).unwrap_or(usize::MAX));
        let field = bad[0].0.clone();
        let error = if bad.len() == 1 {
            bad.remove(0).1
        } else {
            bad.iter()
                .map(|(h, e)| format!("{h}: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err((field, error));
    }
    let mut new = parsed.map_err(|_| (String::new(), "is invalid".to_owned()))?;
    new.custom_fields = values;
    Ok(new)
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
        loop {
            let waited = std::time::Instant::now();
            let Some(read) = rx.recv().await else { break };
            counts.read += waited.elapsed();
            let batch = match read {
                Read::Rows(batch) => batch,
                Read::Failed(e) => return Err(Error::field("file", e)),
                Read::Header(..) => continue,
            };
            let mut reported = Vec::new();
            for outcome in self
                .import_batch(principal, options, &plan, batch, &mut counts)
                .await?
            {
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
            let cancelled = self.record_progress(id, &counts, &reported).await?;
            counts.progress += recording.elapsed();
            if cancelled {
                finished = false;
                break;
            }
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
        let mapping = mapper.map(&header.cells);
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
        })
    }

    /// Checks and writes a batch: updates row by row, creates together.
    async fn import_batch(
        &self,
        principal: &Principal,
        options: &ImportOptions,
        plan: &Plan,
        batch: Vec<Result<Row, (u64, String)>>,
        counts: &mut Counts,
    ) -> Result<Vec<Outcome>, Error> {
        let started = std::time::Instant::now();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut creates: Vec<(Row, CustomerRow)> = Vec::new();
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
            let new = match parse_row(plan, &row) {
                Ok(new) => new,
                Err((field, error)) => {
                    outcomes.push(Outcome::failed(&row, &field, error));
                    continue;
                }
            };
            if options.match_key != MatchKey::None
                && self
                    .matching(principal, options.match_key, &new)
                    .await?
                    .is_some()
            {
                outcomes.push(self.import_one(principal, options, plan, row).await?);
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
                    let f = v.into_iter().next();
                    let (field, error) = f.map_or((String::new(), "is invalid".into()), |f| {
                        (plan.header_of(&f.field), f.description)
                    });
                    outcomes.push(Outcome::failed(&row, &field, error));
                    continue;
                }
            }
            creates.push((row, draft));
        }
        let policy = options.policy();
        let drafts: Vec<CustomerRow> = creates.iter().map(|(_, d)| d.clone()).collect();
        counts.parse += started.elapsed();
        let started = std::time::Instant::now();
        let checks = match policy {
            Policy::Allow => vec![Default::default(); drafts.len()],
            _ => {
                self.check_batch(principal, &drafts, policy == Policy::Block)
                    .await?
            }
        };
        let mut kept = Vec::new();
        let mut created = Vec::new();
        for ((row, draft), check) in creates.into_iter().zip(checks) {
            let first = check.candidates.first().map(|c| c.id);
            let outcome = Outcome {
                row_number: row.number as i64,
                outcome: "CREATED",
                customer: (!options.dry_run).then_some(draft.id),
                candidate: first,
                field: String::new(),
                error: String::new(),
                cells: row.cells.clone(),
            };
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
                outcomes.push(outcome);
            }
        }
        counts.check += started.elapsed();
        if options.dry_run || created.is_empty() {
            return Ok(sorted(outcomes));
        }
        let started = std::time::Instant::now();
        let inserted = self.insert_batch(principal, &created).await;
        counts.write += started.elapsed();
        match inserted {
            Ok(()) => Ok(sorted(outcomes)),
            // A row the batch cannot take (an external id already used): row by row, so that
            // only that row fails.
            Err(Error::Db(e)) if e.is_unique("external") => {
                outcomes.retain(|o| o.outcome != "CREATED" || o.customer.is_none());
                for row in kept {
                    outcomes.push(self.import_one(principal, options, plan, row).await?);
                }
                Ok(sorted(outcomes))
            }
            Err(e) => Err(e),
        }
    }

    /// Checks and writes one row.
    async fn import_one(
        &self,
        principal: &Principal,
        options: &ImportOptions,
        plan: &Plan,
        row: Row,
    ) -> Result<Outcome, Error> {
        let new = match parse_row(plan, &row) {
            Ok(new) => new,
            Err((field, error)) => return Ok(Outcome::failed(&row, &field, error)),
        };
        let done = |outcome, customer, candidate| Outcome {
            row_number: row.number as i64,
            outcome,
            customer,
            candidate,
            field: String::new(),
            error: String::new(),
            cells: row.cells.clone(),
        };
        if let Some(existing) = self.matching(principal, options.match_key, &new).await? {
            if options.dry_run {
                return Ok(done("UPDATED", Some(existing), None));
            }
            let changes = Changes::from_new(new, Some(&plan.fields));
            return Ok(
                match self.update(principal, existing, None, changes).await {
                    Ok(row) => done("UPDATED", Some(row.id), None),
                    Err(Error::InvalidArgument(v)) => {
                        let f = v.into_iter().next();
                        let (field, error) = f.map_or((String::new(), "is invalid".into()), |f| {
                            (plan.header_of(&f.field), f.description)
                        });
                        Outcome::failed(&row, &field, error)
                    }
                    Err(e @ (Error::AlreadyExists(_) | Error::PermissionDenied(_))) => {
                        Outcome::failed(&row, "", e.to_string())
                    }
                    Err(e) => return Err(e),
                },
            );
        }
        let policy = options.policy();
        if options.dry_run {
            let check = match policy {
                Policy::Allow => Default::default(),
                _ => {
                    let draft = crate::service::draft(principal, &new);
                    self.check_duplicates(principal, &draft).await?
                }
            };
            let first = check.candidates.first().map(|c| c.id);
            return Ok(if policy == Policy::Block && check.blocks() {
                Outcome {
                    error: skip_reason(&check),
                    ..done("SKIPPED_DUPLICATE", None, first)
                }
            } else {
                done("CREATED", None, first)
            });
        }
        match self
            .create_checked(principal, new, policy, None, |_, _| Vec::new())
            .await
        {
            Ok((Created::New(row_), candidates)) => Ok(done(
                "CREATED",
                Some(row_.id),
                candidates.first().map(|c| c.id),
            )),
            Ok((Created::Replayed(_), _)) => Ok(Outcome::failed(&row, "", "replayed")),
            Err(Error::Duplicate(check)) => Ok(Outcome {
                error: skip_reason(&check),
                ..done(
                    "SKIPPED_DUPLICATE",
                    None,
                    check.candidates.first().map(|c| c.id),
                )
            }),
            Err(Error::InvalidArgument(v)) => {
                let f = v.into_iter().next();
                let (field, error) = f.map_or((String::new(), "is invalid".into()), |f| {
                    (plan.header_of(&f.field), f.description)
                });
                Ok(Outcome::failed(&row, &field, error))
            }
            Err(e @ Error::AlreadyExists(_)) => Ok(Outcome::failed(&row, "", e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// The customer in the caller's reach a row updates, by the match key.
    async fn matching(
        &self,
        principal: &Principal,
        key: MatchKey,
        new: &NewCustomer,
    ) -> Result<Option<Uuid>, Error> {
        let reach = self.reach(principal, true).await?;
        let found = match key {
            MatchKey::None => None,
            MatchKey::ExternalId => match (&new.profile.source, &new.profile.external_id) {
                (Some(source), Some(external)) => self
                    .store
                    .by_external_id(source, external, &reach)
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
                        let mut buf = crate::store::Store::list_query(&reach);
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
        for r in rows {
            with_tx!(tx, |conn| {
                sqlx::query(
                "INSERT INTO customer_import_rows (import_id, row_number, outcome, customer_id, candidate, \
                 field, error, cells) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (import_id, row_number) DO NOTHING"
            )
            .bind(id)
            .bind(r.row_number)
            .bind(r.outcome)
            .bind(r.customer)
            .bind(r.candidate)
            .bind(&r.field)
            .bind(&r.error)
            .bind(serde_json::to_string(&r.cells).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
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

fn sorted(mut outcomes: Vec<Outcome>) -> Vec<Outcome> {
    outcomes.sort_by_key(|o| o.row_number);
    outcomes
}

fn skip_reason(check: &crate::duplicates::Check) -> String {
    match check.candidates.iter().find(|c| c.duplicate) {
        Some(c) => format!(
            "looks like {} ({:.2}: {})",
            crate::domain::name_of(c.id),
            c.score,
            c.reasons.join(", ")
        ),
        None => "looks like a customer outside your data scope".into(),
    }
}
