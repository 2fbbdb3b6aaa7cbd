//! `crm.customers.v1.PrivacyService`: data subjects' access and erasure requests.
use super::{
    bulk::file_stream,
    once,
    pages::{after_id, page, page_size, parse_id},
    parse_name,
};
use crate::{
    error::Error,
    privacy::{PrivacyRow, Subject, privacy_name},
    service::Customers,
};
use crm_platform::{auth, proto_time::timestamp};
use crm_proto::crm::customers::v1::{
    CreatePrivacyRequestRequest, DataSubject, DownloadPrivacyArchiveRequest,
    GetPrivacyRequestRequest, ListPrivacyRequestsRequest, ListPrivacyRequestsResponse,
    PrivacyAnswer, PrivacyRequest, RecordPrivacyAnswerRequest, data_subject::Key, privacy_answer,
    privacy_request, privacy_service_server::PrivacyService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The privacy service over the customer use cases.
#[derive(Clone, Debug)]
pub struct PrivacyApi {
    customers: Customers,
}

impl PrivacyApi {
    /// The adapter.
    pub fn new(customers: Customers) -> Self {
        Self { customers }
    }
}

/// A request as the API shows it.
pub fn privacy_proto(r: &PrivacyRow) -> PrivacyRequest {
    PrivacyRequest {
        name: privacy_name(r.id),
        kind: match r.kind.as_str() {
            "ACCESS" => privacy_request::Kind::Access,
            "ERASURE" => privacy_request::Kind::Erasure,
            _ => privacy_request::Kind::Unspecified,
        } as i32,
        subjects: r
            .subjects
            .iter()
            .map(|s| DataSubject {
                key: Some(match s {
                    Subject::Customer(id) => Key::Customer(crate::domain::name_of(*id)),
                    Subject::Email(e) => Key::Email(e.clone()),
                    Subject::Phone(p) => Key::Phone(p.clone()),
                }),
            })
            .collect(),
        reason: r.reason.clone(),
        state: match r.state.as_str() {
            "RUNNING" => privacy_request::State::Running,
            "COMPLETED" => privacy_request::State::Completed,
            _ => privacy_request::State::Unspecified,
        } as i32,
        customers: r
            .customers
            .iter()
            .map(|c| crate::domain::name_of(*c))
            .collect(),
        answers: r
            .answers
            .iter()
            .map(|a| PrivacyAnswer {
                service: a.service.clone(),
                state: match a.state.as_str() {
                    "DONE" => privacy_answer::State::Done,
                    _ => privacy_answer::State::Pending,
                } as i32,
                actions: serde_json::from_str(&a.actions).unwrap_or_default(),
                answer_time: a.answered_at.map(timestamp),
            })
            .collect(),
        requested_by: r.requested_by.clone(),
        create_time: Some(timestamp(r.created_at)),
        complete_time: r.completed_at.map(timestamp),
    }
}

fn parse_privacy_name(name: &str) -> Result<Uuid, Status> {
    parse_id(name, "privacyRequests", "name")
}

async fn create(
    c: &Customers,
    req: Request<CreatePrivacyRequestRequest>,
) -> Result<Response<PrivacyRequest>, Status> {
    let principal = auth::principal(&req)?;
    let Some(r) = req.into_inner().privacy_request else {
        return Err(Error::field("privacy_request", "is required").into());
    };
    let kind = match privacy_request::Kind::try_from(r.kind) {
        Ok(privacy_request::Kind::Access) => "ACCESS",
        Ok(privacy_request::Kind::Erasure) => "ERASURE",
        _ => {
            return Err(Error::field("privacy_request.kind", "must be ACCESS or ERASURE").into());
        }
    };
    let mut subjects = Vec::with_capacity(r.subjects.len());
    for (i, s) in r.subjects.iter().enumerate() {
        let field = |f: &str| format!("privacy_request.subjects[{i}].{f}");
        subjects.push(match &s.key {
            Some(Key::Customer(name)) => Subject::Customer(parse_name(name, &field("customer"))?),
            Some(Key::Email(e)) => Subject::email(e, &field("email"))?,
            Some(Key::Phone(p)) => Subject::phone(p, &field("phone"))?,
            None => {
                return Err(Error::field(
                    &format!("privacy_request.subjects[{i}]"),
                    "needs a customer, an email or a phone",
                )
                .into());
            }
        });
    }
    let done = c
        .create_privacy_request(&principal, kind, subjects, &r.reason)
        .await?;
    Ok(Response::new(privacy_proto(&done)))
}

#[tonic::async_trait]
impl PrivacyService for PrivacyApi {
    async fn create_privacy_request(
        &self,
        req: Request<CreatePrivacyRequestRequest>,
    ) -> Result<Response<PrivacyRequest>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "CreatePrivacyRequest",
            req,
            |r| &r.request_id,
            |req| create(c, req),
        )
        .await
    }

    async fn get_privacy_request(
        &self,
        req: Request<GetPrivacyRequestRequest>,
    ) -> Result<Response<PrivacyRequest>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_privacy_name(&req.get_ref().name)?;
        let r = self.customers.get_privacy_request(&principal, id).await?;
        Ok(Response::new(privacy_proto(&r)))
    }

    async fn list_privacy_requests(
        &self,
        req: Request<ListPrivacyRequestsRequest>,
    ) -> Result<Response<ListPrivacyRequestsResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let size = page_size(r.page_size)?;
        let before = after_id(&r.page_token)?;
        let rows = self
            .customers
            .list_privacy_requests(&principal, size + 1, before)
            .await?;
        let (rows, next_page_token) = page(rows, size, |r| r.id.to_string());
        Ok(Response::new(ListPrivacyRequestsResponse {
            privacy_requests: rows.iter().map(privacy_proto).collect(),
            next_page_token,
        }))
    }

    async fn record_privacy_answer(
        &self,
        req: Request<RecordPrivacyAnswerRequest>,
    ) -> Result<Response<PrivacyRequest>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let id = parse_privacy_name(&r.name)?;
        if !r.data_json.is_empty()
            && serde_json::from_str::<serde_json::Value>(&r.data_json).is_err()
        {
            return Err(Error::field("data_json", "is not JSON").into());
        }
        self.customers.get_privacy_request(&principal, id).await?;
        self.customers
            .record_answer(id, &r.service, &r.actions, &r.data_json)
            .await?;
        let done = self.customers.get_privacy_request(&principal, id).await?;
        Ok(Response::new(privacy_proto(&done)))
    }

    type DownloadPrivacyArchiveStream = super::bulk::FileStream;

    async fn download_privacy_archive(
        &self,
        req: Request<DownloadPrivacyArchiveRequest>,
    ) -> Result<Response<Self::DownloadPrivacyArchiveStream>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_privacy_name(&req.get_ref().name)?;
        let out = self.customers.privacy_archive(&principal, id).await?;
        Ok(Response::new(file_stream(out)))
    }
}
