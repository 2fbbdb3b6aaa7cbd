//! What a user does to one customer besides editing it: merge a duplicate into it (and undo
//! the merge), share it with a colleague or a unit, transfer it to another owner.
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::{
    customers::v1::{
        CheckDuplicatesRequest, CustomerShare, DeleteCustomerShareRequest, DuplicateCandidate,
        GetCustomerRequest, ListCustomerSharesRequest, MergeCustomersRequest, ShareCustomerRequest,
        TransferCustomersRequest, UndoCustomerMergeRequest,
        customer_service_client::CustomerServiceClient, customer_share::Access,
        duplicate_service_client::DuplicateServiceClient,
    },
    identity::v1::{
        GetUnitRequest, GetUserRequest, ListUsersRequest, User,
        directory_service_client::DirectoryServiceClient,
    },
};

/// The customer's "duplicates, sharing, owner" section, loaded with the page.
#[derive(Template)]
#[template(path = "customers/actions.html")]
pub struct ActionsPartial {
    /// Translations.
    pub tr: crate::i18n::Tr,
    /// The CSRF token of the forms.
    pub csrf: String,
    /// The customer's id.
    pub id: String,
    /// Likely duplicates of this customer, best first (itself excluded).
    pub duplicates: Vec<DuplicateCandidate>,
    /// Current shares.
    pub shares: Vec<CustomerShare>,
    /// Users the customer can be transferred to (empty without permission to list users).
    pub users: Vec<User>,
    /// Whether the user may merge customers.
    pub can_merge: bool,
    /// The merge just made, offered for undo ("" none).
    pub undo: String,
}

impl ActionsPartial {
    /// The id part of a resource name ("customers/{id}" → id).
    pub fn id_of<'n>(&self, name: &'n str) -> &'n str {
        name.rsplit('/').next().unwrap_or(name)
    }

    /// Catalog key of a share's access.
    pub fn access_key(&self, share: &CustomerShare) -> &'static str {
        match Access::try_from(share.access).unwrap_or(Access::Unspecified) {
            Access::Write => "share.write",
            _ => "share.read",
        }
    }
}

/// Loads the section for `id` (each part optional: without a permission it is just empty).
pub async fn section(web: &Web, ctx: &Ctx, id: &str, undo: &str) -> ActionsPartial {
    let name = format!("customers/{id}");
    let mut customers = CustomerServiceClient::new(web.upstreams().customers.clone());
    let mut duplicates = DuplicateServiceClient::new(web.upstreams().customers.clone());
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let me = customers
        .get_customer(call(
            ctx,
            GetCustomerRequest {
                name: name.clone(),
                mask_sensitive: true,
            },
        ))
        .await
        .map(|c| c.into_inner())
        .ok();
    let (candidates, shares, users) = tokio::join!(
        async {
            let Some(customer) = me else {
                return Vec::new();
            };
            duplicates
                .check_duplicates(call(
                    ctx,
                    CheckDuplicatesRequest {
                        customer: Some(customer),
                    },
                ))
                .await
                .map(|r| r.into_inner().candidates)
                .unwrap_or_default()
        },
        customers.list_customer_shares(call(
            ctx,
            ListCustomerSharesRequest {
                parent: name.clone()
            }
        )),
        directory.list_users(call(
            ctx,
            ListUsersRequest {
                page_size: 200,
                order_by: "login_name".into(),
                ..Default::default()
            }
        )),
    );
    ActionsPartial {
        tr: ctx.tr,
        csrf: ctx.session.csrf.clone(),
        id: id.to_owned(),
        duplicates: candidates
            .into_iter()
            .filter(|c| c.customer != name)
            .collect(),
        shares: shares.map(|s| s.into_inner().shares).unwrap_or_default(),
        users: users.map(|u| u.into_inner().users).unwrap_or_default(),
        can_merge: ctx.can("customers.customer.merge"),
        undo: undo.to_owned(),
    }
}

