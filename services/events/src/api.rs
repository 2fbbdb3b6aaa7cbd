//! The gRPC adapter of webhook subscriptions: request checks, proto conversion, errors → status.
use crate::{
    error::Error,
    store::{DeliveryRow, Store, SubscriptionRow},
    webhook::{self, UrlPolicy},
};
use crm_platform::{auth, idempotency, paging::ListParams, permissions};
use crm_proto::crm::events::v1::{
    CreateWebhookSubscriptionRequest, DeleteWebhookSubscriptionRequest,
    GetWebhookSubscriptionRequest, ListWebhookDeliveriesRequest, ListWebhookDeliveriesResponse,
    ListWebhookSubscriptionsRequest, ListWebhookSubscriptionsResponse,
    UpdateWebhookSubscriptionRequest, WebhookDelivery, WebhookSubscription,
    webhook_delivery::State as DeliveryState, webhook_service_server::WebhookService,
    webhook_subscription::State,
};
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The permission each method requires.
pub const PERMISSIONS: crm_platform::auth::PermissionTable = &[
    (
        "/crm.events.v1.EventService/WatchEvents",
        permissions::EVENTS_STREAM_READ,
    ),
    (
        "/crm.events.v1.WebhookService/CreateWebhookSubscription",
        permissions::EVENTS_WEBHOOK_WRITE,
    ),
    (
        "/crm.events.v1.WebhookService/GetWebhookSubscription",
        permissions::EVENTS_WEBHOOK_READ,
    ),
    (
        "/crm.events.v1.WebhookService/ListWebhookSubscriptions",
        permissions::EVENTS_WEBHOOK_READ,
    ),
    (
        "/crm.events.v1.WebhookService/UpdateWebhookSubscription",
        permissions::EVENTS_WEBHOOK_WRITE,
    ),
    (
        "/crm.events.v1.WebhookService/DeleteWebhookSubscription",
        permissions::EVENTS_WEBHOOK_WRITE,
    ),
    (
        "/crm.events.v1.WebhookService/ListWebhookDeliveries",
        permissions::EVENTS_WEBHOOK_READ,
    ),
];

/// Longest list of type patterns a subscription may hold.
const MAX_TYPES: usize = 100;

/// `crm.events.v1.WebhookService`.
#[derive(Clone)]
pub struct Api {
    store: Store,
    policy: UrlPolicy,
}

impl Api {
    /// The adapter; `policy` decides which URLs subscriptions may have.
    pub fn new(store: Store, policy: UrlPolicy) -> Self {
        Self { store, policy }
    }

    fn check_url(&self, url: &str, field: &str) -> Result<(), Error> {
        if url.is_empty() {
            return Err(Error::field(field, "is required"));
        }
        webhook::check_url(url, &self.policy)
            .map(drop)
            .map_err(|e| Error::field(field, e.to_string()))
    }
}

fn check_types(types: &[String], field: &str) -> Result<String, Error> {
    if types.len() > MAX_TYPES {
        return Err(Error::field(field, format!("at most {MAX_TYPES} types")));
    }
    for t in types {
        let valid = t.starts_with("crm.")
            && t.len() <= 200
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if !valid {
            return Err(Error::field(
                field,
                format!(
                    "{t:?} is not an event type such as \"crm.customers.v1.customer.created\" or a prefix ending with \".\""
                ),
            ));
        }
    }
    Ok(serde_json::to_string(types).unwrap_or_else(|_| "[]".to_owned()))
}

use crm_platform::proto_time::timestamp;

fn name_of(id: Uuid) -> String {
    format!("webhookSubscriptions/{id}")
}

fn parse_name(name: &str, field: &str) -> Result<Uuid, Error> {
    name.strip_prefix("webhookSubscriptions/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::field(field, "must be \"webhookSubscriptions/{id}\""))
}

