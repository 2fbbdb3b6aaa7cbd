//! The main flow, on every backend: sign in, create a customer past the duplicate warning, edit
//! it against someone else's save, log a call.
use super::{Driver, SIZES, check, create_customer, customers_named};
use crate::harness::{ADMIN_PASSWORD, Backend, Suite, backends};
use serde_json::json;

#[tokio::test]
async fn browser_sign_in_refuses_a_wrong_password_and_lands_on_my_day() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    for backend in backends() {
        let suite = Suite::start(backend).await;
        for size in SIZES {
            check(&driver, "sign_in", size, &suite.gateway(), async |b| {
                b.go("/login").await;
                b.fill("#login_name", "admin").await;
                b.fill("#password", "not-the-password").await;
                b.click("#sign-in").await;
                let error = b.find("#login-error").await;
                assert!(error.is_displayed().await.unwrap());
                assert_eq!(
                    error.text().await.unwrap(),
                    super::catalog("en", "login.failed")
                );
                assert_eq!(b.path().await, "/login", "{backend:?}");
                assert_eq!(b.value("#login_name").await, "admin", "the name is kept");
                assert!(!b.has("#card-reminders").await);

                b.fill("#password", ADMIN_PASSWORD).await;
                b.click("#sign-in").await;
                b.at("/").await;
                assert!(
                    b.find("#card-reminders")
                        .await
                        .is_displayed()
                        .await
                        .unwrap()
                );
                assert!(!b.has("#login-error").await);
            })
            .await;
        }
        suite.stop().await;
    }
}

#[tokio::test]
async fn browser_create_warns_of_a_duplicate_and_creates_anyway() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        for size in SIZES {
            let (name, phone) = match size {
                super::Size::Phone => ("Lu Mingxuan", "138 0013 8001"),
                super::Size::Desktop => ("Okafor Chidi", "138 0013 8002"),
            };
            let body = json!({"displayName": name, "kind": "PERSON", "phone": phone});
            create_customer(&http, body).await;
            check(
                &driver,
                "create_duplicate",
                size,
                &suite.gateway(),
                async |b| {
                    b.sign_in("admin", ADMIN_PASSWORD).await;
                    b.go("/customers/new").await;
                    assert!(!b.has("#duplicate-warning").await);
                    b.fill("#display_name", name).await;
                    b.fill("#phone", phone).await;
                    // Shown while typing (htmx), before any submit. Each field asks on its own,
                    // so the warning may change while the answers come in.
                    b.until("the duplicate warning naming the customer", async || {
                        b.shown_text("#duplicate-warning")
                            .await
                            .is_some_and(|t| t.contains(name))
                    })
                    .await;
                    assert_eq!(b.path().await, "/customers/new");
                    assert!(!b.has("#create-anyway").await);

                    b.click("#create").await;
                    b.at("/customers").await;
                    let anyway = b.find("#create-anyway").await;
                    assert!(b.text("#duplicate-warning").await.contains(name));
                    assert_eq!(b.value("#display_name").await, name, "typed values kept");
                    assert_eq!(b.value("#phone").await, phone);
                    assert_eq!(
                        customers_named(&http, name).await.len(),
                        1,
                        "nothing created yet"
                    );

                    anyway.click().await.unwrap();
                    b.until("the new customer's page", async || {
                        let path = b.path().await;
                        path.starts_with("/customers/") && path != "/customers/new"
                    })
                    .await;
                    assert_eq!(b.text("#customer-name").await, name);
                },
            )
            .await;
            let found = customers_named(&http, name).await;
            assert_eq!(found.len(), 2, "{backend:?} {size:?}: {found:?}");
        }
        suite.stop().await;
    }
}