/// The section alone as a page, for a browser without JavaScript.
#[derive(Template)]
#[template(path = "customers/actions_page.html")]
pub struct ActionsPage {
    /// The chrome.
    pub c: Chrome,
    /// The section.
    pub actions: ActionsPartial,
}

/// GET /customers/{id}/actions: the section (htmx loads it when it scrolls into view).
pub async fn page(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: http::HeaderMap,
) -> Response {
    let actions = section(&web, &ctx, &id, "").await;
    if headers.contains_key("hx-request") {
        render(&actions)
    } else {
        render(&ActionsPage {
            c: Chrome::new(&ctx, "customers"),
            actions,
        })
    }
}

/// POST /customers/{id}/merge: merges the customer `other` into this one (this one survives).
pub async fn merge(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let request = MergeCustomersRequest {
        survivor: format!("customers/{id}"),
        merged_customers: vec![format!("customers/{}", param(&form, "other"))],
        request_id: param(&form, "request_id").to_owned(),
        ..Default::default()
    };
    let mut client = DuplicateServiceClient::new(web.upstreams().customers.clone());
    match client.merge_customers(call(&ctx, request)).await {
        Ok(merge) => {
            let merge = merge.into_inner().name;
            let merge = merge.trim_start_matches("customerMerges/");
            Redirect::to(&format!("/customers/{id}?merged={merge}#actions")).into_response()
        }
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// POST /customers/{id}/merges/{merge}/undo: undoes a merge within its undo period.
pub async fn undo(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path((id, merge)): Path<(String, String)>,
) -> Response {
    let request = UndoCustomerMergeRequest {
        name: format!("customerMerges/{merge}"),
        request_id: String::new(),
    };
    let mut client = DuplicateServiceClient::new(web.upstreams().customers.clone());
    match client.undo_customer_merge(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}#actions")).into_response(),
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// POST /customers/{id}/shares: shares the customer with a user (by login name) or a unit path.
pub async fn share(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let access = if param(&form, "access") == "WRITE" {
        Access::Write
    } else {
        Access::Read
    };
    let share = CustomerShare {
        user_id: param(&form, "user_id").to_owned(),
        unit_path: param(&form, "unit_path").to_owned(),
        access: access as i32,
        ..Default::default()
    };
    let request = ShareCustomerRequest {
        parent: format!("customers/{id}"),
        share: Some(share),
        request_id: String::new(),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client.share_customer(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}#actions")).into_response(),
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// POST /customers/{id}/shares/{share}/delete: ends a share.
pub async fn unshare(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path((id, share)): Path<(String, String)>,
) -> Response {
    let request = DeleteCustomerShareRequest {
        name: format!("customers/{id}/shares/{share}"),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client.delete_customer_share(call(&ctx, request)).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}#actions")).into_response(),
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// Transfers `names` to the user `to` (their unit comes with them).
pub async fn transfer_to(
    web: &Web,
    ctx: &Ctx,
    names: Vec<String>,
    to: &str,
) -> Result<i64, tonic::Status> {
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let user = directory
        .get_user(call(
            ctx,
            GetUserRequest {
                name: format!("users/{to}"),
            },
        ))
        .await?
        .into_inner();
    let unit = directory
        .get_unit(call(
            ctx,
            GetUnitRequest {
                name: user.unit.clone(),
            },
        ))
        .await?
        .into_inner();
    let request = TransferCustomersRequest {
        names,
        from_owner_id: String::new(),
        to_owner_id: user.id,
        to_unit_path: unit.path,
        request_id: String::new(),
    };
    let mut customers = CustomerServiceClient::new(web.upstreams().customers.clone());
    Ok(customers
        .transfer_customers(call(ctx, request))
        .await?
        .into_inner()
        .transferred)
}

/// POST /customers/{id}/transfer: gives the customer to another owner.
pub async fn transfer(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    match transfer_to(
        &web,
        &ctx,
        vec![format!("customers/{id}")],
        param(&form, "to"),
    )
    .await
    {
        // The new owner's customer may now be outside the user's scope: back to the list.
        Ok(_) => Redirect::to("/customers").into_response(),
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// A page that only confirms a bulk action.
#[derive(Template)]
#[template(path = "customers/bulk_done.html")]
pub struct BulkDone {
    /// The chrome.
    pub c: Chrome,
    /// What was done, as a sentence.
    pub message: String,
}

/// POST /customers/bulk: what the list's bulk bar asks for, on the ticked customers:
/// transfer to a user, add a tag, or merge them into the first ticked.
pub async fn bulk(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() {
        return Redirect::to("/customers").into_response();
    }
    let names: Vec<String> = ids.iter().map(|id| format!("customers/{id}")).collect();
    let done = match param(&form, "action") {
        "transfer" => transfer_to(&web, &ctx, names, param(&form, "to"))
            .await
            .map(|n| ctx.tr.t1("bulk.transferred", n)),
        "tag" => add_tag(&web, &ctx, &names, param(&form, "tag"))
            .await
            .map(|n| ctx.tr.t1("bulk.tagged", n)),
        "export" => return export_ticked(&ctx, &ids),
        "merge" if names.len() > 1 => {
            let request = MergeCustomersRequest {
                survivor: names[0].clone(),
                merged_customers: names[1..].to_vec(),
                ..Default::default()
            };
            let mut client = DuplicateServiceClient::new(web.upstreams().customers.clone());
            match client.merge_customers(call(&ctx, request)).await {
                Ok(m) => {
                    let merge = m.into_inner().name;
                    let merge = merge.trim_start_matches("customerMerges/").to_owned();
                    return Redirect::to(&format!("/customers/{}?merged={merge}#actions", ids[0]))
                        .into_response();
                }
                Err(status) => Err(status),
            }
        }
        _ => return Redirect::to("/customers").into_response(),
    };
    match done {
        Ok(message) => render(&BulkDone {
            c: Chrome::new(&ctx, "customers"),
            message,
        }),
        Err(status) => super::error_page(&ctx, &status),
    }
}

/// The most ticked customers one export takes: their ids must fit in one filter (2,000
/// characters); a larger set is a view to export.
const MAX_EXPORT_TICKED: usize = 40;

/// Exports the ticked customers to Excel: the export of a view whose filter names them.
fn export_ticked(ctx: &Ctx, ids: &[String]) -> Response {
    if ids.len() > MAX_EXPORT_TICKED {
        return render(&BulkDone {
            c: Chrome::new(ctx, "customers"),
            message: ctx.tr.t1("bulk.export_too_many", MAX_EXPORT_TICKED),
        });
    }
    // Ids come from the form: only well-formed ones go into the filter.
    let filter = ids
        .iter()
        .filter(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .map(|id| format!("id = \"{id}\""))
        .collect::<Vec<_>>()
        .join(" OR ");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", &filter)
        .append_pair("format", "xlsx")
        .finish();
    Redirect::to(&format!("/customers/export?{query}")).into_response()
}

/// Adds `tag` to each customer (read, then update its tags guarded by the etag).
async fn add_tag(
    web: &Web,
    ctx: &Ctx,
    names: &[String],
    tag: &str,
) -> Result<usize, tonic::Status> {
    use crm_proto::crm::customers::v1::{Customer, UpdateCustomerRequest};
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(tonic::Status::invalid_argument("tag"));
    }
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let mut changed = 0;
    for name in names {
        let customer = client
            .get_customer(call(
                ctx,
                GetCustomerRequest {
                    name: name.clone(),
                    mask_sensitive: true,
                },
            ))
            .await?
            .into_inner();
        if customer.tags.iter().any(|t| t == tag) {
            continue;
        }
        let mut tags = customer.tags.clone();
        tags.push(tag.to_owned());
        let update = Customer {
            name: name.clone(),
            etag: customer.etag,
            tags,
            ..Default::default()
        };
        let request = UpdateCustomerRequest {
            customer: Some(update),
            update_mask: Some(pbjson_types::FieldMask {
                paths: vec!["tags".into()],
            }),
        };
        client.update_customer(call(ctx, request)).await?;
        changed += 1;
    }
    Ok(changed)
}
