//! HTTP delivery that only ever connects to addresses it has checked itself.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{UrlError, UrlPolicy, check_host_name, check_ip, check_url};

/// How much of a response body is kept for the delivery log.
const EXCERPT_LIMIT: usize = 4096;

/// Outcome of one delivery attempt, as stored in the delivery log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
    pub response_excerpt: String,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Posts webhooks. Cloning is cheap and clones share one connection pool.
#[derive(Clone)]
pub struct Sender {
    client: Client<GuardedConnector, Full<Bytes>>,
    policy: UrlPolicy,
    timeout: Duration,
}

impl Sender {
    pub fn new(policy: UrlPolicy, timeout: Duration) -> Sender {
        let connector = GuardedConnector {
            policy,
            tls: Arc::new(tls_config()),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Sender {
            client,
            policy,
            timeout,
        }
    }

    /// POSTs `body` as JSON. Redirects are not followed: a 3xx is reported as is, since
    /// following it would let a receiver bounce us to an unchecked URL.
    pub async fn send(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Attempt {
        let started = Instant::now();
        let result =
            match tokio::time::timeout(self.timeout, self.deliver(url, headers, body)).await {
                Ok(result) => result,
                Err(_) => Err(format!("timed out after {}ms", self.timeout.as_millis())),
            };
        let duration = started.elapsed();
        match result {
            Ok((status, response_excerpt)) => Attempt {
                status: Some(status),
                error: None,
                duration,
                response_excerpt,
            },
            Err(error) => Attempt {
                status: None,
                error: Some(error),
                duration,
                response_excerpt: String::new(),
            },
        }
    }

    async fn deliver(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String), String> {
        // The URL was checked when registered, but the policy or the checks may have
        // changed since; the connector then checks the resolved addresses.
        let url = check_url(url, &self.policy).map_err(|e| e.to_string())?;
        let uri: Uri = url
            .as_str()
            .parse()
            .map_err(|e| format!("invalid url: {e}"))?;
        let mut request = hyper::Request::post(uri)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("invalid request: {e}"))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header {name}"))?;
            // insert, not append: a caller-given content-type replaces the default.
            request.headers_mut().insert(name, value);
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let excerpt = read_excerpt(response.into_body()).await;
        Ok((status, excerpt))
    }
}

/// Reads at most EXCERPT_LIMIT bytes; the rest is dropped unread, so a huge or endless
/// response cannot exhaust memory. A body error still leaves the status meaningful.
async fn read_excerpt(mut body: hyper::body::Incoming) -> String {
    let mut buf = Vec::new();
    while buf.len() < EXCERPT_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let take = data.len().min(EXCERPT_LIMIT - buf.len());
                    buf.extend_from_slice(&data[..take]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// hyper-util's own message is just "client error (Connect)"; the cause is in the chain.
fn describe(err: &hyper_util::client::legacy::Error) -> String {
    let mut parts = vec![if err.is_connect() {
        "connect failed".to_owned()
    } else {
        err.to_string()
    }];
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}

/// The ring provider is passed explicitly so that the process-wide default (which may be
/// unset, or aws-lc in a larger build) does not matter.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error(transparent)]
    Refused(#[from] UrlError),
    #[error("url has no host")]
    NoHost,
    #[error("could not resolve {0}")]
    Resolve(String, #[source] io::Error),
    #[error("{0} resolved to no address")]
    NoAddress(String),
    #[error("could not connect to {0}")]
    Connect(SocketAddr, #[source] io::Error),
    #[error("tls setup failed: {0}")]
    TlsSetup(String),
    #[error("invalid tls server name {0}")]
    ServerName(String),
    #[error("tls handshake with {0} failed")]
    Tls(String, #[source] io::Error),
}

/// Resolves `host` once and refuses it if ANY address is forbidden: a name that mixes a
/// public and an internal address must not get a chance to reach the internal one.
async fn resolve_checked(
    host: &str,
    port: u16,
    policy: &UrlPolicy,
) -> Result<Vec<SocketAddr>, ConnectError> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            check_host_name(host, policy)?;
            tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ConnectError::Resolve(host.to_owned(), e))?
                .collect()
        }
    };
    if addrs.is_empty() {
        return Err(ConnectError::NoAddress(host.to_owned()));
    }
    check_all(&addrs, policy)?;
    Ok(addrs)
}

fn check_all(addrs: &[SocketAddr], policy: &UrlPolicy) -> Result<(), UrlError> {
    addrs
        .iter()
        .try_for_each(|addr| check_ip(addr.ip(), policy))
}

/// A hyper-util connector that does its own resolution and connects only to the
/// addresses it just checked, so DNS rebinding between check and connect has no effect.
#[derive(Clone)]
struct GuardedConnector {
    policy: UrlPolicy,
    tls: Arc<Result<Arc<rustls::ClientConfig>, String>>,
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = TokioIo<Stream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(uri).await.map(TokioIo::new) })
    }
}