/// Proto of a stored subscription (never with its secret).
fn to_proto(row: &SubscriptionRow) -> WebhookSubscription {
    WebhookSubscription {
        name: name_of(row.id),
        url: row.url.clone(),
        event_types: row.types(),
        state: if row.state == "ACTIVE" {
            State::Active
        } else {
            State::Disabled
        } as i32,
        disabled_reason: row.disabled_reason.clone(),
        secret: String::new(),
        description: row.description.clone(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    }
}

fn delivery_proto(row: &DeliveryRow) -> WebhookDelivery {
    let state = match row.state.as_str() {
        "DELIVERED" => DeliveryState::Delivered,
        "FAILED" => DeliveryState::Failed,
        _ => DeliveryState::Pending,
    };
    WebhookDelivery {
        name: format!("{}/deliveries/{}", name_of(row.subscription_id), row.id),
        event_id: row.event_id.clone(),
        event_type: row.event_type.clone(),
        state: state as i32,
        attempts: row.attempts,
        last_status: row.last_status,
        last_error: row.last_error.clone(),
        next_attempt_time: row.next_attempt_at.map(timestamp),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    }
}

async fn get(store: &Store, id: Uuid) -> Result<SubscriptionRow, Error> {
    store
        .subscription(id)
        .await?
        .ok_or_else(|| Error::NotFound(name_of(id)))
}

#[tonic::async_trait]
impl WebhookService for Api {
    async fn create_webhook_subscription(
        &self,
        req: Request<CreateWebhookSubscriptionRequest>,
    ) -> Result<Response<WebhookSubscription>, Status> {
        const METHOD: &str = "CreateWebhookSubscription";
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let Some(sub) = r.subscription else {
            return Err(Error::field("subscription", "is required").into());
        };
        self.check_url(&sub.url, "subscription.url")?;
        let types = check_types(&sub.event_types, "subscription.event_types")?;
        if sub.description.chars().count() > 500 {
            return Err(Error::field("subscription.description", "at most 500 characters").into());
        }
        let request_id = idempotency::check_request_id(&r.request_id)
            .map_err(|e| Status::from(Error::field("request_id", e)))?;
        let fingerprint = idempotency::fingerprint(&sub.encode_to_vec());
        if let Some(id) = request_id {
            use idempotency::Replay;
            match idempotency::lookup(self.store.db(), METHOD, id, &fingerprint)
                .await
                .map_err(Error::from)?
            {
                Replay::First => {}
                Replay::Again(bytes) => {
                    return WebhookSubscription::decode(bytes.as_slice())
                        .map(Response::new)
                        .map_err(|e| Error::Corrupt(e.to_string()).into());
                }
                Replay::Reused => {
                    return Err(Error::field(
                        "request_id",
                        "was already used for a different request",
                    )
                    .into());
                }
            }
        }
        let now = crm_platform::db::now();
        let row = SubscriptionRow {
            id: Uuid::now_v7(),
            url: sub.url,
            event_types: types,
            state: "ACTIVE".to_owned(),
            disabled_reason: String::new(),
            secret: webhook::generate_secret(),
            description: sub.description,
            creator: serde_json::to_string(&principal)
                .map_err(|e| Error::Corrupt(e.to_string()))?,
            created_at: now,
            updated_at: now,
        };
        self.store
            .insert_subscription(&row)
            .await
            .map_err(Error::from)?;
        tracing::info!(subscription = %row.id, actor = %principal.actor(), "webhook subscription created");
        let mut created = to_proto(&row);
        created.secret = row.secret.clone();
        if let Some(id) = request_id {
            // The retry of a create gets the same answer, secret included: it is the caller's.
            idempotency::remember(
                self.store.db(),
                id,
                METHOD,
                &fingerprint,
                &created.encode_to_vec(),
            )
            .await
            .map_err(Error::from)?;
        }
        Ok(Response::new(created))
    }

    async fn get_webhook_subscription(
        &self,
        req: Request<GetWebhookSubscriptionRequest>,
    ) -> Result<Response<WebhookSubscription>, Status> {
        let id = parse_name(&req.get_ref().name, "name")?;
        Ok(Response::new(to_proto(&get(&self.store, id).await?)))
    }

    async fn list_webhook_subscriptions(
        &self,
        req: Request<ListWebhookSubscriptionsRequest>,
    ) -> Result<Response<ListWebhookSubscriptionsResponse>, Status> {
        let r = req.into_inner();
        let params = ListParams {
            page_size: r.page_size,
            page_token: r.page_token,
            ..ListParams::default()
        };
        let (rows, next_page_token) = self.store.list_subscriptions(&params).await?;
        Ok(Response::new(ListWebhookSubscriptionsResponse {
            subscriptions: rows.iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn update_webhook_subscription(
        &self,
        req: Request<UpdateWebhookSubscriptionRequest>,
    ) -> Result<Response<WebhookSubscription>, Status> {
        let r = req.into_inner();
        let id = parse_name(&r.name, "name")?;
        let mut row = get(&self.store, id).await?;
        if !r.url.is_empty() {
            self.check_url(&r.url, "url")?;
            row.url = r.url;
        }
        if r.replace_event_types {
            row.event_types = check_types(&r.event_types, "event_types")?;
        } else if !r.event_types.is_empty() {
            return Err(
                Error::field("event_types", "set replace_event_types to change the types").into(),
            );
        }
        match State::try_from(r.state) {
            Ok(State::Active) => {
                row.state = "ACTIVE".to_owned();
                row.disabled_reason.clear();
            }
            Ok(State::Disabled) => row.state = "DISABLED".to_owned(),
            Ok(State::Unspecified) => {}
            Err(_) => return Err(Error::field("state", "unknown state").into()),
        }
        row.updated_at = crm_platform::db::now();
        if !self
            .store
            .update_subscription(&row)
            .await
            .map_err(Error::from)?
        {
            return Err(Error::NotFound(name_of(id)).into());
        }
        Ok(Response::new(to_proto(&row)))
    }

    async fn delete_webhook_subscription(
        &self,
        req: Request<DeleteWebhookSubscriptionRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let id = parse_name(&req.get_ref().name, "name")?;
        if !self
            .store
            .delete_subscription(id)
            .await
            .map_err(Error::from)?
        {
            return Err(Error::NotFound(name_of(id)).into());
        }
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<ListWebhookDeliveriesRequest>,
    ) -> Result<Response<ListWebhookDeliveriesResponse>, Status> {
        let r = req.into_inner();
        let id = parse_name(&r.parent, "parent")?;
        get(&self.store, id).await?;
        let params = ListParams {
            page_size: r.page_size,
            page_token: r.page_token,
            ..ListParams::default()
        };
        let (rows, next_page_token) = self.store.deliveries(id, &params).await?;
        Ok(Response::new(ListWebhookDeliveriesResponse {
            deliveries: rows.iter().map(delivery_proto).collect(),
            next_page_token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_patterns_are_checked() {
        assert!(check_types(&["crm.customers.v1.customer.".into()], "t").is_ok());
        assert!(check_types(&["crm.customers.v1.customer.created".into()], "t").is_ok());
        assert!(matches!(
            check_types(&["customers; drop".into()], "event_types"),
            Err(Error::InvalidArgument(v)) if v[0].field == "event_types"
        ));
    }
}
