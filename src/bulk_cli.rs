//! `crm import customers FILE` and `crm export customers`: the bulk service's front end against
//! a running suite (the gateway's gRPC port), signed in with a token (`--token`, `CRM_TOKEN`)
//! or a login (`--user`, `CRM_USER` and `CRM_PASSWORD`).
//!
//! `crm import` exits with status 2 when any row failed (dry runs too), so a script or a CI job
//! cannot mistake a file whose every row was refused for a success; `--allow-failures` accepts
//! failed rows. Any other error (the file could not be read, the import was cancelled, the
//! suite is unreachable) exits with 1. The report's address is printed either way.
use clap::{Args, Subcommand};
use crm_proto::crm::customers::v1::{
    ExportCustomersRequest, FileFormat, GetCustomerImportRequest, ImportOptions,
    ListCustomerImportRowsRequest, UploadCustomerImportRequest,
    bulk_service_client::BulkServiceClient, customer_import, upload_customer_import_request::Part,
};
use crm_proto::crm::identity::v1::{LoginRequest, auth_service_client::AuthServiceClient};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::io::AsyncReadExt;
use tonic::transport::Channel;

/// Where the suite is and who calls it.
#[derive(Debug, Args, Clone)]
pub struct Connection {
    /// The gateway's address.
    #[arg(long, env = "CRM_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// An access token.
    #[arg(long, env = "CRM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A login name, signed in with `CRM_PASSWORD` when no token is given.
    #[arg(long, env = "CRM_USER")]
    pub user: Option<String>,
}

/// `crm import`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Imports customers from a CSV or XLSX file, showing progress, then the rows that failed.
    Customers {
        /// The file.
        file: PathBuf,
        /// Check every row and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// A JSON file: {"column header": "field", ...} ("" ignores a column).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Update the customers matching by this key: external_id, email or phone.
        #[arg(long)]
        match_key: Option<String>,
        /// XLSX: the sheet to read.
        #[arg(long)]
        sheet: Option<String>,
        /// Skip rows that look like existing customers (else they are created and reported).
        #[arg(long)]
        block_duplicates: bool,
        /// Day/month order of dates like 03/04/2024: DMY or MDY.
        #[arg(long)]
        date_order: Option<String>,
        /// Exit with status 0 even when rows failed (they are still listed and reported).
        #[arg(long)]
        allow_failures: bool,
        /// The kind of rows without a kind column or cell: person or organization. Unset: a
        /// name with a legal form (Ltd, GmbH, 有限公司, ...) is an organization, others persons.
        #[arg(long)]
        kind: Option<String>,
        /// The source system of external ids in rows without a source (default "import").
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
}

/// The exit status of an import whose rows failed, apart from 1 (any other error).
pub const ROWS_FAILED: u8 = 2;

