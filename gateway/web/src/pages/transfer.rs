//! The import wizard (upload → automatic mapping and dry run → edit the mapping → run with a
//! progress bar → report) and the export of the current list view.
//!
//! The uploaded file is kept on this gateway's disk between the steps (one file per upload,
//! named by a random token and bound to the user, deleted after a day), so the mapping can be
//! edited and tried again without uploading again. The import itself is a job of the customers
//! service; this page only starts and watches it.
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx};
use askama::Template;
use axum::{
    Extension, Form,
    body::Body,
    extract::{Multipart, Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::customers::v1::{
    CustomerImport, DownloadCustomerImportReportRequest, ExportCustomersRequest, FileChunk,
    FileFormat, GetCustomerImportRequest, ImportOptions, ImportRow, ListCustomerImportRowsRequest,
    UploadCustomerImportRequest, bulk_service_client::BulkServiceClient, customer::Kind,
    customer_import::State as JobState, import_row::Outcome, upload_customer_import_request::Part,
};
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};
use std::path::PathBuf;

/// The largest file the wizard accepts (the customers service's own limit is higher).
pub const MAX_UPLOAD: usize = 64 << 20;
/// How long an uploaded file is kept for further runs.
const KEEP_SECONDS: u64 = 24 * 3600;
/// Size of the chunks streamed to the customers service.
const CHUNK: usize = 256 << 10;
/// Fields a column can be mapped to (custom fields are typed as `custom_fields.<key>`).
pub const TARGETS: &[&str] = &[
    "display_name",
    "kind",
    "email",
    "phone",
    "legal_name",
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
    "given_name",
    "family_name",
    "email_2",
    "phone_2",
    "national_id",
    "bank_account",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
];

fn upload_dir() -> PathBuf {
    std::env::temp_dir().join("crm-web-uploads")
}

/// The file of an upload token, if the token is well formed and belongs to `user`.
fn upload_path(token: &str, user: &str) -> Option<PathBuf> {
    let (owner, random) = token.split_once('-')?;
    let well_formed = owner == user.replace('-', "")
        && random.len() == 32
        && random.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| upload_dir().join(token))
}

/// Deletes uploads older than [`KEEP_SECONDS`] (best effort, on each new upload).
fn sweep() {
    let Ok(entries) = std::fs::read_dir(upload_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > KEEP_SECONDS);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The upload step.
#[derive(Template)]
#[template(path = "customers/import.html")]
pub struct UploadPage {
    /// The chrome.
    pub c: Chrome,
    /// Catalog key of a problem with the upload ("" none).
    pub problem: &'static str,
}

/// GET /customers/import
pub async fn upload_form(Extension(ctx): Extension<Ctx>) -> Response {
    render(&UploadPage {
        c: Chrome::new(&ctx, "customers"),
        problem: "",
    })
}

/// POST /customers/import: keeps the file and starts a dry run with the automatic mapping.
pub async fn upload(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    mut multipart: Multipart,
) -> Response {
    let refuse = |problem: &'static str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&UploadPage {
                c: Chrome::new(&ctx, "customers"),
                problem,
            }),
        )
            .into_response()
    };
    let (mut file_name, mut bytes, mut kind) = (String::new(), Vec::new(), String::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("file") => {
                    file_name = field.file_name().unwrap_or("").to_owned();
                    match field.bytes().await {
                        Ok(b) => bytes = b.to_vec(),
                        Err(_) => return refuse("import.too_large"),
                    }
                }
                Some("default_kind") => kind = field.text().await.unwrap_or_default(),
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return refuse("import.too_large"),
        }
    }
    if bytes.is_empty() {
        return refuse("import.no_file");
    }
    sweep();
    let token = match crate::session::random_token() {
        Ok(r) => format!("{}-{r}", ctx.session.user.replace('-', "")),
        Err(_) => return refuse("error.internal"),
    };
    let Some(path) = upload_path(&token, &ctx.session.user) else {
        return refuse("error.internal");
    };
    let stored = tokio::fs::create_dir_all(upload_dir())
        .await
        .and(tokio::fs::write(&path, &bytes).await);
    if stored.is_err() {
        tracing::error!("cannot keep an uploaded import file");
        return refuse("error.internal");
    }
    let meta = format!("{file_name}\n{kind}");
    if tokio::fs::write(path.with_extension("meta"), meta)
        .await
        .is_err()
    {
        return refuse("error.internal");
    }
    start(&web, &ctx, &token, Default::default(), true).await
}