#[tokio::test]
async fn browser_edit_shows_a_conflict_and_keeps_the_typed_value() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        for size in SIZES {
            let body = json!({"displayName": format!("Conflict {}", size.name()),
                "kind": "PERSON", "region": "North"});
            let id = create_customer(&http, body).await;
            let path = format!("/api/v1/customers/{id}");
            check(
                &driver,
                "edit_conflict",
                size,
                &suite.gateway(),
                async |b| {
                    b.sign_in("admin", ADMIN_PASSWORD).await;
                    // The form opens in place of the profile, on the customer's page.
                    b.go(&format!("/customers/{id}")).await;
                    b.click("#edit").await;
                    b.find("#edit-form #region").await;
                    b.at(&format!("/customers/{id}")).await;
                    assert_eq!(b.value("#region").await, "North");
                    // Someone else saves meanwhile.
                    let theirs = http
                        .call("PATCH", &path, Some(json!({"region": "East (REST)"})))
                        .await;
                    assert_eq!(theirs.status, 200, "{}", theirs.text);

                    b.fill("#region", "West (browser)").await;
                    b.click("#save").await;
                    let error = b.find("#edit-error").await;
                    assert!(error.is_displayed().await.unwrap());
                    assert_eq!(
                        error.text().await.unwrap(),
                        super::catalog("en", "customers.conflict")
                    );
                    assert!(
                        b.text(r#"[data-theirs="region"]"#)
                            .await
                            .contains("East (REST)")
                    );
                    assert_eq!(b.value("#region").await, "West (browser)");
                    let unchanged = http.call("GET", &path, None).await;
                    assert_eq!(
                        unchanged.json["region"], "East (REST)",
                        "nothing overwritten"
                    );

                    b.click("#save").await;
                    b.at(&format!("/customers/{id}")).await;
                    assert_eq!(b.text(r#"dd[data-field="region"]"#).await, "West (browser)");
                },
            )
            .await;
            let saved = http.call("GET", &path, None).await;
            assert_eq!(
                saved.json["region"], "West (browser)",
                "{backend:?} {size:?}"
            );
        }
        suite.stop().await;
    }
}

#[tokio::test]
async fn browser_logs_a_call_without_reloading_the_page() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let http = suite.http();
        for size in SIZES {
            let body = json!({"displayName": format!("Caller {}", size.name()), "kind": "PERSON"});
            let id = create_customer(&http, body).await;
            let subject = format!("Asked for a quote ({})", size.name());
            check(&driver, "log_call", size, &suite.gateway(), async |b| {
                b.sign_in("admin", ADMIN_PASSWORD).await;
                b.go(&format!("/customers/{id}")).await;
                assert!(!b.text("#timeline").await.contains(&subject));
                // A mark on this page's window: a full reload would wipe it.
                b.js("window.crmMark = 'still here'; return null;").await;
                b.fill("#log-subject", &subject).await;
                b.click("#log-call").await;
                b.until("the call in the timeline", async || {
                    b.text("#timeline").await.contains(&subject)
                })
                .await;
                assert_eq!(b.js("return window.crmMark || null;").await, "still here");
                assert_eq!(b.path().await, format!("/customers/{id}"));
                let entry = b.text("#timeline .timeline li").await;
                assert!(entry.contains(&subject), "{entry}");
                assert!(
                    entry.contains(&super::catalog("en", "interaction.CALL")),
                    "{entry}"
                );
                assert_eq!(b.value("#log-subject").await, "", "the form is fresh");
            })
            .await;
            let listed = http
                .call("GET", &format!("/api/v1/customers/{id}/interactions"), None)
                .await;
            assert_eq!(listed.status, 200, "{}", listed.text);
            let items = listed.json["interactions"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{backend:?} {size:?}: {}", listed.text);
            assert_eq!(items[0]["type"], "CALL");
            assert_eq!(items[0]["subject"], subject.as_str());
        }
        suite.stop().await;
    }
}

#[tokio::test]
async fn browser_dashboard_shows_a_value_on_tap() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    for name in ["Tap A", "Tap B"] {
        create_customer(&http, json!({"displayName": name, "kind": "PERSON"})).await;
    }
    for size in SIZES {
        check(
            &driver,
            "dashboard_tap",
            size,
            &suite.gateway(),
            async |b| {
                b.sign_in("admin", ADMIN_PASSWORD).await;
                b.go("/dashboard").await;
                let out = "svg.bars + p.tap";
                assert_eq!(b.text(out).await, "", "nothing before a tap");
                b.click("svg.bars g rect").await;
                let title = b
                    .js("return document.querySelector('svg.bars g title').textContent;")
                    .await
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                b.until("the value under the chart", async || {
                    b.text(out).await == title
                })
                .await;
                assert!(title.contains(':'), "{title}");
            },
        )
        .await;
    }
    suite.stop().await;
}
