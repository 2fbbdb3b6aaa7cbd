//! Starting the stack and talking to it.
use bytes::Bytes;
use crm::{DevOptions, DevStack, start_dev};
use crm_platform::testing::TestDb;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use std::net::SocketAddr;

/// The administrator's password in every test stack.
pub const ADMIN_PASSWORD: &str = "e2e-root-password-2026";

/// A running stack and what it needs to stay alive.
pub struct Suite {
    pub stack: DevStack,
    /// An access token of the administrator.
    pub admin_token: String,
    _dir: tempfile::TempDir,
    test_dbs: Vec<TestDb>,
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

/// Adds a bearer token to every gRPC call.
#[derive(Clone)]
pub struct Bearer(pub tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A channel whose calls carry a bearer token.
pub type Authed =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

impl Suite {
    pub async fn start(backend: Backend) -> Suite {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a stack with `configure` applied to its options (bus, webhook settings).
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut DevOptions)) -> Suite {
        let dir = tempfile::tempdir().unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut options = DevOptions::new(dir.path().join("data"), any, any);
        options.admin_password = Some(ADMIN_PASSWORD.to_owned());
        options.bus_config.poll_interval_ms = 50;
        configure(&mut options);
        let mut test_dbs = Vec::new();
        if let Backend::Postgres = backend {
            let customers = TestDb::postgres(&crm_customers::store::MIGRATIONS)
                .await
                .unwrap();
            let identity = TestDb::postgres(&crm_identity::store::MIGRATIONS)
                .await
                .unwrap();
            let events = TestDb::postgres(&crm_events::store::MIGRATIONS)
                .await
                .unwrap();
            options.customers_db = Some(customers.db.clone());
            options.identity_db = Some(identity.db.clone());
            options.events_db = Some(events.db.clone());
            test_dbs = vec![customers, identity, events];
        }
        let stack = start_dev(options).await.expect("stack starts");
        let mut suite = Suite {
            stack,
            admin_token: String::new(),
            _dir: dir,
            test_dbs,
        };
        suite.admin_token = suite.login("admin", ADMIN_PASSWORD).await;
        suite
    }

    /// The directory of the stack's SQLite files.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    pub fn gateway(&self) -> String {
        format!("http://{}", self.stack.gateway_addr)
    }

    /// Signs in over REST and returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let r = Http::anonymous(self.gateway())
            .call(
                "POST",
                "/api/v1/auth/login",
                Some(serde_json::json!({"login_name": login, "password": password})),
            )
            .await;
        assert_eq!(r.status, 200, "login {login}: {}", r.text);
        r.json["access_token"].as_str().unwrap().to_owned()
    }

    /// A REST client signed in as the administrator.
    pub fn http(&self) -> Http {
        Http::new(self.gateway(), &self.admin_token)
    }

    /// A gRPC channel to the gateway whose calls carry `token`.
    pub async fn channel(&self, token: &str) -> Authed {
        let channel = tonic::transport::Channel::from_shared(self.gateway())
            .unwrap()
            .connect()
            .await
            .unwrap();
        tonic::service::interceptor::InterceptedService::new(
            channel,
            Bearer(format!("Bearer {token}").parse().unwrap()),
        )
    }

    pub async fn stop(self) {
        self.stack.stop().await.expect("clean stop");
        for db in self.test_dbs {
            db.cleanup().await;
        }
    }
}

/// A plain HTTP/1.1 client, as a browser or curl would be.
pub struct Http {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub json: serde_json::Value,
    pub text: String,
}

impl Http {
    /// A client sending `token` with every request.
    pub fn new(base: String, token: &str) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
            token: Some(token.to_owned()),
        }
    }

    /// A client without credentials.
    pub fn anonymous(base: String) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
            token: None,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        self.call_with(method, path, &[], body).await
    }

    /// [`Http::call`] with extra headers.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
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

impl Http {
    /// A request with any body and content type; the reply's bytes as they came.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, http::HeaderMap, Bytes) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", content_type);
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let res = self.client.request(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes)
    }
}

/// A multipart/form-data body: (part name, file name, content).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("crm-boundary-{}", uuid::Uuid::now_v7().simple());
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => {
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
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
