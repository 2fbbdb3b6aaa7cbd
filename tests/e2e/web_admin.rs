//! The administration pages of the web UI, driven like a browser without JavaScript: sign in
//! through the form, keep the session cookie, post the pages' forms with their CSRF token,
//! and check each effect through the REST API, not on the page alone.
use crate::harness::{ADMIN_PASSWORD, Backend, Http, Suite};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};

/// A cookie-keeping client that sends what a browser sends with a form.
struct Browser {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    cookies: Vec<(String, String)>,
    csrf: String,
}

struct Page {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Page {
    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// A form body, encoded as browsers do (`application/x-www-form-urlencoded`).
fn encode(fields: &[(&str, &str)]) -> String {
    let part = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", part(k), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attribute `name` of the tag that contains `marker` (e.g. `id="secret"`).
fn attr(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(unescape(&tag[from..from + len]))
}

/// The text from `marker` to the next `until`.
fn section<'a>(html: &'a str, marker: &str, until: &str) -> &'a str {
    let Some(at) = html.find(marker) else {
        return "";
    };
    let rest = &html[at..];
    &rest[..rest.find(until).unwrap_or(rest.len())]
}

impl Browser {
    async fn sign_in(suite: &Suite, login: &str, password: &str) -> Browser {
        let mut b = Browser {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: suite.gateway(),
            cookies: Vec::new(),
            csrf: String::new(),
        };
        let body = encode(&[("login_name", login), ("password", password)]);
        let r = b.send("POST", "/login", Some(body)).await;
        assert_eq!(r.status, 303, "sign-in of {login}: {}", r.body);
        assert!(b.cookies.iter().any(|(k, _)| k == "crm_session"));
        let home = b.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        assert!(!b.csrf.is_empty(), "no csrf-token meta");
        b
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Page {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<_> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", jar.join("; "));
        }
        if method != "GET" {
            req = req
                .header("origin", &self.base)
                .header("content-type", "application/x-www-form-urlencoded");
        }
        let req = req
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .unwrap();
        let res = self.client.request(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for value in headers.get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(token) = attr(&body, "name=\"csrf-token\"", "content") {
            self.csrf = token;
        }
        Page {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    /// Posts a form with the page's CSRF token and follows the redirect, as a browser does.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let page = self.send("POST", path, Some(encode(&all))).await;
        if page.status == 303 {
            let to = page.headers["location"].to_str().unwrap().to_owned();
            let to = to.split('#').next().unwrap().to_owned();
            return self.get(&to).await;
        }
        page
    }

    /// Posts a form without the CSRF token, as another site's form would.
    async fn post_without_csrf(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(encode(fields))).await
    }
}

/// The list of a REST collection, e.g. `units`.
async fn rest_list(http: &Http, collection: &str, field: &str) -> Vec<Value> {
    // Custom field definitions come all at once; their list takes no paging.
    let query = if collection == "customFieldDefinitions" {
        ""
    } else {
        "?pageSize=1000"
    };
    let r = http
        .call("GET", &format!("/api/v1/{collection}{query}"), None)
        .await;
    assert_eq!(r.status, 200, "{collection}: {}", r.text);
    r.json[field].as_array().cloned().unwrap_or_default()
}

async fn find(http: &Http, collection: &str, field: &str, key: &str, value: &str) -> Value {
    rest_list(http, collection, field)
        .await
        .into_iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {collection} with {key} = {value}"))
}

fn id(v: &Value) -> String {
    let name = v["name"].as_str().unwrap();
    name.rsplit('/').next().unwrap().to_owned()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn root_unit(http: &Http) -> String {
    let me = http.call("GET", "/api/v1/users/me", None).await;
    s(&me.json["unit"])
}

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
        assert!(page.has(&format!("href=\"{link}\"")), "sub-menu lacks {link}");
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
    assert!(page.has("销售一部 &lt;East&gt;"), "{}", section(&page.body, "销售一部", "</"));
    let dept_id = id(&dept);
    let east_li = section(&page.body, &format!("id=\"unit-{}\"", id(&east)), "</ul>");
    assert!(east_li.contains(&format!("id=\"unit-{dept_id}\"")), "{east_li}");
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
    assert!(page.has("id=\"users\"") && page.has(">admin<"), "{}", page.body);

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
    let fields = [
        ("display_name", "East sales renamed"),
        ("etag", "999999"),
    ];
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

async fn client_token(suite: &Suite, client_id: &str, secret: &str) -> u16 {
    let r = Http::anonymous(suite.gateway())
        .call(
            "POST",
            "/api/v1/auth/token",
            Some(json!({"client_id": client_id, "client_secret": secret})),
        )
        .await;
    r.status
}

#[tokio::test]
async fn an_api_client_secret_is_shown_once_and_works() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    let root = root_unit(&http).await;
    let rep = find(&http, "roles", "roles", "displayName", "Sales rep").await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;
    let page = b.get("/admin/api-clients").await;
    assert_eq!(page.status, 200, "{}", page.body);

    let rep_name = s(&rep["name"]);
    let fields = [
        ("display_name", "SAP ERP"),
        ("role", rep_name.as_str()),
        ("unit", root.as_str()),
        ("allowed_cidrs", "127.0.0.1\n::1"),
        ("request_id", "client-erp"),
    ];
    let page = b.post("/admin/api-clients", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("id=\"secret-warning\""));
    let secret = attr(&page.body, "id=\"secret\"", "value").expect("secret shown");
    let client_id = attr(&page.body, "id=\"identifier\"", "value").expect("client id");
    assert_eq!(secret.len(), 43, "{secret}");
    assert_eq!(client_token(&suite, &client_id, &secret).await, 200);
    let client = find(&http, "apiClients", "apiClients", "clientId", &client_id).await;
    assert_eq!(client["roles"], json!([rep["name"]]));
    assert_eq!(client["unit"], root.as_str());
    assert_eq!(client["allowedCidrs"], json!(["127.0.0.1", "::1"]));

    // Never again: not on the list, and not when the form is sent a second time.
    let page = b.get("/admin/api-clients").await;
    assert!(page.has(&client_id) && !page.has(&secret));
    let page = b.post("/admin/api-clients", &fields).await;
    assert!(page.has("id=\"secret-gone\"") && !page.has(&secret), "{}", page.body);
    assert_eq!(rest_list(&http, "apiClients", "apiClients").await.len(), 1);

    // Rotation without grace: the new secret works, the old one stops.
    let client_id_path = id(&client);
    let page = b
        .post(
            &format!("/admin/api-clients/{client_id_path}/rotate"),
            &[("grace", "0"), ("etag", s(&client["etag"]).as_str())],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rotated = attr(&page.body, "id=\"secret\"", "value").expect("new secret shown");
    assert_ne!(rotated, secret);
    assert_eq!(client_token(&suite, &client_id, &rotated).await, 200);
    assert_eq!(client_token(&suite, &client_id, &secret).await, 401);
    let page = b.get("/admin/api-clients").await;
    assert!(!page.has(&rotated));

    let client = find(&http, "apiClients", "apiClients", "clientId", &client_id).await;
    let page = b
        .post(
            &format!("/admin/api-clients/{client_id_path}/delete"),
            &[("etag", s(&client["etag"]).as_str())],
        )
        .await;
    assert!(page.has("API client deleted"), "{}", page.body);
    let gone = http
        .call("GET", &format!("/api/v1/apiClients/{client_id_path}"), None)
        .await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(client_token(&suite, &client_id, &rotated).await, 401);
    let page = b
        .post_without_csrf(&format!("/admin/api-clients/{client_id_path}/delete"), &[])
        .await;
    assert_eq!(page.status, 403);
    suite.stop().await;
}

#[tokio::test]
async fn security_events_filter_page_export_and_alerts_acknowledge() {
    let suite = Suite::start(Backend::Sqlite).await;
    let http = suite.http();
    // Sixty denials for one principal (a page and more), and an export large enough to alert.
    let mut events: Vec<Value> = (0..60)
        .map(|n| {
            json!({"type": "PERMISSION_DENIED", "actor": "users/prober", "target": format!("customers/{n}"),
                "details": {"service": "customers", "permission": "customers.customer.read"}})
        })
        .collect();
    events.push(json!({"type": "DATA_EXPORTED", "actor": "users/exporter", "target": "customers",
        "details": {"rows": "20000"}}));
    let r = http
        .call(
            "POST",
            "/api/v1/securityEvents:record",
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = find(&http, "users", "users", "loginName", "admin").await;
    let mut b = Browser::sign_in(&suite, "admin", ADMIN_PASSWORD).await;

    let page = b
        .get(&format!(
            "/admin/security?type=LOGIN_SUCCEEDED&user=users%2F{}",
            id(&me)
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("data-type=\"LOGIN_SUCCEEDED\""), "{}", page.body);
    assert!(!page.has("data-type=\"PERMISSION_DENIED\""));
    assert!(page.has("Large export"), "{}", page.body);

    // Paging: 50 a page, then the rest.
    let page = b.get("/admin/security?type=PERMISSION_DENIED").await;
    assert_eq!(page.body.matches("class=\"event\"").count(), 50);
    let next = attr(&page.body, "id=\"next-page\"", "href").expect("a next page");
    let page = b.get(&next).await;
    assert_eq!(page.status, 200, "{}", page.body);
    eprintln!("NEXT {next}");
    assert_eq!(page.body.matches("data-type=\"PERMISSION_DENIED\"").count(), 10);
    assert!(page.has("id=\"first-page\""));

    // A time range in the user's zone (UTC here): nothing in the future.
    let page = b
        .get("/admin/security?from=2999-01-01T00%3A00&to=2999-01-02T00%3A00")
        .await;
    assert!(page.has("id=\"no-events\""), "{}", page.body);
    let page = b.get("/admin/security?from=yesterday").await;
    assert!(page.has("A date or time in the filter is not valid."));

    // The export link downloads the filtered events as CSV.
    let page = b.get("/admin/security").await;
    let export = attr(&page.body, "id=\"export\"", "href").expect("export link");
    assert!(export.starts_with("/admin/security/export?"));
    let csv = b
        .get("/admin/security/export?type=PERMISSION_DENIED&user=&from=&to=")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"security-events-"));
    let lines: Vec<_> = csv.body.lines().collect();
    assert!(lines[0].starts_with("name,type,time"), "{}", lines[0]);
    assert_eq!(lines.len(), 61, "{}", csv.body);
    assert!(lines[1..].iter().all(|l| l.contains("PERMISSION_DENIED")));

    // Acknowledge the export alert.
    let alerts = rest_list(&http, "securityAlerts", "securityAlerts").await;
    let alert = alerts
        .iter()
        .find(|a| a["rule"] == "LARGE_EXPORT")
        .expect("large export alert");
    let page = b.get("/admin/security").await;
    assert!(page.has(&format!("id=\"ack-{}\"", id(alert))));
    let page = b
        .post(
            &format!("/admin/security/alerts/{}/acknowledge", id(alert)),
            &[("etag", s(&alert["etag"]).as_str())],
        )
        .await;
    assert!(page.has("Alert acknowledged."), "{}", page.body);
    let alerts = rest_list(&http, "securityAlerts", "securityAlerts").await;
    let alert = alerts.iter().find(|a| a["rule"] == "LARGE_EXPORT").unwrap();
    assert_eq!(alert["state"], "ACKNOWLEDGED");
    let open: Vec<_> = alerts.iter().filter(|a| a["state"] == "OPEN").collect();
    let page = b
        .post_without_csrf(
            &format!("/admin/security/alerts/{}/acknowledge", id(open[0])),
            &[],
        )
        .await;
    assert_eq!(page.status, 403);
    suite.stop().await;
}

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
        ("event_types", "crm.customers.v1.customer.\ncrm.customers.v1.customer.created"),
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
    assert!(!left.iter().any(|h| h["url"] == "https://erp.example.com/hook"));
    suite.stop().await;
}
