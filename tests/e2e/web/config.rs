//! The custom fields and webhooks pages.
use super::*;
use crate::harness::{ADMIN_PASSWORD, Backend, Suite};
use serde_json::json;

#[tokio::test]
async fn custom_fields_and_webhooks_are_managed_from_their_pages() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;
    let page = b.get("/admin/custom-fields").await;
    assert_eq!(page.status, 200, "{}", page.body);

    let fields = [
        ("key", "tier2"),
        ("label", "Tier 二"),
        ("type", "SINGLE_CHOICE"),
        ("choices", "gold\nsilver\n\ngold"),
        ("required", "1"),
    ];
    let page = b.post("/admin/custom-fields", &fields).await;
    assert!(page.has("Custom field created."), "{}", page.body);
    let field = find(
        &http,
        "customFieldDefinitions",
        "definitions",
        "key",
        "tier2",
    )
    .await;
    assert_eq!(field["type"], "SINGLE_CHOICE");
    assert_eq!(field["label"], "Tier 二");
    assert_eq!(field["required"], true);
    assert_eq!(field["choices"], json!(["gold", "silver"]));

    let page = b
        .post(
            "/admin/custom-fields/tier2",
            &[
                ("label", "Tier"),
                ("has_choices", "1"),
                ("choices", "gold\nsilver\nbronze"),
                ("etag", s(&field["etag"]).as_str()),
            ],
        )
        .await;
    assert!(page.has("Custom field saved."), "{}", page.body);
    let field = find(
        &http,
        "customFieldDefinitions",
        "definitions",
        "key",
        "tier2",
    )
    .await;
    assert_eq!(field["label"], "Tier");
    assert_ne!(field["required"], true, "{field}");
    assert_eq!(field["choices"], json!(["gold", "silver", "bronze"]));
    let page = b
        .post(
            "/admin/custom-fields",
            &[("key", "Bad Key"), ("label", "x"), ("type", "TEXT")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.has("value=\"Bad Key\""));
    let page = b.post("/admin/custom-fields/tier2/delete", &[]).await;
    assert!(page.has("Custom field deleted."), "{}", page.body);
    let left = rest_list(&http, "customFieldDefinitions", "definitions").await;
    assert!(!left.iter().any(|f| f["key"] == "tier2"));

    // Webhooks: the signing secret is shown once; disable, deliveries, delete.
    let page = b.get("/admin/webhooks").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = [
        ("url", "https://erp.example.com/hook"),
        (
            "event_types",
            "crm.customers.v1.customer.\ncrm.customers.v1.customer.created",
        ),
        ("description", "ERP"),
    ];
    let page = b.post("/admin/webhooks", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = attr(&page.body, "id=\"secret\"", "value").expect("signing secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let hook = find(
        &http,
        "webhookSubscriptions",
        "subscriptions",
        "url",
        "https://erp.example.com/hook",
    )
    .await;
    assert_eq!(
        hook["eventTypes"],
        json!([
            "crm.customers.v1.customer.",
            "crm.customers.v1.customer.created"
        ])
    );
    let hook_id = id(&hook);
    let page = b.get("/admin/webhooks").await;
    assert!(page.has(&format!("id=\"webhook-{hook_id}\"")) && !page.has(&secret));
    let page = b
        .post(
            &format!("/admin/webhooks/{hook_id}/state"),
            &[("state", "DISABLED")],
        )
        .await;
    assert!(page.has("Webhook disabled."), "{}", page.body);
    let hook = find(
        &http,
        "webhookSubscriptions",
        "subscriptions",
        "url",
        "https://erp.example.com/hook",
    )
    .await;
    assert_eq!(hook["state"], "DISABLED");
    let page = b.get(&format!("/admin/webhooks/{hook_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("id=\"no-deliveries\"") || page.has("id=\"deliveries\""));
    let page = b
        .post(
            "/admin/webhooks",
            &[("url", "http://127.0.0.1:9/hook"), ("event_types", "")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.has("class=\"field-error\""), "{}", page.body);
    let page = b
        .post_without_csrf(&format!("/admin/webhooks/{hook_id}/delete"), &[])
        .await;
    assert_eq!(page.status, 403);
    let page = b
        .post(&format!("/admin/webhooks/{hook_id}/delete"), &[])
        .await;
    assert!(page.has("Webhook deleted."), "{}", page.body);
    let left = rest_list(&http, "webhookSubscriptions", "subscriptions").await;
    assert!(
        !left
            .iter()
            .any(|h| h["url"] == "https://erp.example.com/hook")
    );
    suite.stop().await;
}
