//! SearchCustomers.
use super::{sensitive, to_proto};
use crate::{error::Error, service::Customers};
use crm_platform::auth;
use crm_proto::crm::customers::v1::{
    SearchCustomersRequest, SearchCustomersResponse, SearchResult,
};
use tonic::{Request, Response, Status};

/// Results when the caller gives no page size.
const DEFAULT_PAGE_SIZE: usize = 20;

pub(super) async fn search(
    c: &Customers,
    req: Request<SearchCustomersRequest>,
) -> Result<Response<SearchCustomersResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    if r.page_size < 0 {
        return Err(Error::field("page_size", "must not be negative").into());
    }
    if r.query.chars().count() > 200 {
        return Err(Error::field("query", "must be at most 200 characters").into());
    }
    let limit = match r.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n => (n as usize).min(crate::search::MAX_RESULTS),
    };
    let hits = c.search(&principal, &r.query, limit).await?;
    let ids: Vec<_> = hits.iter().map(|h| h.row.id).collect();
    let secrets = c.masked_values(&ids).await?;
    Ok(Response::new(SearchCustomersResponse {
        results: hits
            .into_iter()
            .map(|h| {
                let mut customer = to_proto(&h.row);
                sensitive::fill(&mut customer, secrets.get(&h.row.id));
                SearchResult {
                    customer: Some(customer),
                    score: (h.score * 1000.0).round() / 1000.0,
                    matched_fields: h.matched,
                }
            })
            .collect(),
    }))
}
