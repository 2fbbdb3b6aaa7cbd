//! The import wizard and the export in the browser: a file chosen in the file input, the dry
//! run's mapping and per-row errors, the real run, and the export of the current view fetched
//! with the browser's own session.
use super::{Driver, SIZES, check, customers_named};
use crate::harness::{ADMIN_PASSWORD, Backend, Suite};

#[tokio::test]
async fn browser_import_wizard_dry_runs_then_imports_and_the_view_exports() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let dir = tempfile::tempdir().unwrap();
    for size in SIZES {
        // Names differ per size so each run counts only its own rows.
        let tag = size.name();
        let file = dir.path().join(format!("people-{tag}.csv"));
        let csv = format!(
            "姓名,手机,邮箱,地区\n导入甲{tag},13900000011,a@example.com,华东\n导入乙{tag},13900000012,not-an-email,华东\n"
        );
        std::fs::write(&file, csv).unwrap();
        let path = file.display().to_string();
        check(&driver, "import_export", size, &suite.gateway(), async |b| {
            b.sign_in("admin", ADMIN_PASSWORD).await;
            b.go("/customers").await;
            b.click("#import").await;
            b.at("/customers/import").await;
            b.find("#file").await.send_keys(&path).await.unwrap();
            b.click("#upload").await;
            // The dry run: finishes by itself (the page polls), shows the failed row in place.
            b.until("the dry run to finish", async || {
                b.shown_text("#job-state").await.is_some_and(|t| t == "finished")
            })
            .await;
            assert_eq!(b.text("#rows-failed").await, "1");
            assert!(b.text("#row-errors").await.contains("not-an-email"));
            assert!(customers_named(&http, &format!("导入甲{tag}")).await.is_empty());
            // Ignore the email column, then import for real.
            let select = b.find("select[name='map:邮箱']").await;
            select.select_by_value("").await.unwrap();
            b.click("#run-import").await;
            b.until("the import to finish", async || {
                b.shown_text("#job-state").await.is_some_and(|t| t == "finished")
                    && b.shown_text("#rows-created").await.is_some_and(|t| t == "2")
            })
            .await;
            for who in ["甲", "乙"] {
                assert_eq!(customers_named(&http, &format!("导入{who}{tag}")).await.len(), 1);
            }
            // Export the list as the user sees it, with the browser's own cookie.
            b.go("/customers?region=%E5%8D%8E%E4%B8%9C").await;
            let href = b.find("#export-csv").await.attr("href").await.unwrap().unwrap();
            let script = format!(
                "return fetch({}).then(async r => [r.status, r.headers.get('content-disposition'), await r.text()]);",
                serde_json::json!(href)
            );
            let got = b.js_async(&script).await;
            assert_eq!(got[0], 200, "{got}");
            assert!(got[1].as_str().unwrap().starts_with("attachment"), "{got}");
            assert!(got[2].as_str().unwrap().contains(&format!("导入甲{tag}")), "{got}");
        })
        .await;
    }
    suite.stop().await;
}
