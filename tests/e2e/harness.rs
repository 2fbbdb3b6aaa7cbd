//! Starting the stack and talking to it.
use bytes::Bytes;
use crm::{DevOptions, DevStack, start_dev};
use crm_platform::testing::TestDb;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::net::SocketAddr;

/// A running stack and what it needs to stay alive.
pub struct Suite {
    pub stack: DevStack,
    _dir: tempfile::TempDir,
    test_db: Option<TestDb>,
}

/// The backends the suite runs on: SQLite always, PostgreSQL when configured.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    if std::env::var(crm_platform::testing::POSTGRES_URL_ENV).is_ok() {
        out.push(Backend::Postgres);
    } else {
        eprintln!(
            "postgres e2e skipped: {} not set",
            crm_platform::testing::POSTGRES_URL_ENV
        );
    }
    out
}

impl Suite {
    pub async fn start(backend: Backend) -> Suite {
        let dir = tempfile::tempdir().unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut options = DevOptions::new(dir.path().join("data"), any, any);
        let test_db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => TestDb::postgres(&crm_customers::store::MIGRATIONS).await,
        };
        options.customers_db = test_db.as_ref().map(|t| t.db.clone());
        let stack = start_dev(options).await.expect("stack starts");
        Suite {
            stack,
            _dir: dir,
            test_db,
        }
    }

    pub fn gateway(&self) -> String {
        format!("http://{}", self.stack.gateway_addr)
    }

    pub async fn stop(self) {
        self.stack.stop().await.expect("clean stop");
        if let Some(db) = self.test_db {
            db.cleanup().await;
        }
    }
}

/// A plain HTTP/1.1 client, as a browser or curl would be.
pub struct Http {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    base: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub json: serde_json::Value,
    pub text: String,
}

impl Http {
    pub fn new(base: String) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let res = self.client.request(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }
}

/// The field names of the BadRequest violations in an AIP-193 body.
pub fn violated_fields(json: &serde_json::Value) -> Vec<String> {
    json["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .map(|v| v["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}
