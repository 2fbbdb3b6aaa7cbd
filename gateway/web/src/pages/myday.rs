//! "My day": the home page. It is a column of cards, each a template plus a data call made
//! with the user's token. A service adds its card (SLA breaches, contracts expiring, deals
//! closing this month) by writing a [`Card`] and listing it in [`CARDS`]; the page loads every
//! card at once, and a card whose service is down shows as unavailable instead of failing
//! the page.
use super::{Chrome, render};
use crate::{Web, call, guard::Ctx, i18n::Tr};
use askama::Template;
use axum::{Extension, extract::State, response::Response};
use crm_proto::crm::customers::v1::{
    Interaction, ListCustomersRequest, ListInteractionsRequest, ListMyRemindersRequest, Reminder,
    customer_service_client::CustomerServiceClient,
};
use futures::future::{BoxFuture, join_all};

/// A card of "my day": its data call renders it to HTML, or fails with the catalog key of
/// why (shown in its place).
pub struct Card {
    /// Stable id (the card's element id).
    pub id: &'static str,
    /// Catalog key of the card's title.
    pub title: &'static str,
    /// Loads the card's data as the user and renders it.
    pub load: fn(Web, Ctx) -> BoxFuture<'static, Result<String, &'static str>>,
}

/// The cards of "my day", in order. Later services append theirs here.
pub const CARDS: &[Card] = &[
    Card {
        id: "reminders",
        title: "myday.reminders",
        load: |web, ctx| Box::pin(reminders(web, ctx)),
    },
    Card {
        id: "interactions",
        title: "myday.interactions",
        load: |web, ctx| Box::pin(recent_interactions(web, ctx)),
    },
];

/// A loaded card.
pub struct Loaded {
    /// Its id.
    pub id: &'static str,
    /// Catalog key of its title.
    pub title: &'static str,
    /// The rendered body, or the catalog key of why it is missing.
    pub body: Result<String, &'static str>,
}

/// The page.
#[derive(Template)]
#[template(path = "myday.html")]
pub struct MyDayPage {
    /// The chrome.
    pub c: Chrome,
    /// The cards.
    pub cards: Vec<Loaded>,
}

/// GET /
pub async fn page(State(web): State<Web>, Extension(ctx): Extension<Ctx>) -> Response {
    let bodies = join_all(
        CARDS
            .iter()
            .map(|card| (card.load)(web.clone(), ctx.clone())),
    )
    .await;
    let cards = CARDS
        .iter()
        .zip(bodies)
        .map(|(card, body)| Loaded {
            id: card.id,
            title: card.title,
            body,
        })
        .collect();
    render(&MyDayPage {
        c: Chrome::new(&ctx, "myday"),
        cards,
    })
}

/// The reminders card.
#[derive(Template)]
#[template(path = "cards/reminders.html")]
struct RemindersCard {
    tr: Tr,
    reminders: Vec<Reminder>,
}

fn card_html(template: &impl Template) -> Result<String, &'static str> {
    template.render().map_err(|error| {
        tracing::error!(%error, "card template failed");
        "error.internal"
    })
}

/// My open reminders, overdue first, then by due time.
async fn reminders(web: Web, ctx: Ctx) -> Result<String, &'static str> {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let request = ListMyRemindersRequest {
        due_before: None,
        page_size: 50,
        page_token: String::new(),
    };
    let mut reminders = client
        .list_my_reminders(call(&ctx, request))
        .await
        .map_err(|s| super::refusal_key(&s))?
        .into_inner()
        .reminders;
    reminders.sort_by_key(|r| {
        (
            !r.overdue,
            r.due_time.as_ref().map(|t| (t.seconds, t.nanos)),
        )
    });
    card_html(&RemindersCard {
        tr: ctx.tr,
        reminders,
    })
}

/// The recent interactions card.
#[derive(Template)]
#[template(path = "cards/interactions.html")]
struct InteractionsCard {
    tr: Tr,
    /// Newest first.
    items: Vec<Recent>,
}

/// One interaction on one of my customers.
struct Recent {
    customer_id: String,
    customer: String,
    /// Catalog key of the interaction's type.
    kind: &'static str,
    interaction: Interaction,
}

/// The latest interactions on the customers I own: my ten most recently changed customers,
/// their latest interactions, merged newest first.
async fn recent_interactions(web: Web, ctx: Ctx) -> Result<String, &'static str> {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let mine = ListCustomersRequest {
        page_size: 10,
        page_token: String::new(),
        filter: format!("owner_id = \"{}\"", ctx.session.user),
        order_by: "update_time desc".into(),
    };
    let customers = client
        .list_customers(call(&ctx, mine))
        .await
        .map_err(|s| super::refusal_key(&s))?
        .into_inner()
        .customers;
    let calls = customers.iter().map(|customer| {
        let mut client = client.clone();
        let request = call(
            &ctx,
            ListInteractionsRequest {
                parent: customer.name.clone(),
                page_size: 5,
                page_token: String::new(),
            },
        );
        async move { client.list_interactions(request).await }
    });
    let mut items = Vec::new();
    for (customer, listed) in customers.iter().zip(join_all(calls).await) {
        let listed = listed.map_err(|s| super::refusal_key(&s))?.into_inner();
        items.extend(listed.interactions.into_iter().map(|interaction| Recent {
            customer_id: customer.id.clone(),
            customer: customer.display_name.clone(),
            kind: super::customers::interaction_key(interaction.r#type),
            interaction,
        }));
    }
    items.sort_by_key(|r| {
        std::cmp::Reverse(
            r.interaction
                .occur_time
                .as_ref()
                .map(|t| (t.seconds, t.nanos)),
        )
    });
    items.truncate(10);
    card_html(&InteractionsCard { tr: ctx.tr, items })
}