impl GuardedConnector {
    async fn connect(self, uri: Uri) -> Result<Stream, ConnectError> {
        let https = uri.scheme_str() == Some("https");
        // Uri keeps IPv6 literals bracketed; resolution and SNI want them bare.
        let host = uri
            .host()
            .ok_or(ConnectError::NoHost)?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs = resolve_checked(host, port, &self.policy).await?;

        let mut last_err = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last_err = Some(ConnectError::Connect(addr, e)),
            }
        }
        let tcp = match (tcp, last_err) {
            (Some(tcp), _) => tcp,
            (None, Some(err)) => return Err(err),
            (None, None) => return Err(ConnectError::NoAddress(host.to_owned())),
        };
        // Small request/response exchanges; don't let Nagle delay them.
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(Stream::Plain(tcp));
        }
        let config = self
            .tls
            .as_ref()
            .as_ref()
            .map_err(|e| ConnectError::TlsSetup(e.clone()))?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ConnectError::ServerName(host.to_owned()))?;
        let tls = TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::Tls(host.to_owned(), e))?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::Mutex;

    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response, StatusCode};

    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        headers: hyper::HeaderMap,
        body: Vec<u8>,
    }

    /// A local server: /ok -> 200, /fail -> 500, /slow -> 200 after 3s, /big -> 10 KiB body.
    async fn server() -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let log = Arc::clone(&log);
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = Arc::clone(&log);
                    async move {
                        let path = req.uri().path().to_owned();
                        let headers = req.headers().clone();
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        log.lock().unwrap().push(Seen {
                            path: path.clone(),
                            headers,
                            body,
                        });
                        let (status, body) = match path.as_str() {
                            "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned()),
                            "/slow" => {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                                (StatusCode::OK, String::new())
                            }
                            "/big" => (StatusCode::OK, "x".repeat(10 * 1024)),
                            "/redirect" => (StatusCode::FOUND, String::new()),
                            _ => (StatusCode::OK, "thanks".to_owned()),
                        };
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = status;
                        Ok::<_, Infallible>(resp)
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(tcp), svc));
            }
        });
        (addr, seen)
    }

    fn open() -> Sender {
        Sender::new(
            UrlPolicy {
                allow_private: true,
            },
            Duration::from_secs(2),
        )
    }

    #[tokio::test]
    async fn refuses_private_target_without_connecting() {
        let (addr, seen) = server().await;
        let strict = Sender::new(UrlPolicy::default(), Duration::from_secs(2));
        let a = strict
            .send(&format!("http://{addr}/ok"), &[], b"{}".to_vec())
            .await;
        assert!(!a.succeeded());
        assert_eq!(a.status, None);
        assert_eq!(a.error.as_deref(), Some("address 127.0.0.1 is loopback"));
        let a = strict
            .send(
                &format!("http://localhost:{}/ok", addr.port()),
                &[],
                b"{}".to_vec(),
            )
            .await;
        assert_eq!(a.error.as_deref(), Some("host localhost is local"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            seen.lock().unwrap().is_empty(),
            "server must not see a request"
        );
    }

    #[tokio::test]
    async fn resolved_addresses_are_checked() {
        let policy = UrlPolicy::default();
        // One internal address among public ones is enough to refuse the whole name.
        let mixed: Vec<SocketAddr> = vec![
            "8.8.8.8:443".parse().unwrap(),
            "10.1.2.3:443".parse().unwrap(),
        ];
        assert_eq!(
            check_all(&mixed, &policy).unwrap_err().to_string(),
            "address 10.1.2.3 is private"
        );
        assert!(check_all(&mixed[..1], &policy).is_ok());
        // Real resolution: whatever "localhost" resolves to must be refused by address too,
        // in case a name check were ever bypassed (e.g. another name pointing at 127.0.0.1).
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host(("localhost", 80))
            .await
            .unwrap()
            .collect();
        let err = check_all(&resolved, &policy).unwrap_err().to_string();
        assert!(
            err.starts_with("address ") && err.ends_with(" is loopback"),
            "{err}"
        );
        let err = resolve_checked("localhost", 80, &policy)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(err, "host localhost is local");
        let err = resolve_checked("169.254.169.254", 80, &policy)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(err, "address 169.254.169.254 is link-local");
        let open = UrlPolicy {
            allow_private: true,
        };
        assert!(
            !resolve_checked("localhost", 80, &open)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn delivers_headers_and_body() {
        let (addr, seen) = server().await;
        let secret = super::super::generate_secret();
        let body = br#"{"type":"contact.created"}"#.to_vec();
        let sig = super::super::sign(&secret, "msg_1", 1_700_000_000, &body);
        let headers = [
            ("webhook-id", "msg_1".to_owned()),
            ("webhook-timestamp", "1700000000".to_owned()),
            ("webhook-signature", sig),
        ];
        let a = open()
            .send(&format!("http://{addr}/ok"), &headers, body.clone())
            .await;
        assert!(a.succeeded(), "{a:?}");
        assert_eq!(a.status, Some(200));
        assert_eq!(a.error, None);
        assert_eq!(a.response_excerpt, "thanks");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let req = &seen[0];
        assert_eq!(req.path, "/ok");
        assert_eq!(req.body, body);
        assert_eq!(req.headers["content-type"], "application/json");
        assert_eq!(req.headers["webhook-id"], "msg_1");
        let got_sig = req.headers["webhook-signature"].to_str().unwrap();
        assert!(super::super::verify(
            &secret,
            "msg_1",
            1_700_000_000,
            &req.body,
            got_sig,
            1_700_000_010,
            300
        ));
    }

    #[tokio::test]
    async fn non_2xx_is_failure() {
        let (addr, _) = server().await;
        let sender = open();
        let a = sender
            .send(&format!("http://{addr}/fail"), &[], b"{}".to_vec())
            .await;
        assert!(!a.succeeded());
        assert_eq!(a.status, Some(500));
        assert_eq!(a.response_excerpt, "boom");
        let a = sender
            .send(&format!("http://{addr}/redirect"), &[], b"{}".to_vec())
            .await;
        assert!(!a.succeeded());
        assert_eq!(a.status, Some(302));
        let a = sender
            .send(&format!("http://{addr}/big"), &[], b"{}".to_vec())
            .await;
        assert!(a.succeeded());
        assert_eq!(a.response_excerpt.len(), EXCERPT_LIMIT);
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let (addr, _) = server().await;
        let sender = Sender::new(
            UrlPolicy {
                allow_private: true,
            },
            Duration::from_millis(300),
        );
        let a = sender
            .send(&format!("http://{addr}/slow"), &[], b"{}".to_vec())
            .await;
        assert!(!a.succeeded());
        assert_eq!(a.status, None);
        assert!(
            a.error.as_deref().unwrap_or_default().contains("timed out"),
            "{a:?}"
        );
        assert!(a.duration < Duration::from_secs(2), "{a:?}");
    }

    #[tokio::test]
    async fn connection_refused_is_reported() {
        // Bind then drop to get a port that nothing listens on.
        let port = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let a = open()
            .send(&format!("http://127.0.0.1:{port}/"), &[], Vec::new())
            .await;
        let err = a.error.unwrap();
        assert!(
            err.starts_with("connect failed: could not connect to 127.0.0.1:"),
            "{err}"
        );
    }
}