/// Starts an import job of the kept file `token` and shows it.
async fn start(
    web: &Web,
    ctx: &Ctx,
    token: &str,
    mapping: std::collections::HashMap<String, String>,
    dry_run: bool,
) -> Response {
    let Some(path) = upload_path(token, &ctx.session.user) else {
        return super::error_page(ctx, &tonic::Status::not_found("upload"));
    };
    let (Ok(bytes), Ok(meta)) = (
        tokio::fs::read(&path).await,
        tokio::fs::read_to_string(path.with_extension("meta")).await,
    ) else {
        return render(&UploadPage {
            c: Chrome::new(ctx, "customers"),
            problem: "import.expired",
        });
    };
    let (file_name, kind) = meta.split_once('\n').unwrap_or((meta.as_str(), ""));
    let options = ImportOptions {
        file_name: file_name.to_owned(),
        mapping,
        dry_run,
        default_kind: Kind::from_str_name(kind).unwrap_or(Kind::Unspecified) as i32,
        ..Default::default()
    };
    let first = UploadCustomerImportRequest {
        part: Some(Part::Options(options)),
    };
    let chunks: Vec<UploadCustomerImportRequest> = bytes
        .chunks(CHUNK)
        .map(|c| UploadCustomerImportRequest {
            part: Some(Part::Chunk(c.to_vec())),
        })
        .collect();
    let stream = futures::stream::iter(std::iter::once(first).chain(chunks));
    let mut client = BulkServiceClient::new(web.upstreams().customers.clone());
    match client.upload_customer_import(call(ctx, stream)).await {
        Ok(job) => {
            let id = job
                .into_inner()
                .name
                .trim_start_matches("customerImports/")
                .to_owned();
            Redirect::to(&format!("/customers/import/{id}?file={token}")).into_response()
        }
        Err(status) => super::error_page(ctx, &status),
    }
}

/// One import job: progress while it runs, then the mapping, the failed rows and the report.
#[derive(Template)]
#[template(path = "customers/import_job.html")]
pub struct JobPage {
    /// The chrome.
    pub c: Chrome,
    /// The job's id.
    pub id: String,
    /// The kept file's token ("" when the file is gone).
    pub file: String,
    /// The job.
    pub job: CustomerImport,
    /// The failed rows (the first 200).
    pub failed: Vec<ImportRow>,
    /// The mapping shown for editing: (column, field), sorted by column.
    pub mapping: Vec<(String, String)>,
}

impl JobPage {
    /// Whether the job still runs.
    pub fn running(&self) -> bool {
        self.job.state == JobState::Running as i32
    }

    /// Catalog key of the job's state.
    pub fn state_key(&self) -> &'static str {
        match JobState::try_from(self.job.state).unwrap_or(JobState::Unspecified) {
            JobState::Running => "import.running",
            JobState::Succeeded => "import.succeeded",
            JobState::Failed => "import.failed",
            JobState::Cancelled => "import.cancelled",
            JobState::Unspecified => "import.running",
        }
    }

    /// Fields a column can map to.
    pub fn targets(&self) -> &'static [&'static str] {
        TARGETS
    }
}

