//! The org tree, users and roles pages.
use super::*;
use crate::harness::{ADMIN_PASSWORD, Backend, Suite};
use serde_json::json;

#[tokio::test]
async fn org_tree_creates_renames_and_moves_units() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let root = root_unit(&http).await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;

    let page = b.get("/admin/units").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("id=\"unit-tree\""));
    for link in [
        "/admin/users",
        "/admin/units",
        "/admin/roles",
        "/admin/api-clients",
        "/admin/security",
        "/admin/custom-fields",
        "/admin/webhooks",
    ] {
        assert!(
            page.has(&format!("href=\"{link}\"")),
            "sub-menu lacks {link}"
        );
    }

    for (code, name, kind, parent) in [
        ("east", "East", "REGION", root.clone()),
        ("west", "West", "REGION", root.clone()),
    ] {
        let rid = format!("unit-{code}");
        let fields = [
            ("parent", parent.as_str()),
            ("code", code),
            ("display_name", name),
            ("kind", kind),
            ("request_id", rid.as_str()),
        ];
        let page = b.post("/admin/units", &fields).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.has("Unit created."), "{}", page.body);
    }
    let east = find(&http, "units", "units", "code", "east").await;
    let west = find(&http, "units", "units", "code", "west").await;
    assert_eq!(east["parent"], root.as_str());
    let east_name = s(&east["name"]);
    let fields = [
        ("parent", east_name.as_str()),
        ("code", "sales-east"),
        ("display_name", "销售一部 <East>"),
        ("kind", "DEPARTMENT"),
    ];
    let page = b.post("/admin/units", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let dept = find(&http, "units", "units", "code", "sales-east").await;
    assert_eq!(dept["parent"], east_name.as_str());
    assert_eq!(dept["displayName"], "销售一部 <East>");
    // The tree nests it below East, and its name is escaped, not markup.
    assert!(!page.has("销售一部 <East>"));
    assert!(unescape(&page.body).contains("销售一部 <East>"));
    let dept_id = id(&dept);
    let east_li = section(&page.body, &format!("id=\"unit-{}\"", id(&east)), "</ul>");
    assert!(
        east_li.contains(&format!("id=\"unit-{dept_id}\"")),
        "{east_li}"
    );
    // "Move to…" offers West but not the unit itself nor its current parent.
    let select = section(&page.body, &format!("id=\"move-{dept_id}\""), "</select>");
    assert!(select.contains(&format!("value=\"{}\"", s(&west["name"]))));
    assert!(!select.contains(&format!("value=\"{east_name}\"")));
    assert!(!select.contains(&format!("value=\"units/{dept_id}\"")));

    let page = b
        .post(
            &format!("/admin/units/{dept_id}/move"),
            &[
                ("new_parent", s(&west["name"]).as_str()),
                ("etag", s(&dept["etag"]).as_str()),
            ],
        )
        .await;
    assert!(page.has("Unit moved."), "{}", page.body);
    let moved = find(&http, "units", "units", "code", "sales-east").await;
    assert_eq!(moved["parent"], west["name"]);
    assert!(s(&moved["path"]).ends_with("/west/sales-east/"), "{moved}");

    let page = b
        .post(
            &format!("/admin/units/{}", id(&east)),
            &[
                ("display_name", "East China"),
                ("etag", s(&east["etag"]).as_str()),
            ],
        )
        .await;
    assert!(page.has("Unit renamed."), "{}", page.body);
    let renamed = find(&http, "units", "units", "code", "east").await;
    assert_eq!(renamed["displayName"], "East China");

    // Refusals come back with the catalog's message, the service's field and what was typed.
    let fields = [
        ("parent", root.as_str()),
        ("code", "Bad Code!"),
        ("display_name", "Bad"),
        ("kind", "REGION"),
    ];
    let page = b.post("/admin/units", &fields).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.has("Some values are not valid."), "{}", page.body);
    assert!(page.has("class=\"field-error\""), "{}", page.body);
    assert!(page.has("value=\"Bad Code!\""));
    let fields = [
        ("parent", root.as_str()),
        ("code", "east"),
        ("display_name", "Again"),
        ("kind", "REGION"),
    ];
    let page = b.post("/admin/units", &fields).await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.has("It already exists."), "{}", page.body);
    // A stale version is a conflict, not an overwrite.
    let page = b
        .post(
            &format!("/admin/units/{}", id(&east)),
            &[("display_name", "Lost"), ("etag", "999999")],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(
        find(&http, "units", "units", "code", "east").await["displayName"],
        "East China"
    );

    // A form from another site, without the token, changes nothing.
    let fields = [
        ("parent", root.as_str()),
        ("code", "forged"),
        ("display_name", "Forged"),
        ("kind", "REGION"),
    ];
    let page = b.post_without_csrf("/admin/units", &fields).await;
    assert_eq!(page.status, 403);
    let page = b
        .post_without_csrf("/admin/units", &[("_csrf", "0123456789abcdef"), fields[1]])
        .await;
    assert_eq!(page.status, 403);
    let units = rest_list(&http, "units", "units").await;
    assert!(!units.iter().any(|u| u["code"] == "forged"));
    suite.stop().await;
}

