//! `crm bench seed`: writes generated customers into a customers database, or into CSV/XLSX
//! files for import benchmarks and labelled duplicate sets.
//!
//! How it writes: the customers service has no bulk API yet, so seeding is direct SQL into the
//! service's own tables (after its migrations): PostgreSQL `COPY ... FROM STDIN`, SQLite
//! multi-row `INSERT`s in large transactions. Values are normalized with the service's own
//! domain parsers, so the rows are exactly what the API would have stored.
use super::generate::{Generator, Record};
use crm_customers::domain::{Email, Phone};
use crm_platform::db::Db;
use std::{path::Path, time::Instant};

const COLUMNS: &str = "id, display_name, kind, email, phone, owner_id, owner_unit_path, version, created_at, updated_at, search_doc";

fn kind(r: &Record) -> &'static str {
    if r.organization {
        "ORGANIZATION"
    } else {
        "PERSON"
    }
}

fn email(r: &Record) -> Option<String> {
    r.email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .map(|e| e.as_str().to_owned())
}

/// The search document the service would have written for the record.
fn search_doc(r: &Record) -> String {
    let kind = if r.organization {
        crm_customers::domain::Kind::Organization
    } else {
        crm_customers::domain::Kind::Person
    };
    let mut row =
        crm_customers::store::CustomerRow::new(&r.display_name, kind, None, "/", r.created_at);
    row.email = email(r);
    row.phone = phone(r);
    crm_customers::search::document(&row)
}

fn phone(r: &Record) -> Option<String> {
    r.phone_raw
        .as_deref()
        .and_then(|p| Phone::parse(p).ok())
        .map(|p| p.as_str().to_owned())
}

/// Quotes a CSV field for PostgreSQL's COPY (an unquoted empty field is NULL).
fn csv_field(out: &mut String, value: Option<&str>) {
    if let Some(v) = value {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    }
}

/// Writes records `0..count` into the customers table; returns how many were written.
pub async fn seed_db(
    db: &Db,
    generator: &Generator,
    count: u64,
    progress: bool,
) -> anyhow::Result<u64> {
    const BATCH: u64 = 10_000;
    let started = Instant::now();
    match db {
        Db::Pg(pool) => {
            let mut conn = pool.acquire().await?;
            let mut copy = conn
                .copy_in_raw(&format!(
                    "COPY customers ({COLUMNS}) FROM STDIN WITH (FORMAT csv)"
                ))
                .await?;
            let mut start = 0;
            while start < count {
                let end = (start + BATCH).min(count);
                let mut chunk = String::with_capacity(200 * BATCH as usize);
                for i in start..end {
                    let r = generator.record(i);
                    let at = r.created_at.to_rfc3339();
                    chunk.push_str(&r.id.to_string());
                    chunk.push(',');
                    csv_field(&mut chunk, Some(&r.display_name));
                    chunk.push(',');
                    chunk.push_str(kind(&r));
                    chunk.push(',');
                    csv_field(&mut chunk, email(&r).as_deref());
                    chunk.push(',');
                    csv_field(&mut chunk, phone(&r).as_deref());
                    chunk.push_str(",,/,1,");
                    chunk.push_str(&at);
                    chunk.push(',');
                    chunk.push_str(&at);
                    chunk.push(',');
                    csv_field(&mut chunk, Some(&search_doc(&r)));
                    chunk.push('\n');
                }
                copy.send(chunk.into_bytes()).await?;
                start = end;
                report(progress, start, count, started);
            }
            copy.finish().await?;
            // Fresh statistics so the planner uses the indexes from the first query on.
            sqlx::query("ANALYZE customers").execute(pool).await?;
        }
        Db::Sqlite(pool) => {
            // 8 bound values per row; 500 rows stay far below SQLite's bind-variable limit.
            const ROWS: u64 = 500;
            let mut start = 0;
            while start < count {
                let end = (start + BATCH).min(count);
                // IMMEDIATE: the write lock is taken at BEGIN, through the busy timeout. A
                // deferred transaction takes it at its first INSERT and can fail at once with
                // "database is locked" when a running service committed in between.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let mut i = start;
                while i < end {
                    let stop = (i + ROWS).min(end);
                    let mut sql = format!("INSERT INTO customers ({COLUMNS}) VALUES ");
                    for n in 0..(stop - i) {
                        let b = n * 8;
                        if n > 0 {
                            sql.push(',');
                        }
                        sql.push_str(&format!(
                            "(${},${},${},${},${},NULL,'/',1,${},${},${})",
                            b + 1,
                            b + 2,
                            b + 3,
                            b + 4,
                            b + 5,
                            b + 6,
                            b + 7,
                            b + 8
                        ));
                    }
                    let records: Vec<Record> = (i..stop).map(|k| generator.record(k)).collect();
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in &records {
                        query = query
                            .bind(r.id)
                            .bind(r.display_name.clone())
                            .bind(kind(r))
                            .bind(email(r))
                            .bind(phone(r))
                            .bind(r.created_at)
                            .bind(r.created_at)
                            .bind(search_doc(r));
                    }
                    query.execute(&mut *tx).await?;
                    i = stop;
                }
                tx.commit().await?;
                start = end;
                report(progress, start, count, started);
            }
        }
    }
    if progress {
        eprintln!();
    }
    Ok(count)
}

