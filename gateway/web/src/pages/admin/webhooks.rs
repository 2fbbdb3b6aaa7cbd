//! Webhook subscriptions: the list, subscribing an endpoint (its signing secret is shown once),
//! enabling and disabling, deleting, and the recent deliveries of one subscription.
use super::{AdminNav, Outcome, clients::SecretPage, entries, id_of, request_id};
use crate::{
    Web, call,
    guard::Ctx,
    pages::{Chrome, error_page, http_status, param, render},
};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::events::v1::{
    CreateWebhookSubscriptionRequest, DeleteWebhookSubscriptionRequest,
    GetWebhookSubscriptionRequest, ListWebhookDeliveriesRequest, ListWebhookSubscriptionsRequest,
    UpdateWebhookSubscriptionRequest, WebhookDelivery, WebhookSubscription, webhook_delivery,
    webhook_service_client::WebhookServiceClient, webhook_subscription::State as SubState,
};
use http::StatusCode;

/// The webhooks page.
#[derive(Template)]
#[template(path = "admin/webhooks.html")]
pub struct WebhooksPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The subscriptions, newest first.
    pub subscriptions: Vec<WebhookSubscription>,
    /// Whether the user may change them.
    pub can_write: bool,
    /// The create form's idempotency key.
    pub request_id: String,
}

impl WebhooksPage {
    /// The id of a subscription.
    pub fn id<'a>(&self, s: &'a WebhookSubscription) -> &'a str {
        id_of(&s.name)
    }

    /// Whether deliveries are made.
    pub fn is_active(&self, s: &WebhookSubscription) -> bool {
        s.state == SubState::Active as i32
    }
}

/// One subscription and its recent deliveries.
#[derive(Template)]
#[template(path = "admin/webhook.html")]
pub struct WebhookPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// Nothing to report.
    pub out: Outcome,
    /// The subscription.
    pub subscription: WebhookSubscription,
    /// Its deliveries, newest first.
    pub deliveries: Vec<WebhookDelivery>,
    /// The query string of the next page ("" last).
    pub next: String,
}

impl WebhookPage {
    /// Whether deliveries are made.
    pub fn is_active(&self) -> bool {
        self.subscription.state == SubState::Active as i32
    }

    /// The catalog key of a delivery's state.
    pub fn state_key(&self, delivery: &WebhookDelivery) -> &'static str {
        match webhook_delivery::State::try_from(delivery.state) {
            Ok(webhook_delivery::State::Pending) => "admin.delivery_pending",
            Ok(webhook_delivery::State::Delivered) => "admin.delivery_delivered",
            Ok(webhook_delivery::State::Failed) => "admin.delivery_failed",
            _ => "admin.delivery_unknown",
        }
    }
}

/// Messages of `?done=`.
const DONE: &[(&str, &str)] = &[
    ("enabled", "admin.webhook_enabled"),
    ("disabled", "admin.webhook_disabled"),
    ("deleted", "admin.webhook_deleted"),
];

fn client(web: &Web) -> WebhookServiceClient<tonic::transport::Channel> {
    WebhookServiceClient::new(web.upstreams().events.clone())
}

async fn show(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let request = ListWebhookSubscriptionsRequest {
        page_size: 1000,
        page_token: String::new(),
    };
    let subscriptions = match client(web)
        .list_webhook_subscriptions(call(ctx, request))
        .await
    {
        Ok(r) => r.into_inner().subscriptions,
        Err(status) => return error_page(ctx, &status),
    };
    let page = WebhooksPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/webhooks"),
        out,
        subscriptions,
        can_write: ctx.can("events.webhook.write"),
        request_id: request_id(),
    };
    (code, render(&page)).into_response()
}

/// GET /admin/webhooks
pub async fn list(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    show(&web, &ctx, Outcome::from_query(&q, DONE), StatusCode::OK).await
}

/// POST /admin/webhooks: subscribes an endpoint and shows its signing secret once.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let subscription = WebhookSubscription {
        url: param(&form, "url").trim().to_owned(),
        event_types: entries(param(&form, "event_types")),
        description: param(&form, "description").trim().to_owned(),
        ..Default::default()
    };
    let request = CreateWebhookSubscriptionRequest {
        subscription: Some(subscription),
        request_id: param(&form, "request_id").to_owned(),
    };
    match client(&web)
        .create_webhook_subscription(call(&ctx, request))
        .await
    {
        Ok(created) => {
            let created = created.into_inner();
            render(&SecretPage {
                c: Chrome::new(&ctx, "admin"),
                nav: AdminNav::new(&ctx, "/admin/webhooks"),
                out: Outcome::default(),
                title: "admin.webhook_created",
                identifier_label: "admin.webhook_url",
                identifier: created.url.clone(),
                back: format!("/admin/webhooks#webhook-{}", id_of(&created.name)),
                secret: created.secret,
            })
        }
        Err(status) => {
            let out = Outcome::refused(&status, "create", "", form);
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/webhooks/{id}/state: enables or disables a subscription.
pub async fn set_state(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let state = match param(&form, "state") {
        "ACTIVE" => SubState::Active,
        _ => SubState::Disabled,
    };
    let request = UpdateWebhookSubscriptionRequest {
        name: format!("webhookSubscriptions/{id}"),
        state: state as i32,
        ..Default::default()
    };
    match client(&web)
        .update_webhook_subscription(call(&ctx, request))
        .await
    {
        Ok(_) => {
            let done = if state == SubState::Active {
                "enabled"
            } else {
                "disabled"
            };
            Redirect::to(&format!("/admin/webhooks?done={done}#webhook-{id}")).into_response()
        }
        Err(status) => {
            let out = Outcome::refused(&status, "state", &id, Vec::new());
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/webhooks/{id}/delete: deletes a subscription and its delivery log.
pub async fn delete(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let request = DeleteWebhookSubscriptionRequest {
        name: format!("webhookSubscriptions/{id}"),
    };
    match client(&web)
        .delete_webhook_subscription(call(&ctx, request))
        .await
    {
        Ok(_) => Redirect::to("/admin/webhooks?done=deleted").into_response(),
        Err(status) => {
            let out = Outcome::refused(&status, "delete", &id, Vec::new());
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// GET /admin/webhooks/{id}: a subscription and its recent deliveries.
pub async fn detail(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let name = format!("webhookSubscriptions/{id}");
    let mut subscriptions = client(&web);
    let mut deliveries = client(&web);
    let get = GetWebhookSubscriptionRequest { name: name.clone() };
    let list = ListWebhookDeliveriesRequest {
        parent: name,
        page_size: 50,
        page_token: param(&q, "page_token").to_owned(),
    };
    let (subscription, page) = tokio::join!(
        subscriptions.get_webhook_subscription(call(&ctx, get)),
        deliveries.list_webhook_deliveries(call(&ctx, list)),
    );
    let subscription = match subscription {
        Ok(s) => s.into_inner(),
        Err(status) => return error_page(&ctx, &status),
    };
    let page = match page {
        Ok(p) => p.into_inner(),
        Err(status) => return error_page(&ctx, &status),
    };
    let next = if page.next_page_token.is_empty() {
        String::new()
    } else {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("page_token", &page.next_page_token)
            .finish()
    };
    render(&WebhookPage {
        c: Chrome::new(&ctx, "admin"),
        nav: AdminNav::new(&ctx, "/admin/webhooks"),
        out: Outcome::default(),
        subscription,
        deliveries: page.deliveries,
        next,
    })
}