/// GET /customers/import/{id}
pub async fn job(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let name = format!("customerImports/{id}");
    let mut client = BulkServiceClient::new(web.upstreams().customers.clone());
    let job = match client
        .get_customer_import(call(&ctx, GetCustomerImportRequest { name: name.clone() }))
        .await
    {
        Ok(j) => j.into_inner(),
        Err(status) => return super::error_page(&ctx, &status),
    };
    let mut failed = Vec::new();
    if job.state != JobState::Running as i32 {
        let request = ListCustomerImportRowsRequest {
            parent: name,
            outcome: Outcome::Failed as i32,
            page_size: 200,
            page_token: String::new(),
        };
        if let Ok(rows) = client.list_customer_import_rows(call(&ctx, request)).await {
            failed = rows.into_inner().rows;
        }
    }
    let mut mapping: Vec<(String, String)> = job
        .mapping
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    mapping.extend(
        job.unmapped_columns
            .iter()
            .map(|c| (c.clone(), String::new())),
    );
    mapping.sort();
    let file = param(&q, "file");
    let file = if upload_path(file, &ctx.session.user).is_some_and(|p| p.exists()) {
        file.to_owned()
    } else {
        String::new()
    };
    let page = JobPage {
        c: Chrome::new(&ctx, "customers"),
        id,
        file,
        job,
        failed,
        mapping,
    };
    render(&page)
}

/// POST /customers/import/run: runs the kept file again with the edited mapping, as a
/// dry run or for real.
pub async fn rerun(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mapping = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("map:")
                .map(|column| (column.to_owned(), v.clone()))
        })
        .collect();
    start(
        &web,
        &ctx,
        param(&form, "file"),
        mapping,
        param(&form, "dry_run") == "1",
    )
    .await
}

/// Streams a file the customers service produces (a report or an export) to the browser.
async fn download(
    ctx: &Ctx,
    stream: Result<tonic::Response<tonic::Streaming<FileChunk>>, tonic::Status>,
) -> Response {
    let mut stream = match stream {
        Ok(s) => s.into_inner(),
        Err(status) => return super::error_page(ctx, &status),
    };
    // The first chunk names the file; its bytes start the body.
    let first = match stream.message().await {
        Ok(Some(chunk)) => chunk,
        Ok(None) => FileChunk::default(),
        Err(status) => return super::error_page(ctx, &status),
    };
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        first.file_name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            "_"
        ),
        percent_encoding::utf8_percent_encode(&first.file_name, percent_encoding::NON_ALPHANUMERIC)
    );
    let content_type = HeaderValue::from_str(&first.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let head = futures::stream::once(async move { Ok::<_, tonic::Status>(bytes_of(first.data)) });
    let rest = stream.map(|chunk| chunk.map(|c| bytes_of(c.data)));
    let body = Body::from_stream(
        head.chain(rest)
            .map(|r| r.map_err(|s| std::io::Error::other(s.message().to_owned()))),
    );
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn bytes_of(data: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(data)
}

fn format_of(pairs: &[(String, String)]) -> FileFormat {
    if param(pairs, "format").eq_ignore_ascii_case("xlsx") {
        FileFormat::Xlsx
    } else {
        FileFormat::Csv
    }
}

/// GET /customers/import/{id}/report?format=csv|xlsx
pub async fn report(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let mut client = BulkServiceClient::new(web.upstreams().customers.clone());
    let request = DownloadCustomerImportReportRequest {
        name: format!("customerImports/{id}"),
        format: format_of(&q) as i32,
    };
    download(
        &ctx,
        client
            .download_customer_import_report(call(&ctx, request))
            .await,
    )
    .await
}

/// GET /customers/export?<list query>&format=csv|xlsx: the current view, as the user sees it.
pub async fn export(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let (filter, order_by) = super::customers::export_query(&q, &ctx.session.user);
    let request = ExportCustomersRequest {
        format: format_of(&q) as i32,
        filter,
        order_by,
        ..Default::default()
    };
    let mut client = BulkServiceClient::new(web.upstreams().customers.clone());
    download(&ctx, client.export_customers(call(&ctx, request)).await).await
}
