//! Interactions, the summary and batch reads: proto ⇄ domain, and the RPC bodies.
use super::{from_timestamp, invalid, parse_name, timestamp, to_proto};
use crate::{
    error::Error,
    interactions::{DIRECTIONS, InteractionRow, NewInteraction, TYPES},
    profile,
    service::{Customers, ListParams},
};
use crm_platform::{auth, error::Violations};
use crm_proto::crm::customers::v1::{
    BatchGetCustomersRequest, BatchGetCustomersResponse, CreateInteractionRequest, CustomerSummary,
    GetCustomerSummaryRequest, Interaction, ListInteractionsRequest, ListInteractionsResponse,
};
use crm_proto::crm::r#type::v1::Money;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Resource name: "customers/{customer}/interactions/{id}".
pub fn interaction_name(row: &InteractionRow) -> String {
    format!(
        "{}/interactions/{}",
        crate::domain::name_of(row.customer_id),
        row.id
    )
}

/// Proto of a stored interaction.
pub fn interaction_proto(row: &InteractionRow) -> Interaction {
    Interaction {
        name: interaction_name(row),
        id: row.id.to_string(),
        r#type: profile::enum_value(Some(&row.r#type), TYPES),
        direction: profile::enum_value(row.direction.as_deref(), DIRECTIONS),
        occur_time: Some(timestamp(row.occurred_at)),
        duration_seconds: row.duration_seconds,
        subject: row.subject.clone(),
        body: row.body.clone(),
        participants: row.participant_list(),
        user_id: row.user_id.map(|u| u.to_string()).unwrap_or_default(),
        outcome: row.outcome.clone(),
        create_time: Some(timestamp(row.created_at)),
    }
}

/// Free text kept exactly as written: spaces and line breaks around it are the writer's.
fn text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    if raw.chars().count() > max {
        v.add(
            format!("interaction.{field}"),
            format!("must be at most {max} characters"),
        );
    }
    raw.to_owned()
}

fn parse(i: &Interaction) -> Result<NewInteraction, Status> {
    let mut v = Violations::default();
    let kind = match profile::enum_name(i.r#type, TYPES) {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            v.add(
                "interaction.type",
                "is required (CALL, EMAIL, MEETING, VISIT or NOTE)",
            );
            None
        }
        Err(e) => {
            v.add("interaction.type", e);
            None
        }
    };
    let direction = profile::enum_name(i.direction, DIRECTIONS).unwrap_or_else(|e| {
        v.add("interaction.direction", e);
        None
    });
    if !(0..=7 * 24 * 3600).contains(&i.duration_seconds) {
        v.add(
            "interaction.duration_seconds",
            "must be between 0 and one week",
        );
    }
    let subject = text(&mut v, "subject", &i.subject, 200);
    let body = text(&mut v, "body", &i.body, 20_000);
    let outcome = text(&mut v, "outcome", &i.outcome, 200);
    if i.participants.len() > 50
        || i.participants
            .iter()
            .any(|p| p.trim().is_empty() || p.chars().count() > 200)
    {
        v.add(
            "interaction.participants",
            "at most 50, each 1-200 characters",
        );
    }
    let user_id = if i.user_id.is_empty() {
        None
    } else {
        Uuid::parse_str(&i.user_id)
            .map_err(|_| v.add("interaction.user_id", "must be a user id (UUID)"))
            .ok()
    };
    let occurred_at = i.occur_time.as_ref().and_then(from_timestamp);
    match kind {
        Some(kind) if v.is_empty() => Ok(NewInteraction {
            r#type: kind,
            direction,
            occurred_at,
            duration_seconds: i.duration_seconds,
            subject,
            body,
            participants: i.participants.iter().map(|p| p.trim().to_owned()).collect(),
            user_id,
            outcome,
        }),
        _ => Err(invalid(v)),
    }
}

pub(super) async fn create(
    c: &Customers,
    req: Request<CreateInteractionRequest>,
) -> Result<Response<Interaction>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(interaction) = r.interaction else {
        return Err(Error::field("interaction", "is required").into());
    };
    let new = parse(&interaction)?;
    let row = c.create_interaction(&principal, customer, new).await?;
    Ok(Response::new(interaction_proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListInteractionsRequest>,
) -> Result<Response<ListInteractionsResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next_page_token) = c.list_interactions(&principal, customer, &params).await?;
    Ok(Response::new(ListInteractionsResponse {
        interactions: rows.iter().map(interaction_proto).collect(),
        next_page_token,
    }))
}

pub(super) async fn summary(
    c: &Customers,
    req: Request<GetCustomerSummaryRequest>,
) -> Result<Response<CustomerSummary>, Status> {
    let principal = auth::principal(&req)?;
    let customer = parse_name(&req.get_ref().name, "name")?;
    Ok(Response::new(summary_proto(
        c.summary(&principal, customer).await?,
    )))
}

/// A summary as the API shows it.
pub(super) fn summary_proto(s: crate::interactions::Summary) -> CustomerSummary {
    CustomerSummary {
        customer: crate::domain::name_of(s.customer.id),
        interaction_count: s.interaction_count,
        last_interaction_time: s.last_interaction.map(timestamp),
        open_reminders: s.open_reminders,
        overdue_reminders: s.overdue_reminders,
        purchase_count: s.purchase_count,
        last_purchase_time: s.last_purchase.map(timestamp),
        lifetime_value: s
            .lifetime_value
            .into_iter()
            .map(|(currency_code, amount_minor)| Money {
                currency_code,
                amount_minor,
            })
            .collect(),
        lifecycle_stage: profile::enum_value(Some(&s.customer.lifecycle_stage), profile::STAGES),
        value_tier: profile::enum_value(Some(&s.customer.value_tier), profile::TIERS),
    }
}

pub(super) async fn batch_get(
    c: &Customers,
    req: Request<BatchGetCustomersRequest>,
) -> Result<Response<BatchGetCustomersResponse>, Status> {
    let principal = auth::principal(&req)?;
    let names = &req.get_ref().names;
    let mut ids = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        ids.push(parse_name(name, &format!("names[{i}]"))?);
    }
    let rows = c.batch_get(&principal, &ids).await?;
    let secrets = c.sensitive_of(&principal, &rows).await?;
    Ok(Response::new(BatchGetCustomersResponse {
        customers: rows
            .iter()
            .map(|r| {
                let mut customer = to_proto(r);
                super::sensitive::fill(&mut customer, secrets.get(&r.id));
                customer
            })
            .collect(),
    }))
}
