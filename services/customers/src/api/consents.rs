//! Consents: proto ⇄ domain, and the RPC bodies.
use super::{from_timestamp, invalid, parse_name, timestamp};
use crate::{
    consents::{ConsentRow, NewConsent, PURPOSES, STATUSES},
    error::Error,
    profile,
    service::{Customers, ListParams},
};
use crm_platform::{auth, error::Violations};
use crm_proto::crm::customers::v1::{
    Consent, ListConsentsRequest, ListConsentsResponse, RecordConsentRequest,
};
use tonic::{Request, Response, Status};

/// Resource name: "customers/{customer}/consents/{id}".
pub fn consent_name(row: &ConsentRow) -> String {
    format!(
        "{}/consents/{}",
        crate::domain::name_of(row.customer_id),
        row.id
    )
}

/// Proto of a ledger entry.
pub fn consent_proto(row: &ConsentRow) -> Consent {
    Consent {
        name: consent_name(row),
        id: row.id.to_string(),
        purpose: profile::enum_value(Some(&row.purpose), PURPOSES),
        status: profile::enum_value(Some(&row.status), STATUSES),
        decide_time: Some(timestamp(row.decided_at)),
        source: row.source.clone(),
        evidence: row.evidence.clone(),
        recorded_by: row.recorded_by.clone(),
        create_time: Some(timestamp(row.created_at)),
    }
}

fn required(
    v: &mut Violations,
    field: &str,
    value: i32,
    names: &'static [&'static str],
) -> Option<&'static str> {
    match profile::enum_name(value, names) {
        Ok(Some(n)) => Some(n),
        Ok(None) => {
            v.add(field, format!("is required ({})", names.join(", ")));
            None
        }
        Err(e) => {
            v.add(field, e);
            None
        }
    }
}

pub(super) async fn record(
    c: &Customers,
    req: Request<RecordConsentRequest>,
) -> Result<Response<Consent>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(consent) = r.consent else {
        return Err(Error::field("consent", "is required").into());
    };
    let mut v = Violations::default();
    let purpose = required(&mut v, "consent.purpose", consent.purpose, PURPOSES);
    let status = required(&mut v, "consent.status", consent.status, STATUSES);
    let source = consent.source.trim();
    if source.is_empty() || source.chars().count() > 100 {
        v.add("consent.source", "is required, at most 100 characters");
    }
    if consent.evidence.chars().count() > 1000 {
        v.add("consent.evidence", "must be at most 1000 characters");
    }
    let decided_at = consent.decide_time.as_ref().and_then(from_timestamp);
    let (Some(purpose), Some(status)) = (purpose, status) else {
        return Err(invalid(v));
    };
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let new = NewConsent {
        purpose,
        status,
        decided_at,
        source: source.to_owned(),
        // Free text, kept as written.
        evidence: consent.evidence.clone(),
    };
    let row = c.record_consent(&principal, customer, new).await?;
    Ok(Response::new(consent_proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListConsentsRequest>,
) -> Result<Response<ListConsentsResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next_page_token, current) = c.list_consents(&principal, customer, &params).await?;
    Ok(Response::new(ListConsentsResponse {
        consents: rows.iter().map(consent_proto).collect(),
        next_page_token,
        current: current.iter().map(consent_proto).collect(),
    }))
}
