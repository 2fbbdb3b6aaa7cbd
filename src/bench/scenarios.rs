//! The scenarios: what one request of each benchmark is, over gRPC (generated clients), REST
//! or the web UI's pages (HTTP/1.1 keep-alive), against the gateway or any address serving the
//! same API.
use super::{generate::Generator, load::Call};
use bytes::Bytes;
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, GetCustomerRequest, ListCustomersRequest, customer::Kind,
    customer_service_client::CustomerServiceClient,
};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use std::sync::Arc;
use tonic::{metadata::MetadataValue, transport::Channel};

/// Every scenario, with what it does.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "get-customer",
        "gRPC GetCustomer of a random existing customer",
    ),
    (
        "get-customer-rest",
        "REST GET /api/v1/customers/{id} of a random existing customer",
    ),
    (
        "list-customers",
        "gRPC ListCustomers, filter kind = ORGANIZATION, page of 20",
    ),
    (
        "list-customers-rest",
        "REST GET /api/v1/customers?filter=kind = ORGANIZATION&pageSize=20",
    ),
    (
        "search-customers",
        "gRPC SearchCustomers, a name or part of one (Latin, Chinese, one with a typo), 20 results",
    ),
    (
        "create-customer",
        "gRPC CreateCustomer of a generated customer",
    ),
    (
        "mixed",
        "80% get-customer, 15% list-customers, 5% create-customer",
    ),
    (
        "ui-customers-list",
        "web UI GET /customers, the default list page (25 rows), full HTML; needs --cookie",
    ),
    (
        "ui-customer-detail",
        "web UI GET /customers/{id} of a random existing customer, full HTML; needs --cookie",
    ),
];

/// Whether scenario `name` reads existing customers (so the ids must be loaded first).
pub fn needs_ids(name: &str) -> bool {
    name.starts_with("get") || name == "mixed" || name == "ui-customer-detail"
}

/// Whether scenario `name` requests the web UI's pages (so it needs a session cookie).
pub fn needs_cookie(name: &str) -> bool {
    name.starts_with("ui-")
}

/// Where and how to send requests.
#[derive(Clone)]
pub struct Target {
    grpc: Vec<CustomerServiceClient<Channel>>,
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
    /// The `Cookie` header of the web UI's pages (`crm_session=...`).
    cookie: Option<String>,
    ids: Arc<Vec<String>>,
}

impl Target {
    /// Connects `connections` HTTP/2 channels to `url` (gRPC) and prepares an HTTP/1.1 pool.
    pub async fn connect(
        url: &str,
        connections: usize,
        token: Option<String>,
    ) -> anyhow::Result<Target> {
        let mut grpc = Vec::new();
        for _ in 0..connections.max(1) {
            let channel = Channel::from_shared(url.to_owned())?
                .tcp_nodelay(true)
                .connect()
                .await?;
            grpc.push(CustomerServiceClient::new(channel));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Target {
            grpc,
            http,
            base: url.trim_end_matches('/').to_owned(),
            token,
            cookie: None,
            ids: Arc::new(Vec::new()),
        })
    }

    /// Sends the web UI's session cookie with the page requests: either the cookie's value
    /// (as in `Set-Cookie: crm_session=VALUE`) or a whole `crm_session=VALUE` pair.
    pub fn set_cookie(&mut self, cookie: Option<&str>) {
        self.cookie = cookie.map(|c| {
            let c = c.trim();
            if c.starts_with("crm_session=") {
                c.to_owned()
            } else {
                format!("crm_session={c}")
            }
        });
    }

