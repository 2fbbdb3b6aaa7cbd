//! The request being served: its id (`x-request-id`) and trace, for the records written while
//! serving it (audit trails, events), without passing them through every function.
tokio::task_local! {
    static REQUEST_ID: String;
}

/// Middleware of the standard stack: runs the rest of the request with its id in scope.
pub async fn scope(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// The id of the request being served; empty outside a request (jobs, start-up).
pub fn current_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The trace id of the current span (32 hex digits); empty when there is no trace.
pub fn current_trace_id() -> String {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let span = context.span();
    let sc = span.span_context();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}
