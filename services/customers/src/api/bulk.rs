//! `crm.customers.v1.BulkService`: imports (uploaded as a client stream, run as jobs) and
//! exports (streamed back as file chunks).
use super::{
    once,
    pages::{after_id, after_position, page, page_size, parse_id},
};
use crate::{
    bulk::{
        ImportRow, RowResult,
        export::ExportRequest,
        import::{ImportOptions as Options, MatchKey},
        import_name,
        report::{FileOut, temp_path},
    },
    error::Error,
    service::Customers,
};
use crm_platform::{
    auth,
    proto_time::{from_timestamp, timestamp},
};
use crm_proto::crm::customers::v1::{
    CancelCustomerImportRequest, CustomerImport, DownloadCustomerImportReportRequest,
    ExportCustomersRequest, FileChunk, FileFormat, GetCustomerImportRequest, ImportOptions,
    ImportRow as ProtoRow, ListCustomerImportRowsRequest, ListCustomerImportRowsResponse,
    ListCustomerImportsRequest, ListCustomerImportsResponse, UploadCustomerImportRequest,
    bulk_service_server::BulkService, customer_import, import_row,
    upload_customer_import_request::Part,
};
use std::pin::Pin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

/// Largest upload accepted (bytes).
pub const MAX_UPLOAD: u64 = 2 << 30;

/// Bytes per downloaded chunk.
const CHUNK: usize = 64 * 1024;

/// The bulk service over the customer use cases.
#[derive(Clone, Debug)]
pub struct BulkApi {
    customers: Customers,
}

impl BulkApi {
    /// The adapter.
    pub fn new(customers: Customers) -> Self {
        Self { customers }
    }
}

pub(super) type FileStream = Pin<Box<dyn Stream<Item = Result<FileChunk, Status>> + Send>>;

