//! Exports of customers to CSV or Excel: filtered and ordered like ListCustomers, limited by
//! the caller's reach, sensitive fields masked unless the caller may read them, and reported
//! to the security audit log (DATA_EXPORTED, counted by the LARGE_EXPORT alert rule). Text
//! stays text in Excel ("2/4", leading zeros, long ids); dates are dates; money carries its
//! currency; custom fields are typed by their definitions (`custom_cells`). XLSX is the
//! lossless format; in CSV, text a spreadsheet would run as a formula carries a leading
//! apostrophe, which the importer strips again.
use super::custom_cells::CustomCell;
use super::report::{CSV, FileOut, Sink, XLSX, temp_path};
use crate::{
    error::Error,
    service::{Customers, ListParams},
    store::CustomerRow,
};
use chrono::{DateTime, NaiveDate, Utc};
use crm_platform::{auth::Principal, with_pool};
use crm_tabular::Cell;

/// Customers at most in a one-sheet-per-customer workbook.
pub const MAX_SHEETS: usize = 1000;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Excel (else CSV).
    pub xlsx: bool,
    /// A ListCustomers filter.
    pub filter: String,
    /// A ListCustomers order.
    pub order_by: String,
    /// One sheet per customer with its transactions (XLSX).
    pub sheet_per_customer: bool,
    /// Transactions from.
    pub from: Option<DateTime<Utc>>,
    /// Transactions before.
    pub to: Option<DateTime<Utc>>,
}

/// The flat export's fixed columns, before custom fields.
const COLUMNS: &[&str] = &[
    "name",
    "display_name",
    "given_name",
    "family_name",
    "kind",
    "email",
    "phone",
    "legal_name",
    "lifecycle_stage",
    "value_tier",
    "industry",
    "region",
    "company_size",
    "source_channel",
    "tags",
    "external_id",
    "source",
    "birth_date",
    "preferred_language",
    "notes",
    "owner_id",
    "lifetime_value_minor",
    "national_id",
    "bank_account",
    "create_time",
    "update_time",
];

fn date(text: &Option<String>) -> Cell<'_> {
    match text
        .as_deref()
        .map(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d"))
    {
        Some(Ok(d)) => Cell::Date(d),
        Some(Err(_)) => text.as_deref().map_or(Cell::Empty, Cell::Text),
        None => Cell::Empty,
    }
}

fn text(v: &Option<String>) -> Cell<'_> {
    v.as_deref().map_or(Cell::Empty, Cell::Text)
}

/// The cells of one customer; `owned` keeps the strings the cells borrow.
fn cells<'a>(
    row: &'a CustomerRow,
    owned: &'a [String; 3],
    secrets: Option<&'a crate::sensitive::Values>,
    custom: &'a [CustomCell],
) -> Vec<Cell<'a>> {
    let secret = |name| {
        secrets
            .and_then(|s| s.get(name))
            .map_or(Cell::Empty, Cell::Text)
    };
    let mut out = vec![
        Cell::Text(&owned[0]),
        Cell::Text(&row.display_name),
        text(&row.given_name),
        text(&row.family_name),
        Cell::Text(&row.kind),
        text(&row.email),
        text(&row.phone),
        text(&row.legal_name),
        Cell::Text(&row.lifecycle_stage),
        Cell::Text(&row.value_tier),
        text(&row.industry),
        text(&row.region),
        text(&row.company_size),
        text(&row.source_channel),
        Cell::Text(&owned[1]),
        text(&row.external_id),
        text(&row.source),
        date(&row.birth_date),
        text(&row.preferred_language),
        text(&row.notes),
        Cell::Text(&owned[2]),
        Cell::Integer(row.lifetime_value_minor),
        secret("national_id"),
        secret("bank_account"),
        Cell::DateTime(row.created_at.naive_utc()),
        Cell::DateTime(row.updated_at.naive_utc()),
    ];
    out.extend(custom.iter().map(CustomCell::cell));
    out
}

