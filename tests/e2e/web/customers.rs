//! The customer pages of the web UI, driven like a browser without JavaScript (htmx requests
//! are sent with the headers htmx sends): each effect is checked through the REST API.
use super::{Browser, Page, attr, unescape};
use crate::harness::{Http, Suite, backends};
use serde_json::{Value, json};

/// The id in a redirect to `/customers/{id}`.
fn redirected_id(page: &Page) -> String {
    assert_eq!(page.status, 303, "{}", page.body);
    let to = page.headers["location"].to_str().unwrap();
    to.trim_start_matches("/customers/")
        .split(['?', '#'])
        .next()
        .unwrap()
        .to_owned()
}

/// The fields of the form `id` as a browser would send them: inputs and textareas (the CSRF
/// token is added by the sender).
fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("id=\"{id}\"")).expect("form");
    let form = &html[start..start + html[start..].find("</form>").expect("end of form")];
    let mut out = Vec::new();
    for piece in form.split('<').skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        let value_of = |key: &str| {
            let key = format!(" {key}=\"");
            tag.find(&key).map(|i| {
                let rest = &tag[i + key.len()..];
                unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
            })
        };
        if let Some(name) = value_of("name").filter(|n| n != "_csrf") {
            if tag.starts_with("input") {
                out.push((name, value_of("value").unwrap_or_default()));
            } else if tag.starts_with("textarea") {
                let text = &piece[piece.find('>').map(|i| i + 1).unwrap_or(0)..];
                out.push((name, unescape(text)));
            }
        }
    }
    out
}

