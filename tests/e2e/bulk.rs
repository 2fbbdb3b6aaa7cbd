//! Imports and exports through the gateway: a multipart upload followed to its end, the rows
//! and the report, an Excel export downloaded and read back; who may do which.
use crate::harness::{Suite, backends, multipart};
use serde_json::json;

#[tokio::test]
async fn an_import_is_uploaded_followed_reported_and_exported_over_rest() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let csv = "姓名,类型,手机,客户编号,来源系统,备注\n\
            陈静,个人,139 0000 2222,0099,shop,2/4\n\
            刘洋,个人,bad phone,0100,shop,\n";
        let options = json!({"dryRun": false, "duplicatePolicy": "BLOCK_DUPLICATES"}).to_string();
        let (content_type, body) = multipart(&[
            ("options", None, options.as_bytes()),
            ("file", Some("客户.csv"), csv.as_bytes()),
        ]);
        let (status, _, bytes) = http
            .raw("POST", "/api/v1/customerImports", &content_type, body)
            .await;
        let started: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(status, 200, "{started}");
        assert_eq!(started["fileName"], "客户.csv");
        let name = started["name"].as_str().unwrap().to_owned();
        let mut job = started;
        for _ in 0..200 {
            if job["state"] != "RUNNING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            job = http
                .call("GET", &format!("/api/v1/{name}"), None)
                .await
                .json;
        }
        assert_eq!(job["state"], "SUCCEEDED", "{job}");
        assert_eq!(
            (job["created"].as_str(), job["failed"].as_str()),
            (Some("1"), Some("1")),
            "{job}"
        );
        let rows = http
            .call("GET", &format!("/api/v1/{name}/rows"), None)
            .await;
        assert_eq!(rows.json["rows"][0]["field"], "手机", "{}", rows.text);
        assert_eq!(rows.json["rows"][0]["outcome"], "FAILED");
        let (status, headers, report) = http
            .raw(
                "GET",
                &format!("/api/v1/{name}/report?format=CSV"),
                "text/plain",
                Vec::new(),
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("report.csv")
        );
        let report = String::from_utf8(report.to_vec()).unwrap();
        assert!(
            report.contains("刘洋,个人,bad phone,0100,shop,,FAILED"),
            "{report}"
        );

        // Without the options part first, the upload is refused and names it.
        let (content_type, body) = multipart(&[("file", Some("x.csv"), csv.as_bytes())]);
        let (status, _, _) = http
            .raw("POST", "/api/v1/customerImports", &content_type, body)
            .await;
        assert_eq!(status, 400);

        // The export: an Excel file whose text cells read back unchanged.
        let (status, headers, xlsx) = http
            .raw(
                "GET",
                "/api/v1/customers:export?format=XLSX&filter=source%20%3D%20%22shop%22",
                "text/plain",
                Vec::new(),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let rows: Vec<Vec<String>> =
            crm_tabular::xlsx_rows_from_reader(std::io::Cursor::new(xlsx.to_vec()), None)
                .unwrap()
                .map(|r| r.unwrap().cells)
                .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let col = |n: &str| rows[0].iter().position(|h| h == n).unwrap();
        assert_eq!(rows[1][col("external_id")], "0099");
        assert_eq!(rows[1][col("notes")], "2/4");
        assert_eq!(rows[1][col("phone")], "+8613900002222");
        // The export is in the security audit log, counted for the large-export alert.
        let mut audited = serde_json::Value::Null;
        for _ in 0..50 {
            let r = http
                .call(
                    "GET",
                    "/api/v1/securityEvents?filter=type%20%3D%20DATA_EXPORTED",
                    None,
                )
                .await;
            audited = r.json["securityEvents"][0].clone();
            if !audited.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(audited["details"]["rows"], "1", "{audited}");
        assert_eq!(audited["details"]["resource"], "customers");
        suite.stop().await;
    }
}
