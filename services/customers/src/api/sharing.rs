//! ShareCustomer, ListCustomerShares, DeleteCustomerShare, TransferCustomers.
use super::{invalid, parse_child_name, parse_name};
use crate::{
    service::Customers,
    sharing::{Grantee, MAX_TRANSFER_NAMES, ShareRow, Transfer},
};
use crm_platform::{auth, error::Violations, proto_time::timestamp};
use crm_proto::crm::customers::v1::{
    CustomerShare, DeleteCustomerShareRequest, ListCustomerSharesRequest,
    ListCustomerSharesResponse, ShareCustomerRequest, TransferCustomersRequest,
    TransferCustomersResponse, customer_share::Access,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Proto representation of a share.
pub fn share_proto(row: &ShareRow) -> CustomerShare {
    let (user_id, unit_path) = match row.grantee_kind.as_str() {
        "USER" => (row.grantee.clone(), String::new()),
        _ => (String::new(), row.grantee.clone()),
    };
    CustomerShare {
        name: format!(
            "{}/shares/{}",
            crate::domain::name_of(row.customer_id),
            row.id
        ),
        user_id,
        unit_path,
        access: Access::from_str_name(&row.access).unwrap_or(Access::Read) as i32,
        creator: row.created_by.clone(),
        create_time: Some(timestamp(row.created_at)),
    }
}

pub(super) async fn share(
    c: &Customers,
    req: Request<ShareCustomerRequest>,
) -> Result<Response<CustomerShare>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let share = r.share.unwrap_or_default();
    let mut v = Violations::default();
    let grantee = match (share.user_id.trim(), share.unit_path.trim()) {
        ("", "") => {
            v.add(
                "share.user_id",
                "is required: give a user_id or a unit_path",
            );
            None
        }
        (user, "") => match Uuid::parse_str(user) {
            Ok(id) => Some(Grantee::User(id)),
            Err(_) => {
                v.add("share.user_id", "must be a user id (UUID)");
                None
            }
        },
        ("", unit) => Grantee::unit(unit)
            .map_err(|e| v.add("share.unit_path", e))
            .ok(),
        _ => {
            v.add(
                "share.unit_path",
                "give either user_id or unit_path, not both",
            );
            None
        }
    };
    let write = match Access::try_from(share.access) {
        Ok(Access::Write) => true,
        Ok(Access::Read | Access::Unspecified) => false,
        Err(_) => {
            v.add("share.access", "must be READ or WRITE");
            false
        }
    };
    let Some(grantee) = grantee.filter(|_| v.is_empty()) else {
        return Err(invalid(v));
    };
    let row = c.share(&principal, customer, grantee, write).await?;
    Ok(Response::new(share_proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListCustomerSharesRequest>,
) -> Result<Response<ListCustomerSharesResponse>, Status> {
    let principal = auth::principal(&req)?;
    let customer = parse_name(&req.get_ref().parent, "parent")?;
    let rows = c.shares(&principal, customer).await?;
    Ok(Response::new(ListCustomerSharesResponse {
        shares: rows.iter().map(share_proto).collect(),
    }))
}

pub(super) async fn delete(
    c: &Customers,
    req: Request<DeleteCustomerShareRequest>,
) -> Result<Response<pbjson_types::Empty>, Status> {
    let principal = auth::principal(&req)?;
    let (customer, id) = parse_child_name(&req.get_ref().name, "shares", "name")?;
    c.unshare(&principal, customer, id).await?;
    Ok(Response::new(pbjson_types::Empty {}))
}

pub(super) async fn transfer(
    c: &Customers,
    req: Request<TransferCustomersRequest>,
) -> Result<Response<TransferCustomersResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let mut v = Violations::default();
    let to_owner = Uuid::parse_str(r.to_owner_id.trim())
        .map_err(|_| v.add("to_owner_id", "is required: the new owner's user id (UUID)"))
        .ok();
    if let Err(e) = Grantee::unit(r.to_unit_path.trim()) {
        v.add("to_unit_path", e);
    }
    let which = match (r.names.is_empty(), r.from_owner_id.trim()) {
        (true, "") => {
            v.add("names", "name the customers, or give from_owner_id");
            None
        }
        (false, "") if r.names.len() > MAX_TRANSFER_NAMES => {
            v.add("names", format!("at most {MAX_TRANSFER_NAMES} customers"));
            None
        }
        (false, "") => {
            let mut ids = Vec::with_capacity(r.names.len());
            for (i, name) in r.names.iter().enumerate() {
                match crate::domain::parse_name(name) {
                    Ok(id) => ids.push(id),
                    Err(e) => v.add(format!("names[{i}]"), e),
                }
            }
            Some(Transfer::Named(ids))
        }
        (true, from) => match Uuid::parse_str(from) {
            Ok(id) => Some(Transfer::OwnedBy(id)),
            Err(_) => {
                v.add("from_owner_id", "must be a user id (UUID)");
                None
            }
        },
        (false, _) => {
            v.add(
                "from_owner_id",
                "give either names or from_owner_id, not both",
            );
            None
        }
    };
    let (Some(which), Some(to_owner)) = (which, to_owner) else {
        return Err(invalid(v));
    };
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let transferred = c
        .transfer(&principal, which, to_owner, r.to_unit_path.trim())
        .await?;
    Ok(Response::new(TransferCustomersResponse {
        transferred: transferred as i64,
    }))
}
