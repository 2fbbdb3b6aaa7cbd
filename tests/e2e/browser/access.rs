//! Who sees and may do what, in the browser: an administrator assigning a role, a sales rep
//! kept away from another rep's customer, and the language saved to the user's preferences.
use super::{Driver, SIZES, catalog, check, create_customer, root_unit};
use crate::harness::{ADMIN_PASSWORD, Backend, Http, Suite};
use crate::identity::{PASSWORD, create_user};
use crm_identity::roles;
use crm_proto::crm::identity::v1::directory_service_client::DirectoryServiceClient;
use serde_json::json;

#[tokio::test]
async fn browser_admin_assigns_a_role() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let unit = root_unit(&http).await;
    let rep = format!("roles/{}", roles::SALES_REP);
    for size in SIZES {
        let login = format!("new.{}", size.name());
        let body = json!({"user": {"loginName": login, "displayName": login, "unit": unit},
            "password": "new-user-password-2026"});
        let created = http.call("POST", "/api/v1/users", Some(body)).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let id = created.json["id"].as_str().unwrap().to_owned();
        assert_eq!(created.json["roles"].as_array().map_or(0, Vec::len), 0);
        check(&driver, "assign_role", size, &suite.gateway(), async |b| {
            b.sign_in("admin", ADMIN_PASSWORD).await;
            b.go("/admin/users").await;
            assert!(!b.has("#notice").await);
            let row = format!("#user-{id}");
            assert!(b.text(&row).await.contains(&login));
            let box_ = format!(r#"{row} input[type="checkbox"][value="{rep}"]"#);
            assert!(!b.find(&box_).await.is_selected().await.unwrap());
            b.click(&box_).await;
            assert!(b.find(&box_).await.is_selected().await.unwrap());
            b.click(&format!(r#"{row} form.roles button[type="submit"]"#))
                .await;
            let notice = b.find("#notice").await;
            assert!(notice.is_displayed().await.unwrap());
            assert_eq!(
                notice.text().await.unwrap(),
                catalog("en", "admin.roles_saved")
            );
            assert!(
                b.find(&box_).await.is_selected().await.unwrap(),
                "shown as saved"
            );
        })
        .await;
        let read = http.call("GET", &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(read.json["roles"], json!([rep]), "{size:?}: {}", read.text);
    }
    suite.stop().await;
}

#[tokio::test]
async fn browser_sales_rep_does_not_see_another_reps_customer() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let unit = root_unit(&suite.http()).await;
    let mut dir = DirectoryServiceClient::new(suite.channel(&suite.admin_token).await);
    create_user(&mut dir, "rep.a", &unit, &[roles::SALES_REP]).await;
    create_user(&mut dir, "rep.b", &unit, &[roles::SALES_REP]).await;
    let rep_a = Http::new(suite.gateway(), &suite.login("rep.a", PASSWORD).await);
    let rep_b = Http::new(suite.gateway(), &suite.login("rep.b", PASSWORD).await);
    let not_found = catalog("en", "error.not_found");
    for size in SIZES {
        let theirs = format!("Hidden Orchid {}", size.name());
        let mine = format!("Hidden Lotus {}", size.name());
        let their_id =
            create_customer(&rep_a, json!({"displayName": theirs, "kind": "PERSON"})).await;
        let my_id = create_customer(&rep_b, json!({"displayName": mine, "kind": "PERSON"})).await;
        check(&driver, "rep_scope", size, &suite.gateway(), async |b| {
            b.sign_in("rep.b", PASSWORD).await;
            b.go("/customers").await;
            let listed = b.text("#customers tbody").await;
            assert!(listed.contains(&mine), "their own is listed: {listed}");
            assert!(!listed.contains(&theirs), "{listed}");
            assert!(!b.has(&format!(r#"a[href="/customers/{their_id}"]"#)).await);

            b.fill("#search", "Hidden").await;
            b.click("#apply").await;
            b.until("the search results", async || {
                b.client
                    .current_url()
                    .await
                    .unwrap()
                    .query()
                    .is_some_and(|q| q.contains("q=Hidden"))
            })
            .await;
            let found = b.text("#customers tbody").await;
            assert!(found.contains(&mine), "search finds their own: {found}");
            assert!(!found.contains(&theirs), "{found}");

            b.go(&format!("/customers/{their_id}")).await;
            let alert = b.text("main .alert").await;
            assert_eq!(alert, not_found);
            let source = b.client.source().await.unwrap();
            assert!(!source.contains(&theirs), "the name does not leak");
            assert!(!b.has("#customer-name").await);

            b.go(&format!("/customers/{my_id}")).await;
            assert_eq!(b.text("#customer-name").await, mine);
        })
        .await;
    }
    suite.stop().await;
}

#[tokio::test]
async fn browser_language_switch_is_saved_to_the_preferences() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let prefs = "/api/v1/users/me/preferences";
    for size in SIZES {
        check(&driver, "language", size, &suite.gateway(), async |b| {
            let lang = async || b.js("return document.documentElement.lang;").await;
            let customers_link = r#".menu a[href="/customers"]"#;
            b.sign_in("admin", ADMIN_PASSWORD).await;
            assert_eq!(lang().await, "en");
            assert_eq!(b.text(customers_link).await, "Customers");

            b.click("#lang-switch").await;
            b.until("the page in Chinese", async || lang().await == "zh-CN")
                .await;
            assert_eq!(b.path().await, "/", "back on the same page");
            assert_eq!(b.text(customers_link).await, "客户");
            assert_eq!(
                b.text(customers_link).await,
                catalog("zh-CN", "nav.customers")
            );
            let saved = http.call("GET", prefs, None).await;
            assert_eq!(saved.json["locale"], "zh-CN", "{}", saved.text);

            b.click("#logout").await;
            b.at("/login").await;
            // Forget the browser's own language cookie: what follows comes from the account.
            b.client.delete_cookie("crm_lang").await.unwrap();
            b.go("/login").await;
            assert_eq!(lang().await, "en");
            b.fill("#login_name", "admin").await;
            b.fill("#password", ADMIN_PASSWORD).await;
            b.click("#sign-in").await;
            b.at("/").await;
            assert_eq!(lang().await, "zh-CN");
            assert_eq!(b.text(customers_link).await, "客户");
            assert_eq!(b.text("h1").await, catalog("zh-CN", "myday.title"));

            b.click("#lang-switch").await;
            b.until("the page in English", async || lang().await == "en")
                .await;
            assert_eq!(b.text(customers_link).await, "Customers");
        })
        .await;
        let saved = http.call("GET", prefs, None).await;
        assert_eq!(saved.json["locale"], "en", "{size:?}: {}", saved.text);
    }
    suite.stop().await;
}