#[tokio::test]
async fn users_are_created_disabled_enabled_and_their_passwords_reset() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let root = root_unit(&http).await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;
    let page = b.get("/admin/users").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.has("id=\"users\"") && page.has(">admin<"),
        "{}",
        page.body
    );

    let fields = [
        ("login_name", "ann.lee"),
        ("display_name", "Ann Lee"),
        ("email", "ann@example.com"),
        ("unit", root.as_str()),
        ("password", "ann-initial-pass-2026"),
        ("must_change", "1"),
        ("request_id", "create-ann"),
    ];
    let page = b.post("/admin/users", &fields).await;
    assert!(page.has("User created."), "{}", page.body);
    let ann = find(&http, "users", "users", "loginName", "ann.lee").await;
    assert_eq!(ann["status"], "ACTIVE");
    assert_eq!(ann["passwordChangeRequired"], true, "{ann}");
    assert_eq!(ann["unit"], root.as_str());
    let ann_id = id(&ann);

    // A weak password is refused with the catalog's words; what was typed stays, but not the
    // password.
    let weak = [
        ("login_name", "bob"),
        ("display_name", "Bob"),
        ("unit", root.as_str()),
        ("password", "short"),
    ];
    let page = b.post("/admin/users", &weak).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.has("value=\"bob\"") && !page.has("value=\"short\""));

    let page = b
        .post(
            &format!("/admin/users/{ann_id}/status"),
            &[("status", "DISABLED"), ("etag", s(&ann["etag"]).as_str())],
        )
        .await;
    assert!(page.has("User disabled"), "{}", page.body);
    let ann = find(&http, "users", "users", "loginName", "ann.lee").await;
    assert_eq!(ann["status"], "DISABLED");
    assert!(page.has(&format!("id=\"enable-{ann_id}\"")));
    let page = b
        .post(
            &format!("/admin/users/{ann_id}/status"),
            &[("status", "ACTIVE"), ("etag", s(&ann["etag"]).as_str())],
        )
        .await;
    assert!(page.has("User enabled."), "{}", page.body);
    assert_eq!(
        find(&http, "users", "users", "loginName", "ann.lee").await["status"],
        "ACTIVE"
    );
    // Nobody disables themselves: the page offers no button for it, and the service refuses.
    let me = find(&http, "users", "users", "loginName", "admin").await;
    assert!(!page.has(&format!("id=\"disable-{}\"", id(&me))));
    let page = b
        .post(
            &format!("/admin/users/{}/status", id(&me)),
            &[("status", "DISABLED")],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.has("Refused: you cannot disable yourself"));

    let page = b
        .post(
            &format!("/admin/users/{ann_id}/password"),
            &[("new_password", "ann-reset-password-2026")],
        )
        .await;
    assert!(page.has("Password reset"), "{}", page.body);
    let token = suite.login("ann.lee", "ann-reset-password-2026").await;
    assert!(!token.is_empty());
    let ann = find(&http, "users", "users", "loginName", "ann.lee").await;
    assert_ne!(ann["passwordChangeRequired"], true, "{ann}");

    // The roles form kept its shape and still works.
    let ann = find(&http, "users", "users", "loginName", "ann.lee").await;
    let rep = find(&http, "roles", "roles", "displayName", "Sales rep").await;
    let page = b
        .post(
            &format!("/admin/users/{ann_id}/roles"),
            &[
                ("role", s(&rep["name"]).as_str()),
                ("etag", s(&ann["etag"]).as_str()),
            ],
        )
        .await;
    assert!(page.has("Roles saved."), "{}", page.body);
    let ann = find(&http, "users", "users", "loginName", "ann.lee").await;
    assert_eq!(ann["roles"], json!([rep["name"]]));

    // A sales rep sees no administration menu, and the pages refuse them.
    let mut rep_browser = Browser::sign_in(&suite, "ann.lee", "ann-reset-password-2026").await;
    let home = rep_browser.get("/").await;
    assert!(!home.has("href=\"/admin/"), "{}", home.body);
    let page = rep_browser.get("/admin/units").await;
    assert_eq!(page.status, 403, "{}", page.body);
    suite.stop().await;
}