/// Streams a written file in chunks (name and type in the first) and removes it afterwards.
pub(super) fn file_stream(out: FileOut) -> FileStream {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let sent = async {
            let mut file = tokio::fs::File::open(&out.path).await?;
            let mut first = true;
            loop {
                let mut buf = vec![0u8; CHUNK];
                let n = file.read(&mut buf).await?;
                if n == 0 && !first {
                    break;
                }
                buf.truncate(n);
                let chunk = FileChunk {
                    file_name: if first {
                        out.file_name.clone()
                    } else {
                        String::new()
                    },
                    content_type: if first {
                        out.content_type.to_owned()
                    } else {
                        String::new()
                    },
                    data: buf,
                };
                first = false;
                if tx.send(Ok(chunk)).await.is_err() || n == 0 {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        }
        .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot stream a file");
            let _ = tx.send(Err(Status::internal("internal error"))).await;
        }
        let _ = tokio::fs::remove_file(&out.path).await;
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn parse_import_name(name: &str, field: &str) -> Result<Uuid, Status> {
    parse_id(name, "customerImports", field)
}

/// The options as the use case takes them; bad ones name their field.
fn parse_options(o: &ImportOptions) -> Result<Options, Status> {
    let delimiter = match o.delimiter.as_str() {
        "" => None,
        "\\t" | "tab" => Some(b'\t'),
        d if d.len() == 1 => Some(d.as_bytes()[0]),
        _ => return Err(Error::field("options.delimiter", "must be one character").into()),
    };
    let encoding = match o.encoding.to_lowercase().as_str() {
        "" => None,
        e @ ("utf-8" | "utf8" | "gbk" | "gb18030" | "gb2312") => Some(e.to_owned()),
        _ => return Err(Error::field("options.encoding", "must be utf-8 or gbk").into()),
    };
    let match_key = match o.match_key.as_str() {
        "" => MatchKey::None,
        "external_id" => MatchKey::ExternalId,
        "email" => MatchKey::Email,
        "phone" => MatchKey::Phone,
        _ => {
            return Err(
                Error::field("options.match_key", "must be external_id, email or phone").into(),
            );
        }
    };
    let date_order = match o.date_order.to_uppercase().as_str() {
        "" => None,
        d @ ("DMY" | "MDY") => Some(d.to_owned()),
        _ => return Err(Error::field("options.date_order", "must be DMY or MDY").into()),
    };
    let policy = match super::duplicates::policy(o.duplicate_policy)? {
        crate::duplicates::Policy::Block => "BLOCK",
        crate::duplicates::Policy::Allow => "ALLOW",
        crate::duplicates::Policy::Warn => "WARN",
    };
    let default_kind = crm_proto::crm::customers::v1::customer::Kind::try_from(o.default_kind)
        .ok()
        .filter(|k| *k != crm_proto::crm::customers::v1::customer::Kind::Unspecified)
        .map(|k| k.as_str_name().to_owned());
    let default_source = match crate::profile::source(&o.default_source) {
        Ok(s) => s,
        Err(e) => return Err(Error::field("options.default_source", e).into()),
    };
    Ok(Options {
        default_source,
        file_name: o.file_name.clone(),
        xlsx: match FileFormat::try_from(o.format) {
            Ok(FileFormat::Xlsx) => Some(true),
            Ok(FileFormat::Csv) => Some(false),
            _ => None,
        },
        sheet: Some(o.sheet.clone()).filter(|s| !s.is_empty()),
        delimiter,
        encoding,
        mapping: o.mapping.clone().into_iter().collect(),
        dry_run: o.dry_run,
        match_key,
        policy: policy.to_owned(),
        date_order,
        default_kind,
    })
}

/// An import as the API shows it.
pub fn import_proto(j: &ImportRow) -> CustomerImport {
    let mapping: std::collections::HashMap<String, String> =
        serde_json::from_str(&j.mapping).unwrap_or_default();
    CustomerImport {
        name: import_name(j.id),
        state: match j.state.as_str() {
            "RUNNING" => customer_import::State::Running,
            "SUCCEEDED" => customer_import::State::Succeeded,
            "FAILED" => customer_import::State::Failed,
            "CANCELLED" => customer_import::State::Cancelled,
            _ => customer_import::State::Unspecified,
        } as i32,
        file_name: j.file_name.clone(),
        format: match j.format.as_str() {
            "CSV" => FileFormat::Csv,
            "XLSX" => FileFormat::Xlsx,
            _ => FileFormat::Unspecified,
        } as i32,
        dry_run: j.dry_run,
        rows_total: j.rows_total,
        rows_done: j.rows_done,
        created: j.created,
        updated: j.updated,
        skipped: j.skipped,
        failed: j.failed,
        mapping: mapping.into_iter().collect(),
        unmapped_columns: serde_json::from_str(&j.unmapped).unwrap_or_default(),
        error: j.error.clone(),
        started_by: j.started_by.clone(),
        create_time: Some(timestamp(j.created_at)),
        finish_time: j.finished_at.map(timestamp),
        detected_encoding: j.detected_encoding.clone(),
        detected_delimiter: j.detected_delimiter.clone(),
    }
}

fn row_proto(r: &RowResult) -> ProtoRow {
    ProtoRow {
        row_number: r.row_number,
        outcome: match r.outcome.as_str() {
            "CREATED" => import_row::Outcome::Created,
            "UPDATED" => import_row::Outcome::Updated,
            "SKIPPED_DUPLICATE" => import_row::Outcome::SkippedDuplicate,
            "FAILED" => import_row::Outcome::Failed,
            _ => import_row::Outcome::Unspecified,
        } as i32,
        customer: r
            .customer_id
            .map(crate::domain::name_of)
            .unwrap_or_default(),
        candidate: r.candidate.map(crate::domain::name_of).unwrap_or_default(),
        field: r.field.clone(),
        error: r.error.clone(),
        cells: serde_json::from_str(&r.cells).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl BulkService for BulkApi {
    async fn upload_customer_import(
        &self,
        req: Request<Streaming<UploadCustomerImportRequest>>,
    ) -> Result<Response<CustomerImport>, Status> {
        let principal = auth::principal(&req)?;
        let mut stream = req.into_inner();
        let options = match stream.message().await? {
            Some(UploadCustomerImportRequest {
                part: Some(Part::Options(o)),
            }) => o,
            _ => {
                return Err(Error::field("options", "must come first in the upload").into());
            }
        };
        let parsed = parse_options(&options)?;
        let path = temp_path("import", "upload");
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Status::from(Error::Corrupt(format!("cannot store the upload: {e}"))))?;
        let mut size = 0u64;
        let received = async {
            while let Some(part) = stream.message().await? {
                match part.part {
                    Some(Part::Chunk(bytes)) => {
                        size += bytes.len() as u64;
                        if size > MAX_UPLOAD {
                            return Err(Error::field(
                                "chunk",
                                format!("the file is larger than {MAX_UPLOAD} bytes"),
                            )
                            .into());
                        }
                        file.write_all(&bytes).await.map_err(|e| {
                            Status::from(Error::Corrupt(format!("cannot store the upload: {e}")))
                        })?;
                    }
                    _ => return Err(Error::field("options", "can only come first").into()),
                }
            }
            file.flush()
                .await
                .map_err(|e| Status::from(Error::Corrupt(format!("cannot store the upload: {e}"))))
        }
        .await;
        if let Err(e) = received {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        let c = &self.customers;
        let spawned = std::sync::atomic::AtomicBool::new(false);
        let started = once::once(
            c,
            "UploadCustomerImport",
            &options.request_id,
            &options,
            async {
                let job = c.new_import(&principal, &parsed).await?;
                c.spawn_import(&principal, job.id, parsed.clone(), path.clone());
                spawned.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(import_proto(&job))
            },
        )
        .await;
        // A retry (the first upload's import answers) or a refusal: this copy is not needed.
        if !spawned.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = tokio::fs::remove_file(&path).await;
        }
        started.map(Response::new)
    }

    async fn get_customer_import(
        &self,
        req: Request<GetCustomerImportRequest>,
    ) -> Result<Response<CustomerImport>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_import_name(&req.get_ref().name, "name")?;
        let job = self.customers.get_import(&principal, id).await?;
        Ok(Response::new(import_proto(&job)))
    }

    async fn list_customer_imports(
        &self,
        req: Request<ListCustomerImportsRequest>,
    ) -> Result<Response<ListCustomerImportsResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let size = page_size(r.page_size)?;
        let before = after_id(&r.page_token)?;
        let jobs = self
            .customers
            .list_imports(&principal, size + 1, before)
            .await?;
        let (jobs, next_page_token) = page(jobs, size, |j| j.id.to_string());
        Ok(Response::new(ListCustomerImportsResponse {
            imports: jobs.iter().map(import_proto).collect(),
            next_page_token,
        }))
    }

    async fn cancel_customer_import(
        &self,
        req: Request<CancelCustomerImportRequest>,
    ) -> Result<Response<CustomerImport>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_import_name(&req.get_ref().name, "name")?;
        let job = self.customers.cancel_import(&principal, id).await?;
        Ok(Response::new(import_proto(&job)))
    }

    async fn list_customer_import_rows(
        &self,
        req: Request<ListCustomerImportRowsRequest>,
    ) -> Result<Response<ListCustomerImportRowsResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let id = parse_import_name(&r.parent, "parent")?;
        let size = page_size(r.page_size)?;
        let outcome = match import_row::Outcome::try_from(r.outcome) {
            Ok(import_row::Outcome::Unspecified) => None,
            Ok(o) => Some(o.as_str_name()),
            Err(_) => return Err(Error::field("outcome", "is not a known outcome").into()),
        };
        let after = after_position(&r.page_token)?;
        let rows = self
            .customers
            .list_import_rows(&principal, id, outcome, size + 1, after)
            .await?;
        let (rows, next_page_token) = page(rows, size, |r| r.row_number.to_string());
        Ok(Response::new(ListCustomerImportRowsResponse {
            rows: rows.iter().map(row_proto).collect(),
            next_page_token,
        }))
    }

    type DownloadCustomerImportReportStream = FileStream;

    async fn download_customer_import_report(
        &self,
        req: Request<DownloadCustomerImportReportRequest>,
    ) -> Result<Response<FileStream>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let id = parse_import_name(&r.name, "name")?;
        let xlsx = r.format == FileFormat::Xlsx as i32;
        let out = self.customers.import_report(&principal, id, xlsx).await?;
        Ok(Response::new(file_stream(out)))
    }

    type ExportCustomersStream = FileStream;

    async fn export_customers(
        &self,
        req: Request<ExportCustomersRequest>,
    ) -> Result<Response<FileStream>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let export = ExportRequest {
            xlsx: r.format == FileFormat::Xlsx as i32,
            filter: r.filter,
            order_by: r.order_by,
            sheet_per_customer: r.sheet_per_customer,
            from: r.from_time.as_ref().and_then(from_timestamp),
            to: r.to_time.as_ref().and_then(from_timestamp),
        };
        let out = self.customers.export(&principal, &export).await?;
        Ok(Response::new(file_stream(out)))
    }
}