impl Customers {
    /// Writes the export to a temporary file and reports it to the audit log.
    pub async fn export(
        &self,
        principal: &Principal,
        req: &ExportRequest,
    ) -> Result<FileOut, Error> {
        if req.sheet_per_customer && !req.xlsx {
            return Err(Error::field("sheet_per_customer", "needs the XLSX format"));
        }
        // (key, type): each value is written as its field's type.
        let defs: Vec<(String, String)> = self
            .definitions()
            .await?
            .into_iter()
            .map(|d| (d.key, d.field_type))
            .collect();
        let ext = if req.xlsx { "xlsx" } else { "csv" };
        let path = temp_path("customers-export", ext);
        let mut sink = Sink::create(req.xlsx, &path)?;
        let mut header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        header.extend(defs.iter().map(|(k, _)| format!("custom_fields.{k}")));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        if !req.sheet_per_customer {
            sink.sheet("Customers", &header)?;
        }
        let mut params = ListParams {
            filter: req.filter.clone(),
            order_by: req.order_by.clone(),
            page_size: 1000,
            page_token: String::new(),
        };
        let mut rows = 0u64;
        loop {
            let (page, next) = self.list(principal, &params).await?;
            if req.sheet_per_customer && rows as usize + page.len() > MAX_SHEETS {
                let _ = std::fs::remove_file(&path);
                return Err(Error::field(
                    "sheet_per_customer",
                    format!("is for at most {MAX_SHEETS} customers: narrow the filter"),
                ));
            }
            let secrets = self.sensitive_of(principal, &page).await?;
            for row in &page {
                let values: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&row.custom_fields).unwrap_or_default();
                let custom: Vec<CustomCell> = defs
                    .iter()
                    .map(|(k, ty)| {
                        values
                            .get(k)
                            .map_or(CustomCell::Empty, |v| CustomCell::of(ty, v))
                    })
                    .collect();
                let owned = [
                    crate::domain::name_of(row.id),
                    row.tag_list().join(";"),
                    row.owner_id.map(|o| o.to_string()).unwrap_or_default(),
                ];
                let cells = cells(row, &owned, secrets.get(&row.id), &custom);
                if req.sheet_per_customer {
                    self.customer_sheet(&mut sink, row, &header, &cells, req)
                        .await?;
                } else {
                    sink.row(&cells)?;
                }
                rows += 1;
            }
            if next.is_empty() {
                break;
            }
            params.page_token = next;
        }
        sink.finish(path.clone()).await?;
        if let Some(audit) = &self.audit {
            audit.report_export(crm_platform::auth::Export {
                actor: principal.actor(),
                service: crate::NAME.into(),
                resource: "customers".into(),
                rows,
                request_id: crm_platform::request::current_id(),
            });
        }
        tracing::info!(rows, actor = %principal.actor(), "customers exported");
        Ok(FileOut {
            path,
            file_name: format!(
                "customers-{}.{ext}",
                chrono::Utc::now().format("%Y%m%d-%H%M%S")
            ),
            content_type: if req.xlsx { XLSX } else { CSV },
            rows,
        })
    }

    /// One customer's sheet: its fields as name/value rows, then its transactions.
    async fn customer_sheet(
        &self,
        sink: &mut Sink,
        row: &CustomerRow,
        header: &[&str],
        cells: &[Cell<'_>],
        req: &ExportRequest,
    ) -> Result<(), Error> {
        sink.sheet(&row.display_name, &["field", "value"])?;
        for (name, cell) in header.iter().zip(cells) {
            sink.row(&[Cell::Text(name), *cell])?;
        }
        sink.row(&[Cell::Empty])?;
        sink.row(&[
            Cell::Text("order_reference"),
            Cell::Text("order_time"),
            Cell::Text("status"),
            Cell::Text("channel"),
            Cell::Text("amount"),
        ])?;
        type Tx = (String, DateTime<Utc>, String, Option<String>, i64, String);
        // Unbounded, within what both databases store.
        let bound = |y| {
            NaiveDate::from_ymd_opt(y, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .unwrap_or_default()
        };
        let from = req.from.unwrap_or_else(|| bound(1));
        let to = req.to.unwrap_or_else(|| bound(9999));
        let orders: Vec<Tx> = with_pool!(self.store.db(), |pool| sqlx::query_as(
            "SELECT order_reference, order_time, status, channel, amount_minor, currency FROM transactions \
             WHERE customer_id = $1 AND order_time >= $2 AND order_time < $3 ORDER BY order_time, id"
        )
        .bind(row.id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)
        .map_err(crm_platform::db::DbError::from)?;
        for (reference, at, status, channel, amount, currency) in &orders {
            sink.row(&[
                Cell::Text(reference),
                Cell::DateTime(at.naive_utc()),
                Cell::Text(status),
                text(channel),
                Cell::Money {
                    minor: *amount,
                    currency,
                },
            ])?;
        }
        Ok(())
    }
}