async fn customers_named(http: &Http, name: &str) -> Vec<Value> {
    let filter = format!("display_name = \"{name}\"");
    let query = super::encode(&[("filter", &filter), ("pageSize", "100")]);
    let r = http
        .call("GET", &format!("/api/v1/customers?{query}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["customers"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn customer_pages_do_what_they_say() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        let mut b = Browser::sign_in(&suite, "admin", crate::harness::ADMIN_PASSWORD).await;
        let page = b.get("/customers").await;
        for header in [
            "content-security-policy",
            "x-frame-options",
            "x-content-type-options",
        ] {
            assert!(page.headers.contains_key(header), "{header} missing");
        }
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );

        // Create through the form; the text comes back as typed.
        let form = [
            ("kind", "ORGANIZATION"),
            ("display_name", "上海云杉科技有限公司"),
            ("phone", "021 1234 5678"),
            ("email", "Info@YunShan.example"),
            ("region", "华东"),
            ("notes", "第一行\n第二行 \"quoted\" <b>not bold</b>"),
        ];
        let created = b.send_form("POST", "/customers", &form).await;
        let id = redirected_id(&created);
        let rest = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert_eq!(rest.json["displayName"], "上海云杉科技有限公司");
        assert_eq!(
            rest.json["notes"],
            "第一行\n第二行 \"quoted\" <b>not bold</b>"
        );
        let detail = b.get(&format!("/customers/{id}")).await;
        assert!(
            detail.has("not bold") && !detail.has("<b>not bold</b>"),
            "notes are escaped on the page"
        );

        // The live duplicate check warns while typing; the create is then held back until
        // the user says "create anyway".
        let warn = b
            .htmx(
                "/customers/duplicates",
                &[
                    ("kind", "ORGANIZATION"),
                    ("display_name", "上海云杉科技"),
                    ("phone", "02112345678"),
                ],
            )
            .await;
        assert!(
            warn.has("duplicate-warning") && warn.has(&id),
            "{}",
            warn.body
        );
        let held = b.send_form("POST", "/customers", &form).await;
        assert_eq!(held.status, 409, "{}", held.body);
        assert!(held.has("create-anyway"));
        assert_eq!(
            customers_named(&http, "上海云杉科技有限公司").await.len(),
            1
        );
        let mut anyway = form.to_vec();
        anyway.push(("anyway", "1"));
        redirected_id(&b.send_form("POST", "/customers", &anyway).await);
        assert_eq!(
            customers_named(&http, "上海云杉科技有限公司").await.len(),
            2
        );

        // The duplicates section (loaded when scrolled into view) offers the merge, and the
        // merge can be undone.
        let section = b.get(&format!("/customers/{id}/actions")).await;
        let other = attr(&section.body, "data-merge=", "data-merge").expect("a merge button");
        let merged = b
            .send_form(
                "POST",
                &format!("/customers/{id}/merge"),
                &[("other", &other)],
            )
            .await;
        assert_eq!(merged.status, 303, "{}", merged.body);
        assert_eq!(
            customers_named(&http, "上海云杉科技有限公司").await.len(),
            1
        );
        let to = merged.headers["location"]
            .to_str()
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_owned();
        let after = b.get(&to).await;
        let undo = attr(&after.body, "id=\"undo-merge\"", "id").map(|_| {
            let action = after.body.split("/merges/").nth(1).unwrap();
            action[..action.find('/').unwrap()].to_owned()
        });
        let undo = undo.expect("the undo button");
        let undone = b
            .send_form("POST", &format!("/customers/{id}/merges/{undo}/undo"), &[])
            .await;
        assert_eq!(undone.status, 303, "{}", undone.body);
        assert_eq!(
            customers_named(&http, "上海云杉科技有限公司").await.len(),
            2
        );

        // Edit with a conflict: someone saves meanwhile; nothing of theirs is overwritten.
        let edit = b.get(&format!("/customers/{id}/edit")).await;
        let etag = attr(&edit.body, "name=\"etag\"", "value").unwrap();
        let r = http
            .call(
                "PATCH",
                &format!("/api/v1/customers/{id}"),
                Some(json!({"region": "华南", "industry": "物流"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut fields: Vec<(String, String)> = form_fields(&edit.body, "edit-form");
        fields.retain(|(k, _)| k != "region");
        fields.push(("region".into(), "西南".into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let conflict = b
            .send_form("POST", &format!("/customers/{id}/edit"), &pairs)
            .await;
        assert_eq!(conflict.status, 409, "{}", conflict.body);
        assert!(conflict.has("data-theirs=\"region\"") && conflict.has("华南"));
        assert!(conflict.has("value=\"西南\""), "the user's input is kept");
        let newer = attr(&conflict.body, "name=\"etag\"", "value").unwrap();
        assert_ne!(newer, etag);
        let again = form_fields(&conflict.body, "edit-form");
        let pairs: Vec<(&str, &str)> = again
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            b.send_form("POST", &format!("/customers/{id}/edit"), &pairs)
                .await
                .status,
            303
        );
        let rest = http
            .call("GET", &format!("/api/v1/customers/{id}"), None)
            .await;
        assert_eq!(
            (rest.json["region"].as_str(), rest.json["industry"].as_str()),
            (Some("西南"), Some("物流"))
        );

        // Log a call in one request (htmx swaps the timeline in place).
        let logged = b
            .htmx(
                &format!("/customers/{id}/interactions"),
                &[("type", "CALL"), ("subject", "季度回访")],
            )
            .await;
        assert_eq!(logged.status, 200);
        assert!(logged.has("季度回访") && logged.has("timeline-body"));
        let r = http
            .call("GET", &format!("/api/v1/customers/{id}/interactions"), None)
            .await;
        assert_eq!(r.json["interactions"][0]["type"], "CALL");
        assert_eq!(r.json["interactions"][0]["subject"], "季度回访");

        // Sensitive values: masked on the page and not recorded; revealing is recorded.
        let r = http
            .call("POST", "/api/v1/customers", Some(json!({"displayName": "张三", "kind": "PERSON", "nationalId": "11010519491231002X"})))
            .await;
        let person = r.json["id"].as_str().unwrap().to_owned();
        let reads = |h: Value| {
            h["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "SENSITIVE_READ")
                .count()
        };
        let shown = b.get(&format!("/customers/{person}")).await;
        assert!(shown.has("************002X") && !shown.has("11010519491231002X"));
        let history = http
            .call("GET", &format!("/api/v1/customers/{person}/history"), None)
            .await;
        assert_eq!(
            reads(history.json),
            0,
            "viewing the page is not a read of the values"
        );
        let revealed = b.htmx(&format!("/customers/{person}/reveal"), &[]).await;
        assert!(revealed.has("11010519491231002X"), "{}", revealed.body);
        let history = http
            .call("GET", &format!("/api/v1/customers/{person}/history"), None)
            .await;
        assert_eq!(reads(history.json), 1);

        // Export of the current view: only what the view's filter selects.
        let export = b
            .get("/customers/export?region=%E8%A5%BF%E5%8D%97&format=csv")
            .await;
        assert_eq!(export.status, 200);
        assert!(
            export.headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert!(
            export.has("上海云杉科技有限公司") && !export.has("张三"),
            "{}",
            export.body
        );

        // Export of the ticked rows: an Excel file of just those customers.
        let ticked = [
            ("action", "export"),
            ("id", person.as_str()),
            ("id", id.as_str()),
        ];
        let picked = b.send_form("POST", "/customers/bulk", &ticked).await;
        assert_eq!(picked.status, 303, "{}", picked.body);
        let to = picked.headers["location"].to_str().unwrap().to_owned();
        let xlsx = b.get(&to).await;
        assert_eq!(xlsx.status, 200, "{to}: {}", xlsx.body);
        let disposition = xlsx.headers["content-disposition"].to_str().unwrap();
        assert!(disposition.contains(".xlsx\";"), "{disposition}");
        // The same selection as CSV, to read: the two ticked customers and no other.
        let csv = b.get(&to.replace("format=xlsx", "format=csv")).await;
        assert!(csv.has(&format!("customers/{person}")), "{}", csv.body);
        assert!(csv.has(&format!("customers/{id}")), "{}", csv.body);
        assert_eq!(csv.body.matches("customers/").count(), 2, "{}", csv.body);
        let many: Vec<(&str, &str)> = std::iter::once(("action", "export"))
            .chain(std::iter::repeat_n(("id", person.as_str()), 41))
            .collect();
        let refused = b.send_form("POST", "/customers/bulk", &many).await;
        assert_eq!(refused.status, 200);
        assert!(
            refused.has("at most 40") || refused.has("最多导出 40"),
            "{}",
            refused.body
        );

        // The dashboard counts what the user may see.
        let stats = http.call("GET", "/api/v1/customers:summarize", None).await;
        let dashboard = b.get("/dashboard").await;
        let total = stats.json["totalCount"].as_str().unwrap_or("0").to_owned();
        assert!(
            dashboard.has(&format!("<strong>{total}</strong>")),
            "{total}: {}",
            dashboard.body
        );

        // Writes from another site, or without the token, are refused and change nothing.
        assert_eq!(b.post_without_csrf("/customers", &form).await.status, 403);
        let foreign = b.send_foreign("/customers", &form).await;
        assert_eq!(foreign.status, 403);
        assert_eq!(
            customers_named(&http, "上海云杉科技有限公司").await.len(),
            2
        );
        suite.stop().await;
    }
}

#[tokio::test]
async fn the_import_wizard_maps_tries_and_imports() {
    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let http = suite.http();
    let mut b = Browser::sign_in(&suite, "admin", crate::harness::ADMIN_PASSWORD).await;
    b.get("/customers/import").await;
    let csv = "姓名,手机,邮箱,地区\n李雷,13800000001,lilei@example.com,华东\n韩梅梅,13800000002,not-an-email,华北\n王刚,13800000003,,华南\n";
    let uploaded = b
        .upload("/customers/import", "people.csv", csv.as_bytes())
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    let job = uploaded.headers["location"].to_str().unwrap().to_owned();
    let page = b.wait_for(&job, "id=\"job-state\">finished<").await;
    assert!(page.has("id=\"rows-failed\">1<"), "{}", page.body);
    assert!(
        page.has("not-an-email"),
        "the failed row is shown with its cells"
    );
    assert!(page.has("name=\"map:姓名\""));
    assert!(
        customers_named(&http, "李雷").await.is_empty(),
        "a dry run writes nothing"
    );
    // Ignore the email column and import for real.
    let file = attr(&page.body, "name=\"file\"", "value").unwrap();
    let run = b
        .send_form(
            "POST",
            "/customers/import/run",
            &[
                ("file", &file),
                ("map:姓名", "display_name"),
                ("map:手机", "phone"),
                ("map:邮箱", ""),
                ("map:地区", "region"),
                ("dry_run", "0"),
            ],
        )
        .await;
    assert_eq!(run.status, 303, "{}", run.body);
    let next = run.headers["location"].to_str().unwrap().to_owned();
    let done = b.wait_for(&next, "id=\"job-state\">finished<").await;
    assert!(done.has("id=\"rows-created\">3<"), "{}", done.body);
    for name in ["李雷", "韩梅梅", "王刚"] {
        let found = customers_named(&http, name).await;
        assert_eq!(found.len(), 1, "{name}");
        assert!(
            found[0].get("email").is_none(),
            "the ignored column was not imported"
        );
    }
    suite.stop().await;
}
