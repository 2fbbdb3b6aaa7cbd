//! The audit trail: proto, and the RPC body.
use super::{parse_name, timestamp};
use crate::{
    history::HistoryRow,
    service::{Customers, ListParams},
};
use crm_platform::auth;
use crm_proto::crm::customers::v1::{
    CustomerHistoryEntry, ListCustomerHistoryRequest, ListCustomerHistoryResponse,
    customer_history_entry::{Action, Change},
};
use tonic::{Request, Response, Status};

pub(super) fn proto(row: &HistoryRow) -> CustomerHistoryEntry {
    // Stored actions are the proto's names.
    let action = Action::from_str_name(&row.action).unwrap_or(Action::Unspecified);
    CustomerHistoryEntry {
        id: row.id.to_string(),
        action: action as i32,
        actor: row.actor.clone(),
        request_id: row.request_id.clone(),
        trace_id: row.trace_id.clone(),
        time: Some(timestamp(row.created_at)),
        changes: row
            .change_list()
            .into_iter()
            .map(|c| Change {
                field: c.field,
                before: c.before,
                after: c.after,
            })
            .collect(),
    }
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListCustomerHistoryRequest>,
) -> Result<Response<ListCustomerHistoryResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next_page_token) = c.history(&principal, customer, &params).await?;
    Ok(Response::new(ListCustomerHistoryResponse {
        entries: rows.iter().map(proto).collect(),
        next_page_token,
    }))
}
