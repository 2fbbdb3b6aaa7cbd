//! `crm.customers.v1.DuplicateService`: duplicate checks, merges and their undo.
use super::{
    convert::parse_new,
    once,
    pages::{after_id, after_position, page, page_size, parse_id},
    parse_name,
};
use crate::{
    duplicates::{Candidate, Policy},
    error::Error,
    merge::{MergeRequest, MergeRow, Rule, merge_name},
    scan::{PairRow, ScanRow, scan_name},
    service::Customers,
};
use crm_platform::{auth, proto_time::timestamp};
use crm_proto::crm::customers::v1::{
    CheckDuplicatesRequest, CheckDuplicatesResponse, CustomerMerge, DuplicateCandidate,
    DuplicatePair, DuplicatePolicy, DuplicateScan, FieldRule, GetCustomerMergeRequest,
    GetDuplicateScanRequest, ListCustomerMergesRequest, ListCustomerMergesResponse,
    ListDuplicatePairsRequest, ListDuplicatePairsResponse, MergeCounts, MergeCustomersRequest,
    ReviewDuplicatePairRequest, StartDuplicateScanRequest, UndoCustomerMergeRequest,
    customer_merge, duplicate_candidate, duplicate_pair, duplicate_scan,
    duplicate_service_server::DuplicateService, field_rule,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The duplicate service over the customer use cases.
#[derive(Clone, Debug)]
pub struct DuplicateApi {
    customers: Customers,
}

impl DuplicateApi {
    /// The adapter.
    pub fn new(customers: Customers) -> Self {
        Self { customers }
    }
}

/// The policy a request asks for.
pub(super) fn policy(value: i32) -> Result<Policy, Status> {
    match DuplicatePolicy::try_from(value) {
        Ok(DuplicatePolicy::Unspecified | DuplicatePolicy::WarnDuplicates) => Ok(Policy::Warn),
        Ok(DuplicatePolicy::BlockDuplicates) => Ok(Policy::Block),
        Ok(DuplicatePolicy::AllowDuplicates) => Ok(Policy::Allow),
        Err(_) => Err(Error::field("duplicate_policy", "is not a known policy").into()),
    }
}

/// A candidate as the API shows it.
pub(super) fn candidate(c: &Candidate) -> DuplicateCandidate {
    DuplicateCandidate {
        customer: crate::domain::name_of(c.id),
        display_name: c.display_name.clone(),
        score: c.score,
        level: if c.duplicate {
            duplicate_candidate::Level::Duplicate
        } else {
            duplicate_candidate::Level::Possible
        } as i32,
        reasons: c.reasons.clone(),
    }
}

/// A merge as the API shows it.
pub fn merge_proto(m: &MergeRow) -> CustomerMerge {
    let moved = |table: &str| {
        m.details
            .moved
            .get(table)
            .map_or(0, |rows| i32::try_from(rows.len()).unwrap_or(i32::MAX))
    };
    CustomerMerge {
        name: merge_name(m.id),
        survivor: crate::domain::name_of(m.survivor_id),
        merged_customers: m
            .merged_ids
            .iter()
            .map(|id| crate::domain::name_of(*id))
            .collect(),
        state: match m.state.as_str() {
            "MERGED" => customer_merge::State::Merged,
            "UNDONE" => customer_merge::State::Undone,
            _ => customer_merge::State::Unspecified,
        } as i32,
        changed_fields: m.details.before.iter().map(|c| c.field.clone()).collect(),
        moved: Some(MergeCounts {
            contact_points: moved("contact_points"),
            interactions: moved("interactions"),
            transactions: moved("transactions"),
            reminders: moved("reminders"),
            consents: moved("consents"),
            contacts: moved("contacts"),
        }),
        kept_apart: m.details.kept_apart.clone(),
        merged_by: m.actor.clone(),
        create_time: Some(timestamp(m.created_at)),
        undo_deadline: Some(timestamp(m.undo_deadline)),
        undone_by: m.undone_by.clone().unwrap_or_default(),
        undo_time: m.undone_at.map(timestamp),
    }
}

/// A scan as the API shows it.
fn scan_proto(s: &ScanRow) -> DuplicateScan {
    DuplicateScan {
        name: scan_name(s.id),
        state: match s.state.as_str() {
            "RUNNING" => duplicate_scan::State::Running,
            "SUCCEEDED" => duplicate_scan::State::Succeeded,
            "FAILED" => duplicate_scan::State::Failed,
            _ => duplicate_scan::State::Unspecified,
        } as i32,
        customers_scanned: s.customers_scanned,
        comparisons: s.comparisons,
        clusters: s.clusters,
        duplicate_pairs: s.duplicate_pairs,
        possible_pairs: s.possible_pairs,
        started_by: s.started_by.clone(),
        create_time: Some(timestamp(s.created_at)),
        finish_time: s.finished_at.map(timestamp),
        error: s.error.clone(),
        read_millis: s.read_millis,
        compare_millis: s.compare_millis,
    }
}

/// A pair as the API shows it.
fn pair_proto(p: &PairRow) -> DuplicatePair {
    DuplicatePair {
        customer_a: crate::domain::name_of(p.customer_a),
        display_name_a: p.names.0.clone(),
        customer_b: crate::domain::name_of(p.customer_b),
        display_name_b: p.names.1.clone(),
        score: p.score,
        level: match p.level.as_str() {
            "DUPLICATE" => duplicate_candidate::Level::Duplicate,
            _ => duplicate_candidate::Level::Possible,
        } as i32,
        reasons: p.reasons.clone(),
        cluster: i32::try_from(p.cluster).unwrap_or(i32::MAX),
        decision: match p.decision.as_deref() {
            Some("DUPLICATE") => duplicate_pair::Decision::Duplicate,
            Some("NOT_DUPLICATE") => duplicate_pair::Decision::NotDuplicate,
            _ => duplicate_pair::Decision::Unspecified,
        } as i32,
        decided_by: p.decided_by.clone().unwrap_or_default(),
    }
}

fn parse_scan_name(name: &str, field: &str) -> Result<Uuid, Status> {
    parse_id(name, "duplicateScans", field)
}

async fn start_duplicate_scan(
    c: &Customers,
    req: Request<StartDuplicateScanRequest>,
) -> Result<Response<DuplicateScan>, Status> {
    let principal = auth::principal(&req)?;
    let scan = c.start_scan(&principal).await?;
    Ok(Response::new(scan_proto(&scan)))
}

fn parse_merge_name(name: &str) -> Result<Uuid, Status> {
    parse_id(name, "customerMerges", "name")
}

fn parse_rule(rule: i32, source: &str, field: &str) -> Result<Rule, Status> {
    Ok(match field_rule::Rule::try_from(rule) {
        Ok(field_rule::Rule::Unspecified | field_rule::Rule::FillEmpty) => Rule::FillEmpty,
        Ok(field_rule::Rule::KeepSurvivor) => Rule::KeepSurvivor,
        Ok(field_rule::Rule::MostRecent) => Rule::MostRecent,
        Ok(field_rule::Rule::MostComplete) => Rule::MostComplete,
        Ok(field_rule::Rule::Choose) => {
            Rule::Choose(parse_name(source, &format!("{field}.source"))?)
        }
        Err(_) => return Err(Error::field(field, "is not a known rule").into()),
    })
}

fn parse_merge(r: &MergeCustomersRequest) -> Result<MergeRequest, Status> {
    let mut v = crm_platform::error::Violations::default();
    let etag = super::parse_etag(&r.etag, "etag", &mut v);
    if !v.is_empty() {
        return Err(super::invalid(v));
    }
    let mut req = MergeRequest {
        survivor: parse_name(&r.survivor, "survivor")?,
        default_rule: parse_rule(r.default_rule, "", "default_rule")?,
        etag,
        ..MergeRequest::default()
    };
    for name in &r.merged_customers {
        req.merged.push(parse_name(name, "merged_customers")?);
    }
    for FieldRule {
        field,
        rule,
        source,
    } in &r.field_rules
    {
        let parsed = parse_rule(*rule, source, "field_rules")?;
        req.rules.insert(field.clone(), parsed);
    }
    Ok(req)
}

async fn merge_customers(
    c: &Customers,
    req: Request<MergeCustomersRequest>,
) -> Result<Response<CustomerMerge>, Status> {
    let principal = auth::principal(&req)?;
    let merge = parse_merge(req.get_ref())?;
    let done = c.merge(&principal, &merge).await?;
    Ok(Response::new(merge_proto(&done)))
}

async fn undo_customer_merge(
    c: &Customers,
    req: Request<UndoCustomerMergeRequest>,
) -> Result<Response<CustomerMerge>, Status> {
    let principal = auth::principal(&req)?;
    let id = parse_merge_name(&req.get_ref().name)?;
    let done = c.undo_merge(&principal, id).await?;
    Ok(Response::new(merge_proto(&done)))
}

#[tonic::async_trait]
impl DuplicateService for DuplicateApi {
    async fn check_duplicates(
        &self,
        req: Request<CheckDuplicatesRequest>,
    ) -> Result<Response<CheckDuplicatesResponse>, Status> {
        let principal = auth::principal(&req)?;
        let Some(customer) = req.into_inner().customer else {
            return Err(Error::field("customer", "is required").into());
        };
        let row = if customer.name.is_empty() {
            crate::service::draft(&principal, &parse_new(&customer)?)
        } else {
            let id = parse_name(&customer.name, "customer.name")?;
            self.customers.get(&principal, id).await?
        };
        let check = self.customers.check_duplicates(&principal, &row).await?;
        Ok(Response::new(CheckDuplicatesResponse {
            candidates: check.candidates.iter().map(candidate).collect(),
            hidden_duplicates: i32::try_from(check.hidden_duplicates).unwrap_or(i32::MAX),
        }))
    }

    async fn merge_customers(
        &self,
        req: Request<MergeCustomersRequest>,
    ) -> Result<Response<CustomerMerge>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "MergeCustomers",
            req,
            |r| &r.request_id,
            |req| merge_customers(c, req),
        )
        .await
    }

    async fn get_customer_merge(
        &self,
        req: Request<GetCustomerMergeRequest>,
    ) -> Result<Response<CustomerMerge>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_merge_name(&req.get_ref().name)?;
        let merge = self.customers.get_merge(&principal, id).await?;
        Ok(Response::new(merge_proto(&merge)))
    }

    async fn list_customer_merges(
        &self,
        req: Request<ListCustomerMergesRequest>,
    ) -> Result<Response<ListCustomerMergesResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let survivor = (!r.survivor.is_empty())
            .then(|| parse_name(&r.survivor, "survivor"))
            .transpose()?;
        let size = page_size(r.page_size)?;
        // The token is the last merge of the previous page (merges are listed by id, newest first).
        let before = after_id(&r.page_token)?;
        let merges = self
            .customers
            .list_merges(&principal, survivor, size + 1, before)
            .await?;
        let (merges, next_page_token) = page(merges, size, |m| m.id.to_string());
        Ok(Response::new(ListCustomerMergesResponse {
            merges: merges.iter().map(merge_proto).collect(),
            next_page_token,
        }))
    }

    async fn undo_customer_merge(
        &self,
        req: Request<UndoCustomerMergeRequest>,
    ) -> Result<Response<CustomerMerge>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "UndoCustomerMerge",
            req,
            |r| &r.request_id,
            |req| undo_customer_merge(c, req),
        )
        .await
    }

    async fn start_duplicate_scan(
        &self,
        req: Request<StartDuplicateScanRequest>,
    ) -> Result<Response<DuplicateScan>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "StartDuplicateScan",
            req,
            |r| &r.request_id,
            |req| start_duplicate_scan(c, req),
        )
        .await
    }

    async fn get_duplicate_scan(
        &self,
        req: Request<GetDuplicateScanRequest>,
    ) -> Result<Response<DuplicateScan>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_scan_name(&req.get_ref().name, "name")?;
        let scan = self.customers.get_scan(&principal, id).await?;
        Ok(Response::new(scan_proto(&scan)))
    }

    async fn list_duplicate_pairs(
        &self,
        req: Request<ListDuplicatePairsRequest>,
    ) -> Result<Response<ListDuplicatePairsResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let scan = parse_scan_name(&r.parent, "parent")?;
        let size = page_size(r.page_size)?;
        let level = match duplicate_candidate::Level::try_from(r.level) {
            Ok(duplicate_candidate::Level::Unspecified) => None,
            Ok(duplicate_candidate::Level::Duplicate) => Some("DUPLICATE"),
            Ok(duplicate_candidate::Level::Possible) => Some("POSSIBLE"),
            Err(_) => return Err(Error::field("level", "is not a known level").into()),
        };
        // The token is the position of the last pair of the previous page.
        let after = after_position(&r.page_token)?;
        let pairs = self
            .customers
            .list_pairs(&principal, scan, level, r.undecided_only, size + 1, after)
            .await?;
        let (pairs, next_page_token) = page(pairs, size, |p| p.position.to_string());
        Ok(Response::new(ListDuplicatePairsResponse {
            pairs: pairs.iter().map(pair_proto).collect(),
            next_page_token,
        }))
    }

    async fn review_duplicate_pair(
        &self,
        req: Request<ReviewDuplicatePairRequest>,
    ) -> Result<Response<DuplicatePair>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let a = parse_name(&r.customer_a, "customer_a")?;
        let b = parse_name(&r.customer_b, "customer_b")?;
        let duplicate = match duplicate_pair::Decision::try_from(r.decision) {
            Ok(duplicate_pair::Decision::Duplicate) => true,
            Ok(duplicate_pair::Decision::NotDuplicate) => false,
            _ => {
                return Err(Error::field("decision", "must be DUPLICATE or NOT_DUPLICATE").into());
            }
        };
        let pair = self
            .customers
            .review_pair(&principal, a, b, duplicate)
            .await?;
        Ok(Response::new(pair_proto(&pair)))
    }

    type ExportDuplicatePairsStream = super::bulk::FileStream;

    async fn export_duplicate_pairs(
        &self,
        req: Request<crm_proto::crm::customers::v1::ExportDuplicatePairsRequest>,
    ) -> Result<Response<Self::ExportDuplicatePairsStream>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let scan = parse_scan_name(&r.parent, "parent")?;
        let xlsx = r.format == crm_proto::crm::customers::v1::FileFormat::Xlsx as i32;
        let out = self.customers.export_pairs(&principal, scan, xlsx).await?;
        Ok(Response::new(super::bulk::file_stream(out)))
    }
}
