//! Hand-written tower layers of the standard server stack (see [`crate::grpc::standard_layers`]).
use crate::error::http_response;
use axum::{extract::MatchedPath, extract::Request, response::Response};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tower::{Layer, Service};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Requests this process has started to answer: background work (backfills) compares two
/// readings to learn whether users are being served, and slows down while they are.
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many requests this process has started to answer so far.
pub fn requests_served() -> u64 {
    REQUESTS.load(std::sync::atomic::Ordering::Relaxed)
}

fn is_grpc(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Counts requests and records their latency by method and result code.
///
/// Labels stay bounded: gRPC methods are labelled by their path only when the service exists
/// (an unknown method is "unknown"), REST routes by their route template, never the raw path.
#[derive(Clone, Copy, Default)]
pub struct MetricsLayer;

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;
    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics { inner }
    }
}

/// The route of a request, as a metrics label ("GET /api/v1/customers/{id}"), for handlers that
/// route by themselves: put into the response's extensions.
#[derive(Clone, Debug)]
pub struct RouteLabel(pub String);

/// See [`MetricsLayer`].
#[derive(Clone)]
pub struct Metrics<S> {
    inner: S,
}

impl<S> Service<Request> for Metrics<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> BoxFuture {
        let grpc = is_grpc(&req);
        let method = match req.extensions().get::<MatchedPath>() {
            Some(_) if grpc => req.uri().path().to_owned(),
            Some(route) => format!("{} {}", req.method(), route.as_str()),
            None => "unmatched".to_owned(),
        };
        let start = Instant::now();
        // Probes (the gateway checks its upstreams' health every few seconds) are not users.
        let path = req.uri().path();
        if !(path.starts_with("/grpc.health.")
            || matches!(path, "/healthz" | "/readyz" | "/metrics"))
        {
            REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let fut = self.inner.call(req);
        Box::pin(async move {
            let Ok(response) = fut.await;
            // A handler that routes by itself (the gateway's REST transcoder) names the route.
            let method = match response.extensions().get::<RouteLabel>() {
                Some(label) => label.0.clone(),
                None => method,
            };
            let protocol = if grpc { "grpc" } else { "http" };
            let code = if grpc {
                // Errors come back trailers-only (status in the headers); a success carries its
                // status in the trailers, which are not visible here.
                response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned()
            } else {
                response.status().as_u16().to_string()
            };
            // 12 = UNIMPLEMENTED: the method part of the path is caller-chosen.
            let method = if grpc && code == "12" {
                "unknown".to_owned()
            } else {
                method
            };
            metrics::counter!("crm_requests_total", "protocol" => protocol, "method" => method.clone(), "code" => code)
                .increment(1);
            metrics::histogram!("crm_request_duration_seconds", "protocol" => protocol, "method" => method)
                .record(start.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// Fails a request that runs longer than the limit: DEADLINE_EXCEEDED for gRPC callers,
/// 504 with an AIP-193 body for REST callers. The handler's future is dropped, which rolls
/// back an open transaction.
#[derive(Clone, Copy)]
pub struct TimeoutLayer(pub Duration);

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.0,
        }
    }
}

/// See [`TimeoutLayer`].
#[derive(Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> BoxFuture {
        let grpc = is_grpc(&req);
        // A gRPC caller's own deadline counts when it is shorter than the server's limit.
        let limit = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(grpc_timeout)
            .map_or(self.limit, |caller| caller.min(self.limit));
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(result) => result,
                Err(_) => {
                    let status = tonic::Status::deadline_exceeded("request timed out");
                    tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out");
                    if grpc {
                        Ok(status.into_http::<axum::body::Body>())
                    } else {
                        Ok(http_response(&status))
                    }
                }
            }
        })
    }
}

/// Parses a `grpc-timeout` header: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A handler that never finishes in time.
    fn slow()
    -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone
    {
        tower::service_fn(|_req: Request| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Infallible>(Response::new(axum::body::Body::empty()))
        })
    }

    fn request(content_type: &str) -> Request {
        http::Request::builder()
            .uri("/x")
            .header(http::header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout("5x"), None);
        assert_eq!(grpc_timeout("m"), None);
        assert_eq!(grpc_timeout("123456789S"), None, "at most 8 digits");
    }

    #[tokio::test]
    async fn a_callers_shorter_deadline_wins() {
        let svc = TimeoutLayer(Duration::from_secs(30)).layer(slow());
        let mut req = request("application/grpc");
        req.headers_mut()
            .insert("grpc-timeout", http::HeaderValue::from_static("20m"));
        let started = std::time::Instant::now();
        let res = svc.oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()["grpc-status"], "4");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the 20 ms deadline applied, not 30 s"
        );
    }

    #[tokio::test]
    async fn timeout_answers_in_each_protocol() {
        let svc = TimeoutLayer(Duration::from_millis(20)).layer(slow());
        let grpc = svc
            .clone()
            .oneshot(request("application/grpc"))
            .await
            .expect("infallible");
        assert_eq!(
            grpc.status(),
            http::StatusCode::OK,
            "gRPC errors travel in grpc-status"
        );
        assert_eq!(grpc.headers()["grpc-status"], "4", "DEADLINE_EXCEEDED");
        let rest = svc
            .oneshot(request("application/json"))
            .await
            .expect("infallible");
        assert_eq!(rest.status(), http::StatusCode::GATEWAY_TIMEOUT);
    }
}