fn report(progress: bool, done: u64, total: u64, started: Instant) {
    if progress {
        let secs = started.elapsed().as_secs_f64();
        eprint!(
            "\rseeded {done}/{total} customers in {secs:.1} s ({:.0}/s)   ",
            done as f64 / secs.max(1e-9)
        );
    }
}

/// The header of generated customer files (import benchmarks, dedup sets).
pub const FILE_HEADER: &[&str] = &[
    "customer_ref",
    "display_name",
    "legal_name",
    "kind",
    "email",
    "phone",
    "country",
    "city",
    "street",
    "postal_code",
    "tags",
    "source_channel",
    "birthday",
    "credit_limit",
    "currency",
    "created_at",
    "duplicate_of",
];

/// One record as a file row: values as a person or an ERP export would have them.
pub fn file_row(r: &Record) -> Vec<String> {
    vec![
        format!("GEN-{}", r.index),
        r.display_name.clone(),
        r.legal_name.clone().unwrap_or_default(),
        kind(r).to_owned(),
        r.email.clone().unwrap_or_default(),
        r.phone_raw.clone().unwrap_or_default(),
        r.country.to_owned(),
        r.city.to_owned(),
        r.street.clone(),
        r.postal_code.clone(),
        r.tags.join(";"),
        r.source_channel.to_owned(),
        r.birthday.map(|d| d.to_string()).unwrap_or_default(),
        format!(
            "{}.{:02}",
            r.credit_limit_minor / 100,
            r.credit_limit_minor % 100
        ),
        r.currency.to_owned(),
        r.created_at.to_rfc3339(),
        r.duplicate_of
            .map(|d| format!("GEN-{d}"))
            .unwrap_or_default(),
    ]
}

/// Writes customers (and, with `history`, their transactions and interactions next to it)
/// as CSV.
pub fn write_csv(
    path: &Path,
    generator: &Generator,
    count: u64,
    history: bool,
) -> anyhow::Result<()> {
    let mut customers = csv::Writer::from_path(path)?;
    customers.write_record(FILE_HEADER)?;
    let sibling = |suffix: &str| {
        path.with_file_name(format!(
            "{}_{suffix}.csv",
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("customers")
        ))
    };
    let mut extra = if history {
        let mut t = csv::Writer::from_path(sibling("transactions"))?;
        t.write_record([
            "customer_ref",
            "order_ref",
            "time",
            "product",
            "quantity",
            "amount_minor",
            "currency",
            "status",
        ])?;
        let mut x = csv::Writer::from_path(sibling("interactions"))?;
        x.write_record([
            "customer_ref",
            "kind",
            "time",
            "subject",
            "duration_minutes",
        ])?;
        Some((t, x))
    } else {
        None
    };
    for i in 0..count {
        let r = generator.record(i);
        customers.write_record(file_row(&r))?;
        if let Some((t, x)) = extra.as_mut() {
            let reference = format!("GEN-{i}");
            for tx in generator.transactions(&r) {
                let status = if tx.refunded { "REFUNDED" } else { "COMPLETED" };
                t.write_record([
                    reference.as_str(),
                    &tx.order_ref,
                    &tx.time.to_rfc3339(),
                    tx.product,
                    &tx.quantity.to_string(),
                    &tx.amount_minor.to_string(),
                    tx.currency,
                    status,
                ])?;
            }
            for it in generator.interactions(&r) {
                x.write_record([
                    reference.as_str(),
                    it.kind,
                    &it.time.to_rfc3339(),
                    it.subject,
                    &it.duration_minutes.to_string(),
                ])?;
            }
        }
    }
    customers.flush()?;
    if let Some((mut t, mut x)) = extra {
        t.flush()?;
        x.flush()?;
    }
    Ok(())
}

/// Writes customers as an Excel workbook (one sheet, every value as text so nothing is
/// reinterpreted: leading zeros and "2/4" stay as they are).
pub fn write_xlsx(path: &Path, generator: &Generator, count: u64) -> anyhow::Result<()> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("customers")?;
    for (col, name) in FILE_HEADER.iter().enumerate() {
        sheet.write_string(0, col as u16, *name)?;
    }
    for i in 0..count {
        for (col, value) in file_row(&generator.record(i)).iter().enumerate() {
            sheet.write_string(i as u32 + 1, col as u16, value)?;
        }
    }
    workbook.save(path)?;
    Ok(())
}
