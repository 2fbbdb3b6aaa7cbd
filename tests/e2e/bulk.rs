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

/// Runs the `crm` binary's `import customers FILE` against the suite: (exit code, stdout,
/// stderr).
async fn crm_import(
    suite: &Suite,
    file: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm"))
        .args(["import", "customers"])
        .arg(file)
        .arg("--server")
        .arg(suite.gateway())
        .arg("--token")
        .arg(&suite.admin_token)
        .args(extra)
        .env_remove("CRM_USER")
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The display names of every customer, sorted.
async fn names(suite: &Suite) -> Vec<String> {
    let r = suite
        .http()
        .call("GET", "/api/v1/customers?pageSize=100", None)
        .await;
    let mut names: Vec<String> = r.json["customers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["displayName"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `crm import customers`: a run with a failed row exits with status 2 (a dry run too) unless
/// `--allow-failures`, and the report's address is printed either way and serves the report.
#[tokio::test]
async fn the_import_command_exits_non_zero_when_a_row_failed() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let mixed = dir.path().join("mixed.csv");
        std::fs::write(
            &mixed,
            "name,kind,phone\n赵六,PERSON,138 0000 1111\n钱七,PERSON,not a phone\n",
        )
        .unwrap();
        let clean = dir.path().join("clean.csv");
        std::fs::write(&clean, "name,kind\n孙八,PERSON\n").unwrap();

        let (code, out, err) = crm_import(&suite, &mixed, &[]).await;
        assert_eq!(code, Some(2), "{out}\n{err}");
        assert_eq!(names(&suite).await, ["赵六"], "the good row is written");
        let report = out
            .lines()
            .find_map(|l| l.strip_prefix("report: "))
            .unwrap_or_else(|| panic!("no report line: {out}"));
        let path = report
            .strip_prefix(&suite.gateway())
            .unwrap_or_else(|| panic!("{report} is not on {}", suite.gateway()));
        let (status, _, file) = suite
            .http()
            .raw("GET", path, "text/plain", Vec::new())
            .await;
        assert_eq!(status, 200, "{report}");
        let rows: Vec<Vec<String>> =
            crm_tabular::xlsx_rows_from_reader(std::io::Cursor::new(file.to_vec()), None)
                .unwrap()
                .map(|r| r.unwrap().cells)
                .collect();
        assert!(
            rows.iter()
                .any(|r| r.iter().any(|c| c == "not a phone") && r.iter().any(|c| c == "FAILED")),
            "the failed row is in the report: {rows:?}"
        );

        // A dry run checks a file: a row that would fail fails it too.
        let (code, out, err) = crm_import(&suite, &mixed, &["--dry-run"]).await;
        assert_eq!(code, Some(2), "{out}\n{err}");

        // Failures allowed: status 0, and the report is still printed.
        let (code, out, err) = crm_import(&suite, &mixed, &["--dry-run", "--allow-failures"]).await;
        assert_eq!(code, Some(0), "{out}\n{err}");
        assert!(out.contains("report: "), "{out}");

        // Every row imported: status 0.
        let (code, out, err) = crm_import(&suite, &clean, &[]).await;
        assert_eq!(code, Some(0), "{out}\n{err}");
        assert!(out.contains("report: "), "{out}");
        assert_eq!(names(&suite).await, ["孙八", "赵六"]);
        suite.stop().await;
    }
}

/// `crm import customers` with a spreadsheet as people keep one: no kind or source column,
/// Chinese name parts, two phones, address parts. Everything arrives, as REST shows it.
#[tokio::test]
async fn a_plain_spreadsheet_imports_through_the_command() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("客户名单.csv");
        std::fs::write(
            &file,
            "公司,姓,名,手机,备用电话,邮箱,地址,城市,省份,邮编,国家,客户编号\n\
             ,张,伟,138 1234 5678,010 8888 1234,zhang.wei@example.com,建国路88号,北京,北京,100022,中国,K-1\n\
             华信科技有限公司,,,021 5555 0000,,,南京西路1266号,上海,上海,200040,,K-2\n\
             ,李,娜,not a phone,,,,,,,,K-3\n",
        )
        .unwrap();
        let (code, out, err) = crm_import(&suite, &file, &["--source", "sap"]).await;
        assert_eq!(code, Some(2), "one row fails: {out}\n{err}");
        assert!(
            out.contains("row 4: 手机 must be a phone number"),
            "the failed row is listed: {out}"
        );
        let org = suite
            .http()
            .call(
                "GET",
                "/api/v1/customers?filter=external_id%20%3D%20%22K-2%22",
                None,
            )
            .await;
        assert_eq!(
            org.json["customers"][0]["displayName"], "华信科技有限公司",
            "{}",
            org.json
        );
        assert_eq!(
            org.json["customers"][0]["kind"], "ORGANIZATION",
            "a legal form in the name"
        );

        let r = suite
            .http()
            .call(
                "GET",
                "/api/v1/customers?filter=family_name%20%3D%20%22%E5%BC%A0%22",
                None,
            )
            .await;
        let found = r.json["customers"].as_array().cloned().unwrap_or_default();
        assert_eq!(found.len(), 1, "{}", r.json);
        let c = &found[0];
        assert_eq!(c["displayName"], "张伟");
        assert_eq!(
            (c["givenName"].as_str(), c["familyName"].as_str()),
            (Some("伟"), Some("张"))
        );
        assert_eq!(c["kind"], "PERSON");
        assert_eq!(
            (c["externalId"].as_str(), c["source"].as_str()),
            (Some("K-1"), Some("sap"))
        );
        assert_eq!(c["phone"], "+8613812345678");
        let id = c["id"].as_str().unwrap();
        let points = suite
            .http()
            .call(
                "GET",
                &format!("/api/v1/customers/{id}/contactPoints"),
                None,
            )
            .await;
        let points = points.json["contactPoints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            points
                .iter()
                .any(|p| p["kind"] == "PHONE" && p["phone"] == "+861088881234"),
            "{points:?}"
        );
        let address = points
            .iter()
            .find(|p| p["kind"] == "ADDRESS")
            .unwrap_or_else(|| panic!("no address: {points:?}"));
        assert_eq!(address["primary"], true);
        let a = &address["address"];
        assert_eq!(
            (
                a["country"].as_str(),
                a["region"].as_str(),
                a["city"].as_str(),
                a["postalCode"].as_str()
            ),
            (Some("CN"), Some("北京"), Some("北京"), Some("100022"))
        );
        assert_eq!(a["lines"][0], "建国路88号");
        suite.stop().await;
    }
}