#[tokio::test]
async fn roles_are_saved_with_the_permissions_and_scopes_ticked() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;
    let page = b.get("/admin/roles/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("value=\"customers.customer.read\""));
    assert!(page.has("name=\"scope.sales\""));
    assert!(page.has("id=\"perms-identity\""));

    let fields = [
        ("display_name", "East sales"),
        ("description", "Sales of the east"),
        ("perm", "customers.customer.read"),
        ("perm", "customers.customer.write"),
        ("perm", "sales.lead.read"),
        ("scope.customers", "SUBTREE"),
        ("scope.sales", "ALL"),
        ("scope.servicedesk", "OWN"),
        ("scope.marketing", "UNIT"),
        ("request_id", "role-east"),
    ];
    let page = b.post("/admin/roles", &fields).await;
    assert!(page.has("Role created."), "{}", page.body);
    assert!(page.has(">East sales<"));
    let role = find(&http, "roles", "roles", "displayName", "East sales").await;
    assert_eq!(
        role["permissions"],
        json!([
            "customers.customer.read",
            "customers.customer.write",
            "sales.lead.read"
        ])
    );
    assert_eq!(role["scopes"]["customers"], "SUBTREE");
    assert_eq!(role["scopes"]["sales"], "ALL");
    assert_eq!(role["scopes"]["marketing"], "UNIT");
    assert_eq!(role["description"], "Sales of the east");

    // The edit form shows what is saved, and saving replaces it.
    let role_id = id(&role);
    let page = b.get(&format!("/admin/roles/{role_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let select = section(&page.body, "id=\"scope-customers\"", "</select>");
    assert!(select.contains("value=\"SUBTREE\" selected"), "{select}");
    let etag = s(&role["etag"]);
    let fields = [
        ("display_name", "East sales"),
        ("perm", "customers.customer.read"),
        ("scope.customers", "ALL"),
        ("etag", etag.as_str()),
    ];
    let page = b.post(&format!("/admin/roles/{role_id}"), &fields).await;
    assert!(page.has("Role saved."), "{}", page.body);
    let role = find(&http, "roles", "roles", "displayName", "East sales").await;
    assert_eq!(role["permissions"], json!(["customers.customer.read"]));
    assert_eq!(role["scopes"]["customers"], "ALL");
    assert_ne!(role["scopes"]["sales"], "ALL");

    // A stale version is refused and the form keeps what was typed.
    let fields = [("display_name", "East sales renamed"), ("etag", "999999")];
    let page = b.post(&format!("/admin/roles/{role_id}"), &fields).await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.has("Someone else changed this meanwhile."));
    assert!(page.has("value=\"East sales renamed\""));

    // Built-in roles are shown read-only.
    let admin_role = find(&http, "roles", "roles", "displayName", "Administrator").await;
    let page = b.get(&format!("/admin/roles/{}", id(&admin_role))).await;
    assert_eq!(page.status, 200);
    assert!(page.has("id=\"built-in\"") && page.has("disabled>"));
    assert!(!page.has("id=\"role-save\""));

    let page = b
        .post(
            &format!("/admin/roles/{role_id}/delete"),
            &[("etag", s(&role["etag"]).as_str())],
        )
        .await;
    assert!(page.has("Role deleted."), "{}", page.body);
    let roles = rest_list(&http, "roles", "roles").await;
    assert!(!roles.iter().any(|r| r["displayName"] == "East sales"));
    let page = b
        .post_without_csrf("/admin/roles", &[("display_name", "Forged")])
        .await;
    assert_eq!(page.status, 403);
    suite.stop().await;
}