    /// Loads up to `max` customer names (pages of 1000) from `source` for the get scenarios.
    pub async fn load_ids(&mut self, source: &Target, max: usize) -> anyhow::Result<usize> {
        let mut ids = Vec::new();
        let mut token = String::new();
        let mut client = source.client(0);
        while ids.len() < max {
            let req = source.request(ListCustomersRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            });
            let page = client.list_customers(req).await?.into_inner();
            ids.extend(page.customers.into_iter().map(|c| c.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        ids.truncate(max);
        self.ids = Arc::new(ids);
        Ok(self.ids.len())
    }

    fn client(&self, n: u64) -> CustomerServiceClient<Channel> {
        self.grpc[(n as usize) % self.grpc.len()].clone()
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        if let Some(token) = &self.token
            && let Ok(value) = MetadataValue::try_from(format!("Bearer {token}"))
        {
            req.metadata_mut().insert("authorization", value);
        }
        req
    }

    fn id(&self, n: u64) -> String {
        if self.ids.is_empty() {
            return "customers/00000000-0000-7000-8000-000000000000".to_owned();
        }
        // A multiplicative hash spreads the ids so consecutive requests hit different rows.
        let i = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) as usize % self.ids.len();
        self.ids[i].clone()
    }

    async fn rest_get(&self, path: String) -> Result<(), String> {
        let mut req = http::Request::get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|_| "BAD_REQUEST_BUILD".to_owned())?;
        let res = self
            .http
            .request(req)
            .await
            .map_err(|_| "CONNECTION".to_owned())?;
        let status = res.status();
        // The body must be read for the connection to be reused.
        res.into_body()
            .collect()
            .await
            .map_err(|_| "BODY".to_owned())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP_{}", status.as_u16()))
        }
    }

    /// A page of the web UI, read to its end; anything but 200 (a redirect to the sign-in page
    /// included) is an error.
    async fn page(&self, path: String) -> Result<(), String> {
        let mut req =
            http::Request::get(format!("{}{path}", self.base)).header("accept", "text/html");
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|_| "BAD_REQUEST_BUILD".to_owned())?;
        let res = self
            .http
            .request(req)
            .await
            .map_err(|_| "CONNECTION".to_owned())?;
        let status = res.status();
        res.into_body()
            .collect()
            .await
            .map_err(|_| "BODY".to_owned())?;
        if status == http::StatusCode::OK {
            Ok(())
        } else {
            Err(format!("HTTP_{}", status.as_u16()))
        }
    }

    async fn get(&self, n: u64) -> Result<(), String> {
        let req = self.request(GetCustomerRequest {
            name: self.id(n),
            ..Default::default()
        });
        self.client(n)
            .get_customer(req)
            .await
            .map(drop)
            .map_err(code)
    }

    async fn list(&self, n: u64, filter: String) -> Result<(), String> {
        let req = self.request(ListCustomersRequest {
            page_size: 20,
            filter,
            ..Default::default()
        });
        self.client(n)
            .list_customers(req)
            .await
            .map(drop)
            .map_err(code)
    }

    async fn search(&self, n: u64, query: &str) -> Result<(), String> {
        let req = self.request(crm_proto::crm::customers::v1::SearchCustomersRequest {
            query: query.to_owned(),
            page_size: 20,
        });
        self.client(n)
            .search_customers(req)
            .await
            .map(drop)
            .map_err(code)
    }

    async fn create(&self, n: u64, generator: &Generator) -> Result<(), String> {
        // Indices far above any seeded range, so names and ids do not collide with the seed.
        let r = generator.record(n + (1 << 32));
        let customer = Customer {
            display_name: r.display_name,
            kind: if r.organization {
                Kind::Organization
            } else {
                Kind::Person
            } as i32,
            email: r.email.unwrap_or_default(),
            phone: r.phone_raw.unwrap_or_default(),
            ..Default::default()
        };
        let req = self.request(CreateCustomerRequest {
            customer: Some(customer),
            request_id: String::new(),
            // The default: every create is checked for duplicates, as a user's would be.
            duplicate_policy: 0,
        });
        self.client(n)
            .create_customer(req)
            .await
            .map(drop)
            .map_err(code)
    }
}

fn code(status: tonic::Status) -> String {
    crm_platform::error::code_name(status.code()).to_owned()
}

/// Name fragments for the search scenario.
const SEARCH_TERMS: &[&str] = &[
    "acme",
    "müller",
    "华信",
    "zhang",
    "logistics",
    "王",
    "smith",
    "科技",
    "logistcs",
];

/// The request function of a scenario, or `None` for an unknown name.
pub fn call(name: &str, target: Target, seed: u64) -> Option<Call> {
    let t = Arc::new(target);
    let generator = Arc::new(Generator::new(seed));
    let call: Call = match name {
        "get-customer" => Arc::new(move |n| {
            let t = t.clone();
            Box::pin(async move { t.get(n).await })
        }),
        "get-customer-rest" => Arc::new(move |n| {
            let t = t.clone();
            Box::pin(async move {
                let id = t.id(n);
                let id = id.trim_start_matches("customers/").to_owned();
                t.rest_get(format!("/api/v1/customers/{id}")).await
            })
        }),
        "list-customers" => Arc::new(move |n| {
            let t = t.clone();
            Box::pin(async move { t.list(n, "kind = ORGANIZATION".to_owned()).await })
        }),
        "list-customers-rest" => Arc::new(move |_| {
            let t = t.clone();
            Box::pin(async move {
                t.rest_get(
                    "/api/v1/customers?filter=kind%20%3D%20ORGANIZATION&pageSize=20".to_owned(),
                )
                .await
            })
        }),
        "search-customers" => Arc::new(move |n| {
            let t = t.clone();
            Box::pin(async move {
                let term = SEARCH_TERMS[n as usize % SEARCH_TERMS.len()];
                t.search(n, term).await
            })
        }),
        "create-customer" => Arc::new(move |n| {
            let (t, g) = (t.clone(), generator.clone());
            Box::pin(async move { t.create(n, &g).await })
        }),
        "mixed" => Arc::new(move |n| {
            let (t, g) = (t.clone(), generator.clone());
            Box::pin(async move {
                match n % 20 {
                    0 => t.create(n, &g).await,
                    1..=3 => t.list(n, "kind = ORGANIZATION".to_owned()).await,
                    _ => t.get(n).await,
                }
            })
        }),
        "ui-customers-list" => Arc::new(move |_| {
            let t = t.clone();
            Box::pin(async move { t.page("/customers".to_owned()).await })
        }),
        "ui-customer-detail" => Arc::new(move |n| {
            let t = t.clone();
            Box::pin(async move {
                let id = t.id(n);
                let id = id.trim_start_matches("customers/").to_owned();
                t.page(format!("/customers/{id}")).await
            })
        }),
        _ => return None,
    };
    Some(call)
}
