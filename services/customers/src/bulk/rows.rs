//! The reading half of an import: options, the file read on a blocking thread and sent in
//! batches, and each row checked into a new customer (exactly as the API would check it).
use super::fields;
use crate::{contact_points::NewContactPoint, duplicates::Policy, service::NewCustomer};
use crm_tabular::{DateFormat, Format, OpenOptions, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use uuid::Uuid;

/// Rows read, checked and written together.
pub(super) const BATCH: usize = 1000;

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
    /// The source of external ids without one ("import" when unset).
    #[serde(default)]
    pub default_source: Option<String>,
}

impl ImportOptions {
    pub(super) fn policy(&self) -> Policy {
        match self.policy.as_str() {
            "BLOCK" => Policy::Block,
            "ALLOW" => Policy::Allow,
            _ => Policy::Warn,
        }
    }

    pub(super) fn date_formats(&self) -> Vec<DateFormat> {
        match self.date_order.as_deref() {
            Some("DMY") => vec![DateFormat::Dmy],
            Some("MDY") => vec![DateFormat::Mdy],
            _ => Vec::new(),
        }
    }
}

/// What the reading thread sends.
pub(super) enum Read {
    /// The header row, the format and the CSV detections.
    Header(Row, Format, String, String),
    /// Data rows.
    Rows(Vec<Result<Row, (u64, String)>>),
    /// The file cannot be read at all.
    Failed(String),
}

/// Reads the file on this (blocking) thread, sending batches until the receiver is gone.
pub(super) fn read_file(
    path: PathBuf,
    options: ImportOptions,
    tx: tokio::sync::mpsc::Sender<Read>,
) {
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
pub(super) struct Outcome {
    pub(super) row_number: i64,
    pub(super) outcome: &'static str,
    pub(super) customer: Option<Uuid>,
    pub(super) candidate: Option<Uuid>,
    pub(super) field: String,
    pub(super) error: String,
    pub(super) cells: Vec<String>,
}

impl Outcome {
    /// A row that was written (or, in a dry run, would be).
    pub(super) fn done(
        row: &Row,
        outcome: &'static str,
        customer: Option<Uuid>,
        candidate: Option<Uuid>,
    ) -> Outcome {
        Outcome {
            row_number: row.number as i64,
            outcome,
            customer,
            candidate,
            field: String::new(),
            error: String::new(),
            cells: row.cells.clone(),
        }
    }

    pub(super) fn failed(row: &Row, field: &str, error: impl Into<String>) -> Outcome {
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

/// Everything fixed for the run.
pub(super) struct Plan {
    /// The header row.
    pub(super) header: Vec<String>,
    pub(super) mapping: Vec<Option<String>>,
    /// Field → header, for error messages.
    pub(super) headers: HashMap<String, String>,
    pub(super) width: usize,
    pub(super) fields: Vec<String>,
    pub(super) defs: HashMap<String, crate::custom_fields::DefinitionRow>,
    pub(super) def_list: Vec<crate::custom_fields::DefinitionRow>,
    pub(super) dates: Vec<DateFormat>,
    pub(super) default_kind: Option<crm_proto::crm::customers::v1::customer::Kind>,
    /// The source of external ids without one.
    pub(super) default_source: String,
    /// The file is CSV: cells lose the apostrophe our CSV exports put before formula-leading
    /// text (`crm_tabular::strip_formula_guard`), so an export re-imports unchanged. XLSX
    /// cells are taken verbatim.
    pub(super) csv: bool,
}

impl Plan {
    /// The first bad field of a refused write, as (its column header, why).
    pub(super) fn first_violation(
        &self,
        v: Vec<crm_platform::error::FieldViolation>,
    ) -> (String, String) {
        v.into_iter()
            .next()
            .map_or((String::new(), "is invalid".into()), |f| {
                (self.header_of(&f.field), f.description)
            })
    }

    pub(super) fn header_of(&self, field: &str) -> String {
        let field = field.strip_prefix("customer.").unwrap_or(field);
        self.headers
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_owned())
    }
}

/// A custom field's text as the JSON value its definition wants.
pub(super) fn custom_value(
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
            // Stored as the API stores numbers, so a re-imported export changes nothing.
            crate::custom_fields::number_value(n)
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

/// One row read into a validated new customer with its contact points, or the column at fault.
pub(super) fn parse_row(
    plan: &Plan,
    row: &Row,
) -> Result<(NewCustomer, Vec<NewContactPoint>), (String, String)> {
    if row.cells.len() > plan.width && row.cells[plan.width..].iter().any(|c| !c.is_empty()) {
        return Err((
            String::new(),
            "more cells than headers (an unquoted delimiter inside a value?)".into(),
        ));
    }
    // Copied only when a cell may carry the guard (most rows have none).
    let cells: std::borrow::Cow<'_, [String]> =
        if plan.csv && row.cells.iter().any(|c| c.starts_with('\'')) {
            row.cells
                .iter()
                .map(|c| crm_tabular::strip_formula_guard(c).to_owned())
                .collect::<Vec<_>>()
                .into()
        } else {
            (&row.cells[..]).into()
        };
    let (mut customer, extra) = fields::customer_of(
        &cells,
        &plan.mapping,
        plan.default_kind,
        &plan.default_source,
    )
    .map_err(|(f, e)| (plan.header_of(&f), e))?;
    // Every bad cell of the row is reported at once, so one pass over the file fixes it.
    let mut bad: Vec<(String, String)> = Vec::new();
    let points = super::contacts::contact_points(&extra.contacts).unwrap_or_else(|e| {
        bad.extend(e.into_iter().map(|(f, why)| (plan.header_of(&f), why)));
        Vec::new()
    });
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
    for (key, text) in extra.custom {
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
    Ok((new, points))
}

pub(super) fn sorted(mut outcomes: Vec<Outcome>) -> Vec<Outcome> {
    outcomes.sort_by_key(|o| o.row_number);
    outcomes
}

pub(super) fn skip_reason(check: &crate::duplicates::Check) -> String {
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
