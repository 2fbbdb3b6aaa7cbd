//! REST for the events service: webhook subscriptions under `/api/v1/webhookSubscriptions`, and
//! the change stream as Server-Sent Events at `GET /api/v1/events:watch`.
use crate::{
    mirror::{call, doc, route},
    openapi::{Body, RouteDoc},
    rest::{Clients, request},
};
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::MethodRouter,
};
use crm_platform::error::{http_response, json_body};
use crm_proto::crm::events::v1::WatchEventsRequest;
use std::collections::HashMap;
use tokio_stream::StreamExt;

const EMPTY: &str = "google.protobuf.Empty";
const SUBSCRIPTION: &str = "crm.events.v1.WebhookSubscription";

/// The SSE route's path.
pub const WATCH_PATH: &str = "/api/v1/events:watch";

/// Every events REST route.
pub fn routes() -> Vec<(RouteDoc, MethodRouter<Clients>)> {
    vec![
        route(
            doc(
                "post",
                "/api/v1/webhookSubscriptions",
                "CreateWebhookSubscription",
                "crm.events.v1.CreateWebhookSubscriptionRequest",
                Body::Field("subscription"),
                SUBSCRIPTION,
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.create_webhook_subscription),
        ),
        route(
            doc(
                "get",
                "/api/v1/webhookSubscriptions",
                "ListWebhookSubscriptions",
                "crm.events.v1.ListWebhookSubscriptionsRequest",
                Body::None,
                "crm.events.v1.ListWebhookSubscriptionsResponse",
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.list_webhook_subscriptions),
        ),
        route(
            doc(
                "get",
                "/api/v1/webhookSubscriptions/{id}",
                "GetWebhookSubscription",
                "crm.events.v1.GetWebhookSubscriptionRequest",
                Body::None,
                SUBSCRIPTION,
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.get_webhook_subscription),
        ),
        route(
            doc(
                "patch",
                "/api/v1/webhookSubscriptions/{id}",
                "UpdateWebhookSubscription",
                "crm.events.v1.UpdateWebhookSubscriptionRequest",
                Body::Whole,
                SUBSCRIPTION,
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.update_webhook_subscription),
        ),
        route(
            doc(
                "delete",
                "/api/v1/webhookSubscriptions/{id}",
                "DeleteWebhookSubscription",
                "crm.events.v1.DeleteWebhookSubscriptionRequest",
                Body::None,
                EMPTY,
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.delete_webhook_subscription),
        ),
        route(
            doc(
                "get",
                "/api/v1/webhookSubscriptions/{id}/deliveries",
                "ListWebhookDeliveries",
                "crm.events.v1.ListWebhookDeliveriesRequest",
                Body::None,
                "crm.events.v1.ListWebhookDeliveriesResponse",
                "events",
            ),
            "webhookSubscriptions",
            call!(webhooks.list_webhook_deliveries),
        ),
        (
            doc(
                "get",
                WATCH_PATH,
                "WatchEvents",
                "crm.events.v1.WatchEventsRequest",
                Body::None,
                "crm.events.v1.WatchEventsResponse",
                "events",
            ),
            axum::routing::get(watch),
        ),
    ]
}

fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The change stream as Server-Sent Events: `id` is the cursor (browsers and SSE clients send
/// it back as `Last-Event-ID` when they reconnect, so the stream resumes without gaps), `event`
/// the event type, `data` the event as CloudEvents JSON. Query: `sources`, `types` (comma
/// separated), `cursor`. An error ends the stream with an `error` event.
async fn watch(
    State(c): State<Clients>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cursor = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| q.get("cursor").cloned())
        .unwrap_or_default();
    let message = WatchEventsRequest {
        sources: list(q.get("sources")),
        types: list(q.get("types")),
        cursor,
    };
    let stream = match c
        .events
        .clone()
        .watch_events(request(&headers, message))
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return http_response(&status),
    };
    // Ends at shutdown: an open stream would otherwise hold the gateway's drain forever.
    let stream = futures::StreamExt::take_until(stream, c.shutdown.wait());
    let events = stream.map(|item| {
        Ok::<_, std::convert::Infallible>(match item {
            Ok(r) => {
                let event = r.event.unwrap_or_default();
                SseEvent::default()
                    .id(r.cursor)
                    .event(event.r#type.clone())
                    .data(crm_platform::events::json::cloudevent(&event).to_string())
            }
            Err(status) => SseEvent::default()
                .event("error")
                .data(json_body(&status).to_string()),
        })
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
