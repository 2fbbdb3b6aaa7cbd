//! Contacts: proto ⇄ domain, and the RPC bodies.
use super::{invalid, parse_child_name, parse_etag, parse_name, timestamp};
use crate::{
    contacts::{ContactFields, ContactRow, ROLES},
    domain::{DisplayName, Email, Phone},
    error::Error,
    profile,
    service::{Customers, ListParams},
};
use crm_platform::{auth, error::Violations};
use crm_proto::crm::customers::v1::{
    Contact, CreateContactRequest, DeleteContactRequest, ListContactsRequest, ListContactsResponse,
    UpdateContactRequest,
};
use tonic::{Request, Response, Status};

/// Fields an update mask may name.
const UPDATABLE: &[&str] = &["display_name", "title", "role", "email", "phone"];

pub(super) fn proto(row: &ContactRow) -> Contact {
    Contact {
        name: format!(
            "{}/contacts/{}",
            crate::domain::name_of(row.customer_id),
            row.id
        ),
        id: row.id.to_string(),
        display_name: row.display_name.clone(),
        title: row.title.clone(),
        role: profile::enum_value(row.role.as_deref(), ROLES),
        email: row.email.clone().unwrap_or_default(),
        phone: row.phone.clone().unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        etag: row.version.to_string(),
    }
}

/// Every field checked; `check_name` false when the name is not being set (an update without it).
fn fields(c: &Contact, v: &mut Violations, check_name: bool) -> ContactFields {
    let display_name = if check_name {
        DisplayName::parse(&c.display_name)
            .map(|n| n.as_str().to_owned())
            .unwrap_or_else(|e| {
                v.add("contact.display_name", e);
                String::new()
            })
    } else {
        String::new()
    };
    // Free text, kept as written.
    let title = c.title.clone();
    if title.chars().count() > 100 {
        v.add("contact.title", "must be at most 100 characters");
    }
    let role = profile::enum_name(c.role, ROLES).unwrap_or_else(|e| {
        v.add("contact.role", e);
        None
    });
    let email = (!c.email.trim().is_empty())
        .then(|| Email::parse(&c.email).map(|e| e.as_str().to_owned()))
        .transpose()
        .unwrap_or_else(|e| {
            v.add("contact.email", e);
            None
        });
    let phone = (!c.phone.trim().is_empty())
        .then(|| Phone::parse(&c.phone).map(|p| p.as_str().to_owned()))
        .transpose()
        .unwrap_or_else(|e| {
            v.add("contact.phone", e);
            None
        });
    ContactFields {
        display_name,
        title,
        role,
        email,
        phone,
    }
}

pub(super) async fn create(
    c: &Customers,
    req: Request<CreateContactRequest>,
) -> Result<Response<Contact>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(contact) = r.contact else {
        return Err(Error::field("contact", "is required").into());
    };
    let mut v = Violations::default();
    let f = fields(&contact, &mut v, true);
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c.create_contact(&principal, customer, f).await?;
    Ok(Response::new(proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListContactsRequest>,
) -> Result<Response<ListContactsResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next_page_token) = c.list_contacts(&principal, customer, &params).await?;
    Ok(Response::new(ListContactsResponse {
        contacts: rows.iter().map(proto).collect(),
        next_page_token,
    }))
}

pub(super) async fn update(
    c: &Customers,
    req: Request<UpdateContactRequest>,
) -> Result<Response<Contact>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let Some(contact) = r.contact else {
        return Err(Error::field("contact", "is required").into());
    };
    let (customer, id) = parse_child_name(&contact.name, "contacts", "contact.name")?;
    let mask = r.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Violations::default();
    if mask.is_empty() {
        v.add(
            "update_mask",
            format!("is required: {}", UPDATABLE.join(", ")),
        );
    }
    for path in &mask {
        if !UPDATABLE.contains(&path.as_str()) {
            v.add(
                "update_mask",
                format!(
                    "unknown field {path:?} (updatable: {})",
                    UPDATABLE.join(", ")
                ),
            );
        }
    }
    let f = fields(&contact, &mut v, mask.iter().any(|m| m == "display_name"));
    let etag = parse_etag(&contact.etag, "contact.etag", &mut v);
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c
        .update_contact(&principal, customer, id, etag, f, &mask)
        .await?;
    Ok(Response::new(proto(&row)))
}

pub(super) async fn delete(
    c: &Customers,
    req: Request<DeleteContactRequest>,
) -> Result<Response<pbjson_types::Empty>, Status> {
    let principal = auth::principal(&req)?;
    let (customer, id) = parse_child_name(&req.get_ref().name, "contacts", "name")?;
    c.delete_contact(&principal, customer, id).await?;
    Ok(Response::new(pbjson_types::Empty {}))
}
