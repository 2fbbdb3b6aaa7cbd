//! The archive of an access request: a ZIP with `request.json` (the request and every
//! service's answer), `<service>.json` (what each service holds) and one CSV file per kind of
//! record (`<service>-<kind>.csv`, the union of the records' fields as columns).
use crate::{
    bulk::report::{FileOut, temp_path},
    error::Error,
    privacy::{PrivacyRow, privacy_name},
    service::Customers,
};
use crm_platform::auth::Principal;
use std::io::Write;
use uuid::Uuid;

fn zip_error(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("writing the archive: {e}"))
}

/// The CSV text of an array of objects: the union of their keys, in first-seen order.
fn csv_of(rows: &[serde_json::Value]) -> Result<Vec<u8>, Error> {
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        if let Some(obj) = row.as_object() {
            for k in obj.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let mut out =
        crm_tabular::CsvExport::new(Vec::new(), &Default::default()).map_err(zip_error)?;
    let header: Vec<&str> = columns.iter().map(String::as_str).collect();
    out.write_header(&header).map_err(zip_error)?;
    for row in rows {
        let texts: Vec<String> = columns
            .iter()
            .map(|c| match row.get(c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            })
            .collect();
        let cells: Vec<crm_tabular::Cell<'_>> =
            texts.iter().map(|t| crm_tabular::Cell::Text(t)).collect();
        out.write_row(&cells).map_err(zip_error)?;
    }
    out.finish().map_err(zip_error)
}

fn request_json(r: &PrivacyRow) -> serde_json::Value {
    serde_json::json!({
        "name": privacy_name(r.id),
        "kind": r.kind,
        "subjects": r.subjects,
        "reason": r.reason,
        "customers": r.customers.iter().map(|c| crate::domain::name_of(*c)).collect::<Vec<_>>(),
        "state": r.state,
        "requested_by": r.requested_by,
        "create_time": r.created_at.to_rfc3339(),
        "complete_time": r.completed_at.map(|t| t.to_rfc3339()),
        "answers": r.answers.iter().map(|a| serde_json::json!({
            "service": a.service,
            "state": a.state,
            "actions": serde_json::from_str::<serde_json::Value>(&a.actions).unwrap_or_default(),
            "answer_time": a.answered_at.map(|t| t.to_rfc3339()),
        })).collect::<Vec<_>>(),
    })
}

impl Customers {
    /// Writes the archive of an access request whose services have all answered.
    pub async fn privacy_archive(&self, principal: &Principal, id: Uuid) -> Result<FileOut, Error> {
        let request = self.get_privacy_request(principal, id).await?;
        if request.kind != "ACCESS" {
            return Err(Error::FailedPrecondition(format!(
                "{} is an erasure: its receipt is the request itself",
                privacy_name(id)
            )));
        }
        if request.state != "COMPLETED" {
            return Err(Error::FailedPrecondition(format!(
                "{} is waiting for services' answers",
                privacy_name(id)
            )));
        }
        let path = temp_path("privacy-archive", "zip");
        let file = std::fs::File::create(&path).map_err(zip_error)?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut put = |name: &str, bytes: &[u8]| -> Result<(), Error> {
            zip.start_file(name, options).map_err(zip_error)?;
            zip.write_all(bytes).map_err(zip_error)
        };
        let mut files = 1u64;
        put(
            "request.json",
            serde_json::to_string_pretty(&request_json(&request))
                .unwrap_or_default()
                .as_bytes(),
        )?;
        for answer in &request.answers {
            let data: serde_json::Value = serde_json::from_str(&answer.data).unwrap_or_default();
            put(
                &format!("{}.json", answer.service),
                serde_json::to_string_pretty(&data)
                    .unwrap_or_default()
                    .as_bytes(),
            )?;
            files += 1;
            if let Some(obj) = data.as_object() {
                for (kind, rows) in obj {
                    if let Some(rows) = rows.as_array() {
                        put(&format!("{}-{kind}.csv", answer.service), &csv_of(rows)?)?;
                        files += 1;
                    }
                }
            }
        }
        zip.finish()
            .map_err(zip_error)?
            .flush()
            .map_err(zip_error)?;
        tracing::info!(request = %id, files, "privacy archive written");
        Ok(FileOut {
            path,
            file_name: format!("{}.zip", privacy_name(id).replace('/', "-")),
            content_type: "application/zip",
            rows: files,
        })
    }
}
