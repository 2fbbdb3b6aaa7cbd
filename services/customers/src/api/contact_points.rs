//! Contact points: proto ⇄ domain, and the RPC bodies.
use super::{invalid, parse_child_name, parse_name, timestamp};
use crate::{
    contact_points::{Address, ContactPointChange, ContactPointRow, KINDS, NewContactPoint},
    domain::{Email, Phone},
    error::Error,
    profile,
    service::Customers,
};
use crm_platform::{auth, error::Violations};
use crm_proto::crm::customers::v1::{
    AddContactPointRequest, ContactPoint, DeleteContactPointRequest, ListContactPointsRequest,
    ListContactPointsResponse, PostalAddress, UpdateContactPointRequest,
};
use tonic::{Request, Response, Status};

pub(super) fn proto(row: &ContactPointRow) -> ContactPoint {
    let mut p = ContactPoint {
        name: format!(
            "{}/contactPoints/{}",
            crate::domain::name_of(row.customer_id),
            row.id
        ),
        id: row.id.to_string(),
        kind: profile::enum_value(Some(&row.kind), KINDS),
        label: row.label.clone(),
        primary: row.is_primary,
        create_time: Some(timestamp(row.created_at)),
        ..ContactPoint::default()
    };
    match row.kind.as_str() {
        "EMAIL" => p.email = row.value.clone(),
        "PHONE" => p.phone = row.value.clone(),
        _ => {
            p.address = row.address().map(|a| PostalAddress {
                country: a.country,
                region: a.region,
                city: a.city,
                postal_code: a.postal_code,
                lines: a.lines,
                as_entered: a.as_entered,
            })
        }
    }
    p
}

fn part(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let t = raw.trim();
    if t.chars().count() > max || t.chars().any(char::is_control) {
        v.add(
            format!("contact_point.address.{field}"),
            format!("must be at most {max} characters, one line"),
        );
    }
    t.to_owned()
}

fn address(a: &PostalAddress, v: &mut Violations) -> Address {
    let country = a.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        v.add(
            "contact_point.address.country",
            "is required: an ISO 3166-1 alpha-2 code such as \"CN\"",
        );
    }
    if a.lines.len() > 4 {
        v.add("contact_point.address.lines", "at most 4 lines");
    }
    let lines: Vec<String> = a.lines.iter().map(|l| part(v, "lines", l, 200)).collect();
    if a.as_entered.chars().count() > 1000 {
        v.add(
            "contact_point.address.as_entered",
            "must be at most 1000 characters",
        );
    }
    if lines.iter().all(String::is_empty) && a.as_entered.trim().is_empty() {
        v.add(
            "contact_point.address.lines",
            "give the street lines or the address as entered",
        );
    }
    Address {
        country,
        region: part(v, "region", &a.region, 100),
        city: part(v, "city", &a.city, 100),
        postal_code: part(v, "postal_code", &a.postal_code, 20),
        lines,
        // Kept exactly as written: the parts are the normalized view.
        as_entered: a.as_entered.clone(),
    }
}

fn parse(p: &ContactPoint) -> Result<NewContactPoint, Status> {
    let mut v = Violations::default();
    let label = p.label.trim().to_owned();
    if label.chars().count() > 50 {
        v.add("contact_point.label", "must be at most 50 characters");
    }
    let value = match profile::enum_name(p.kind, KINDS) {
        Ok(Some("EMAIL")) => Email::parse(&p.email)
            .map(|e| e.as_str().to_owned())
            .map_err(|e| v.add("contact_point.email", e))
            .ok()
            .map(|value| ("EMAIL", value)),
        Ok(Some("PHONE")) => Phone::parse(&p.phone)
            .map(|e| e.as_str().to_owned())
            .map_err(|e| v.add("contact_point.phone", e))
            .ok()
            .map(|value| ("PHONE", value)),
        Ok(Some(_)) => match &p.address {
            Some(a) => {
                let parsed = address(a, &mut v);
                serde_json::to_string(&parsed)
                    .ok()
                    .map(|value| ("ADDRESS", value))
            }
            None => {
                v.add("contact_point.address", "is required for ADDRESS");
                None
            }
        },
        Ok(None) => {
            v.add(
                "contact_point.kind",
                "is required (EMAIL, PHONE or ADDRESS)",
            );
            None
        }
        Err(e) => {
            v.add("contact_point.kind", e);
            None
        }
    };
    match value {
        Some((kind, value)) if v.is_empty() => Ok(NewContactPoint {
            kind,
            label,
            primary: p.primary,
            value,
        }),
        _ => Err(invalid(v)),
    }
}

pub(super) async fn add(
    c: &Customers,
    req: Request<AddContactPointRequest>,
) -> Result<Response<ContactPoint>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(point) = r.contact_point else {
        return Err(Error::field("contact_point", "is required").into());
    };
    let new = parse(&point)?;
    let row = c.add_contact_point(&principal, customer, new).await?;
    Ok(Response::new(proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListContactPointsRequest>,
) -> Result<Response<ListContactPointsResponse>, Status> {
    let principal = auth::principal(&req)?;
    let customer = parse_name(&req.get_ref().parent, "parent")?;
    let rows = c.list_contact_points(&principal, customer).await?;
    Ok(Response::new(ListContactPointsResponse {
        contact_points: rows.iter().map(proto).collect(),
    }))
}

pub(super) async fn delete(
    c: &Customers,
    req: Request<DeleteContactPointRequest>,
) -> Result<Response<pbjson_types::Empty>, Status> {
    let principal = auth::principal(&req)?;
    let name = &req.get_ref().name;
    let (customer, id) = parse_child_name(name, "contactPoints", "name")?;
    c.delete_contact_point(&principal, customer, id).await?;
    Ok(Response::new(pbjson_types::Empty {}))
}

pub(super) async fn update(
    c: &Customers,
    req: Request<UpdateContactPointRequest>,
) -> Result<Response<ContactPoint>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let Some(point) = r.contact_point else {
        return Err(Error::field("contact_point", "is required").into());
    };
    let (customer, id) = parse_child_name(&point.name, "contactPoints", "contact_point.name")?;
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Violations::default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: label, primary, email, phone or address",
        );
    }
    let mut change = ContactPointChange::default();
    for path in &paths {
        match path.as_str() {
            "label" => {
                let label = point.label.trim();
                if label.chars().count() > 50 {
                    v.add("contact_point.label", "must be at most 50 characters");
                }
                change.label = Some(label.to_owned());
            }
            "primary" if point.primary => change.primary = true,
            "primary" => v.add(
                "contact_point.primary",
                "can only be set to true: make another contact point primary instead",
            ),
            "email" | "phone" | "address" => {
                let kind = match path.as_str() {
                    "email" => "EMAIL",
                    "phone" => "PHONE",
                    _ => "ADDRESS",
                };
                let probe = ContactPoint {
                    kind: profile::enum_value(Some(kind), KINDS),
                    ..point.clone()
                };
                match parse(&probe) {
                    Ok(parsed) => change.value = Some((parsed.kind, parsed.value)),
                    Err(status) => return Err(status),
                }
            }
            other => v.add(
                "update_mask",
                format!("{other:?} cannot be changed (label, primary, email, phone, address)"),
            ),
        }
    }
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c
        .update_contact_point(&principal, customer, id, change)
        .await?;
    Ok(Response::new(proto(&row)))
}
