//! The web UI driven like a browser without JavaScript (htmx requests carry the headers htmx
//! sends): sign in through the form, keep the session cookie, post the pages' forms with their
//! CSRF token, and check each effect through the REST API, not on the page alone. The browser
//! tests (tests/e2e/browser) drive the same pages in Chromium.
mod access;
mod config;
mod customers;
mod directory;

use crate::harness::{Http, Suite};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::Value;

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

/// Text of HTML with its character references decoded (named and numeric, as askama writes
/// them).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|n| n.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
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

    /// The `Cookie` header of the jar.
    fn cookie_header(&self) -> String {
        let jar: Vec<_> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        jar.join("; ")
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Page {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
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

    /// Sends a request with extra headers and a raw body (uploads, htmx requests).
    async fn send_raw(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        extra: &[(&str, String)],
    ) -> Page {
        let mut req = http::Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.base))
            .header("content-type", content_type);
        req = req.header("cookie", self.cookie_header());
        for (k, v) in extra {
            req = req.header(*k, v);
        }
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Posts a form with the CSRF token, not following a redirect.
    async fn send_form(&mut self, method: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.send(method, path, Some(encode(&all))).await
    }

    /// Posts a form as htmx does: the token in `X-CSRF-Token`, `HX-Request: true`.
    async fn htmx(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let extra = [
            ("origin", self.base.clone()),
            ("hx-request", "true".to_owned()),
            ("x-csrf-token", self.csrf.clone()),
        ];
        self.send_raw(
            path,
            "application/x-www-form-urlencoded",
            encode(fields).into_bytes(),
            &extra,
        )
        .await
    }

    /// Uploads a file as the import form does (multipart, the token in the query).
    async fn upload(&mut self, path: &str, file_name: &str, bytes: &[u8]) -> Page {
        let boundary = "crm-test-boundary-7d3f";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"default_kind\"\r\n\r\nPERSON\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let path = format!("{path}?_csrf={}", self.csrf);
        let extra = [("origin", self.base.clone())];
        self.send_raw(
            &path,
            &format!("multipart/form-data; boundary={boundary}"),
            body,
            &extra,
        )
        .await
    }

    /// Polls a page until it contains `needle` (an import job finishing), for up to 20 s.
    async fn wait_for(&mut self, path: &str, needle: &str) -> Page {
        for _ in 0..200 {
            let page = self.get(path).await;
            if page.has(needle) {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{path} never showed {needle}");
    }

    /// Posts a form from another site: a foreign `Origin`, the right token.
    async fn send_foreign(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let extra = [("origin", "https://evil.example".to_owned())];
        self.send_raw(
            path,
            "application/x-www-form-urlencoded",
            encode(&all).into_bytes(),
            &extra,
        )
        .await
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