/// `crm export`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Exports the customers the caller may see to a CSV or XLSX file.
    Customers {
        /// The file to write; its extension (.csv, .xlsx) picks the format.
        #[arg(long)]
        out: PathBuf,
        /// A ListCustomers filter, e.g. 'kind = ORGANIZATION'.
        #[arg(long, default_value = "")]
        filter: String,
        /// A ListCustomers order, e.g. display_name.
        #[arg(long, default_value = "")]
        order_by: String,
        /// XLSX: one sheet per customer with its transactions.
        #[arg(long)]
        sheet_per_customer: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

async fn connect(c: &Connection) -> anyhow::Result<(Channel, String)> {
    let channel = Channel::from_shared(c.server.clone())?.connect().await?;
    let token = match (&c.token, &c.user) {
        (Some(t), _) => t.clone(),
        (None, Some(user)) => {
            let password = std::env::var("CRM_PASSWORD")
                .map_err(|_| anyhow::anyhow!("set CRM_PASSWORD to sign in as {user}"))?;
            AuthServiceClient::new(channel.clone())
                .login(LoginRequest {
                    login_name: user.clone(),
                    password,
                })
                .await?
                .into_inner()
                .access_token
        }
        (None, None) => {
            anyhow::bail!("sign in: --token (CRM_TOKEN) or --user (CRM_USER, CRM_PASSWORD)")
        }
    };
    Ok((channel, token))
}

fn authed<T>(token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(req)
}

fn bar(done: i64, total: i64) -> String {
    let width = 30;
    let filled = if total > 0 {
        ((done.min(total) * width) / total) as usize
    } else {
        0
    };
    format!(
        "[{}{}] {done}/{}",
        "#".repeat(filled),
        "-".repeat(width as usize - filled),
        if total > 0 {
            total.to_string()
        } else {
            "?".into()
        }
    )
}

/// Runs `crm import ...`; the exit status is [`ROWS_FAILED`] when rows failed and failures
/// were not allowed.
pub async fn import(command: ImportCommand) -> anyhow::Result<ExitCode> {
    let ImportCommand::Customers {
        file,
        dry_run,
        mapping,
        match_key,
        sheet,
        block_duplicates,
        date_order,
        allow_failures,
        kind,
        source,
        connection,
    } = command;
    let default_kind = match kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => crm_proto::crm::customers::v1::customer::Kind::Unspecified,
        Some("person") => crm_proto::crm::customers::v1::customer::Kind::Person,
        Some("organization" | "organisation") => {
            crm_proto::crm::customers::v1::customer::Kind::Organization
        }
        Some(other) => anyhow::bail!("--kind {other:?}: must be person or organization"),
    };
    let mapping: HashMap<String, String> = match mapping {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(&path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => HashMap::new(),
    };
    let (channel, token) = connect(&connection).await?;
    let mut client = BulkServiceClient::new(channel);
    let options = ImportOptions {
        file_name: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sheet: sheet.unwrap_or_default(),
        mapping,
        dry_run,
        match_key: match_key.unwrap_or_default(),
        duplicate_policy: if block_duplicates {
            crm_proto::crm::customers::v1::DuplicatePolicy::BlockDuplicates as i32
        } else {
            0
        },
        date_order: date_order.unwrap_or_default(),
        request_id: uuid::Uuid::now_v7().to_string(),
        default_kind: default_kind as i32,
        default_source: source.unwrap_or_default(),
        ..Default::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(UploadCustomerImportRequest {
        part: Some(Part::Options(options)),
    })
    .await?;
    let mut f = tokio::fs::File::open(&file).await?;
    tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            match f.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.truncate(n);
                    let chunk = UploadCustomerImportRequest {
                        part: Some(Part::Chunk(buf)),
                    };
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut job = client
        .upload_customer_import(authed(&token, stream)?)
        .await?
        .into_inner();
    let name = job.name.clone();
    while job.state == customer_import::State::Running as i32 {
        eprint!("\r{} {}", name, bar(job.rows_done, job.rows_total));
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        job = client
            .get_customer_import(authed(
                &token,
                GetCustomerImportRequest { name: name.clone() },
            )?)
            .await?
            .into_inner();
    }
    eprintln!("\r{} {}", name, bar(job.rows_done, job.rows_done));
    let state = customer_import::State::try_from(job.state)
        .map(|s| s.as_str_name())
        .unwrap_or("?");
    println!(
        "{state}{}: {} rows, {} created, {} updated, {} skipped as duplicates, {} failed",
        if job.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        job.rows_done,
        job.created,
        job.updated,
        job.skipped,
        job.failed
    );
    if !job.unmapped_columns.is_empty() {
        println!("columns not imported: {}", job.unmapped_columns.join(", "));
    }
    // Where the whole report is (every failed, skipped or updated row, as in the file, then
    // its outcome), printed whatever the outcome so a script can always fetch it.
    let report = format!(
        "{}/api/v1/{name}/report?format=XLSX",
        connection.server.trim_end_matches('/')
    );
    if !job.error.is_empty() {
        println!("report: {report}");
        anyhow::bail!("{}", job.error);
    }
    let rows = client
        .list_customer_import_rows(authed(
            &token,
            ListCustomerImportRowsRequest {
                parent: name.clone(),
                outcome: crm_proto::crm::customers::v1::import_row::Outcome::Failed as i32,
                page_size: 20,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    for r in &rows.rows {
        println!("row {}: {} {}", r.row_number, r.field, r.error);
    }
    if job.failed > rows.rows.len() as i64 {
        println!("... and {} more", job.failed - rows.rows.len() as i64);
    }
    println!("report: {report}");
    // Cancelled, or stopped by a restart: not every row was handled.
    if job.state != customer_import::State::Succeeded as i32 {
        anyhow::bail!("{name} ended {state} after {} rows", job.rows_done);
    }
    if job.failed > 0 && !allow_failures {
        eprintln!(
            "{} of {} rows failed: exit status {ROWS_FAILED} (--allow-failures accepts failed rows)",
            job.failed, job.rows_done
        );
        return Ok(ExitCode::from(ROWS_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `crm export ...`.
pub async fn export(command: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Customers {
        out,
        filter,
        order_by,
        sheet_per_customer,
        connection,
    } = command;
    let xlsx = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let (channel, token) = connect(&connection).await?;
    let mut stream = BulkServiceClient::new(channel)
        .export_customers(authed(
            &token,
            ExportCustomersRequest {
                format: if xlsx {
                    FileFormat::Xlsx
                } else {
                    FileFormat::Csv
                } as i32,
                filter,
                order_by,
                sheet_per_customer,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    let mut file = std::fs::File::create(&out)?;
    let mut bytes = 0usize;
    while let Some(chunk) = stream.message().await? {
        bytes += chunk.data.len();
        file.write_all(&chunk.data)?;
    }
    file.flush()?;
    println!("wrote {} ({bytes} bytes)", out.display());
    Ok(())
}
