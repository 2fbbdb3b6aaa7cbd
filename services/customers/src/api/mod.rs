//! The gRPC adapter: request shape checks, proto ⇄ domain conversion, errors → status. Thin.
mod consents;
mod contact_points;
mod contacts;
mod history;
mod interactions;
mod permission_table;
mod profile_fields;
mod reminders;
mod search;
mod sensitive;
mod sharing;
mod transactions;

pub use consents::{consent_name, consent_proto};
pub use interactions::{interaction_name, interaction_proto};
pub use permission_table::PERMISSIONS;

pub use reminders::{reminder_name, reminder_proto};

use crate::{
    domain::{self, DisplayName, Email, Kind, Phone},
    error::Error,
    profile,
    service::{Changes, Created, Customers, Idempotency, ListParams, NewCustomer},
    store::CustomerRow,
    transactions::Recorded,
};
use crm_platform::{auth, error::Violations, idempotency};
use crm_proto::crm::customers::v1;
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, GetCustomerRequest,
    ListCustomersRequest, ListCustomersResponse, ListTransactionsRequest, ListTransactionsResponse,
    RecordTransactionRequest, Transaction, UpdateCustomerRequest, UpsertCustomerRequest,
    UpsertCustomerResponse, customer::Kind as ProtoKind, customer_service_server::CustomerService,
};
use profile_fields::parse_profile;
use prost::Message;
use tonic::{Request, Response, Status};
use transactions::parse_transaction;
pub use transactions::{transaction_name, transaction_proto};
use uuid::Uuid;

/// `crm.customers.v1.CustomerService` over the use cases.
#[derive(Clone, Debug)]
pub struct Api {
    customers: Customers,
}

impl Api {
    /// The adapter.
    pub fn new(customers: Customers) -> Self {
        Self { customers }
    }

    /// A customer with its sensitive values masked, for write responses.
    async fn masked_proto(&self, row: &CustomerRow) -> Result<Customer, Status> {
        let mut customer = to_proto(row);
        let secrets = self.customers.masked_values(&[row.id]).await?;
        sensitive::fill(&mut customer, secrets.get(&row.id));
        Ok(customer)
    }
}

/// Proto representation of a stored customer.
pub fn to_proto(row: &CustomerRow) -> Customer {
    let kind = match row.kind() {
        Some(Kind::Person) => ProtoKind::Person,
        Some(Kind::Organization) => ProtoKind::Organization,
        None => ProtoKind::Unspecified,
    };
    Customer {
        name: domain::name_of(row.id),
        id: row.id.to_string(),
        display_name: row.display_name.clone(),
        kind: kind as i32,
        email: row.email.clone().unwrap_or_default(),
        phone: row.phone.clone().unwrap_or_default(),
        owner_id: row.owner_id.map(|id| id.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        etag: row.version.to_string(),
        legal_name: row.legal_name.clone().unwrap_or_default(),
        lifecycle_stage: profile::enum_value(Some(&row.lifecycle_stage), profile::STAGES),
        stage_pinned: row.stage_pinned,
        value_tier: profile::enum_value(Some(&row.value_tier), profile::TIERS),
        industry: row.industry.clone().unwrap_or_default(),
        region: row.region.clone().unwrap_or_default(),
        company_size: profile::enum_value(row.company_size.as_deref(), profile::SIZES),
        source_channel: profile::enum_value(row.source_channel.as_deref(), profile::CHANNELS),
        tags: row.tag_list(),
        external_id: row.external_id.clone().unwrap_or_default(),
        source: row.source.clone().unwrap_or_default(),
        birth_date: row.birth_date.clone().unwrap_or_default(),
        preferred_language: row.preferred_language.clone().unwrap_or_default(),
        notes: row.notes.clone().unwrap_or_default(),
        // Filled by the handlers that may show them (see `sensitive`).
        national_id: String::new(),
        bank_account: String::new(),
    }
}

use crm_platform::proto_time::{from_timestamp, timestamp};

fn parse_kind(value: i32, field: &str, v: &mut Violations) -> Option<Kind> {
    match ProtoKind::try_from(value) {
        Ok(ProtoKind::Person) => Some(Kind::Person),
        Ok(ProtoKind::Organization) => Some(Kind::Organization),
        Ok(ProtoKind::Unspecified) => {
            v.add(field, "is required (PERSON or ORGANIZATION)");
            None
        }
        Err(_) => {
            v.add(field, "must be PERSON or ORGANIZATION");
            None
        }
    }
}

/// Parses a value with `parse`, recording a violation for `field` on failure.
fn field<T>(v: &mut Violations, field: &str, result: Result<T, &'static str>) -> Option<T> {
    result.map_err(|e| v.add(field, e)).ok()
}

/// An optional text field: empty means "none".
fn optional<T>(
    v: &mut Violations,
    name: &str,
    raw: &str,
    parse: fn(&str) -> Result<T, &'static str>,
) -> Option<Option<T>> {
    if raw.trim().is_empty() {
        Some(None)
    } else {
        field(v, name, parse(raw)).map(Some)
    }
}

fn parse_owner(raw: &str) -> Result<Uuid, &'static str> {
    Uuid::parse_str(raw).map_err(|_| "must be a user id (UUID)")
}

fn parse_etag(raw: &str, name: &str, v: &mut Violations) -> Option<i64> {
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(etag) => Some(etag),
        Err(_) => {
            v.add(name, "is not an etag returned by this service");
            None
        }
    }
}

fn invalid(v: Violations) -> Status {
    Error::InvalidArgument(v.into_vec()).into()
}

fn parse_new(c: &Customer) -> Result<NewCustomer, Status> {
    let mut v = Violations::default();
    let display_name = field(
        &mut v,
        "customer.display_name",
        DisplayName::parse(&c.display_name),
    );
    let kind = parse_kind(c.kind, "customer.kind", &mut v);
    let email = optional(&mut v, "customer.email", &c.email, Email::parse);
    let phone = optional(&mut v, "customer.phone", &c.phone, Phone::parse);
    let owner_id = optional(&mut v, "customer.owner_id", &c.owner_id, parse_owner);
    let profile = parse_profile(c, &mut v);
    let secrets = sensitive::parse(c, |_| true, &mut v);
    match (display_name, kind, email, phone, owner_id) {
        (Some(display_name), Some(kind), Some(email), Some(phone), Some(owner_id))
            if v.is_empty() =>
        {
            Ok(NewCustomer {
                display_name,
                kind,
                email,
                phone,
                owner_id,
                profile,
                secrets,
            })
        }
        _ => Err(invalid(v)),
    }
}

/// Fields an update mask may name; output-only fields are ignored (AIP-161).
const UPDATABLE: &[&str] = &[
    "display_name",
    "kind",
    "email",
    "phone",
    "owner_id",
    "legal_name",
    "lifecycle_stage",
    "stage_pinned",
    "industry",
    "region",
    "company_size",
    "source_channel",
    "tags",
    "external_id",
    "source",
    "birth_date",
    "preferred_language",
    "notes",
];
const OUTPUT_ONLY: &[&str] = &[
    "name",
    "id",
    "create_time",
    "update_time",
    "etag",
    "value_tier",
];

/// Checks the paths of an update mask; `None` means every updatable field ("*" or empty when
/// `empty_is_all`).
fn mask_paths(paths: &[String], empty_is_all: bool, v: &mut Violations) -> Option<Vec<String>> {
    if paths.iter().any(|p| p == "*") || (empty_is_all && paths.is_empty()) {
        return None;
    }
    for path in paths {
        if !UPDATABLE.contains(&path.as_str())
            && !OUTPUT_ONLY.contains(&path.as_str())
            && crate::sensitive::field(path).is_none()
        {
            v.add(
                "update_mask",
                format!(
                    "unknown field {path:?} (updatable: {}, {})",
                    UPDATABLE.join(", "),
                    crate::sensitive::FIELDS
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    Some(paths.to_vec())
}

fn parse_changes(c: &Customer, paths: &[String]) -> Result<Changes, Status> {
    let mut v = Violations::default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name the fields to update, or \"*\" for all",
        );
        return Err(invalid(v));
    }
    let masked = mask_paths(paths, false, &mut v);
    let mut changes = Changes::default();
    let wants = |f: &str| masked.as_ref().is_none_or(|m| m.iter().any(|p| p == f));
    changes.profile = parse_profile(c, &mut v);
    changes.profile_fields = profile::FIELDS
        .iter()
        .filter(|f| wants(f))
        .map(|f| f.to_string())
        .collect();
    changes.secrets = sensitive::parse(c, wants, &mut v);
    if wants("display_name") {
        changes.display_name = field(
            &mut v,
            "customer.display_name",
            DisplayName::parse(&c.display_name),
        );
    }
    if wants("kind") {
        changes.kind = parse_kind(c.kind, "customer.kind", &mut v);
    }
    if wants("email") {
        changes.email = optional(&mut v, "customer.email", &c.email, Email::parse);
    }
    if wants("phone") {
        changes.phone = optional(&mut v, "customer.phone", &c.phone, Phone::parse);
    }
    if wants("owner_id") {
        changes.owner_id = optional(&mut v, "customer.owner_id", &c.owner_id, parse_owner);
    }
    if v.is_empty() {
        Ok(changes)
    } else {
        Err(invalid(v))
    }
}

fn parse_name(name: &str, field_name: &str) -> Result<Uuid, Status> {
    domain::parse_name(name).map_err(|e| Error::field(field_name, e).into())
}

/// A sub-resource name, "customers/{customer}/{collection}/{id}" → (customer, id).
fn parse_child_name(name: &str, collection: &str, field: &str) -> Result<(Uuid, Uuid), Status> {
    name.strip_prefix("customers/")
        .and_then(|rest| rest.split_once(&format!("/{collection}/")))
        .and_then(|(customer, id)| {
            Some((Uuid::parse_str(customer).ok()?, Uuid::parse_str(id).ok()?))
        })
        .ok_or_else(|| {
            Error::field(
                field,
                format!("must be \"customers/{{id}}/{collection}/{{id}}\""),
            )
            .into()
        })
}

#[tonic::async_trait]
impl CustomerService for Api {
    async fn get_customer(
        &self,
        req: Request<GetCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = auth::principal(&req)?;
        let id = parse_name(&req.get_ref().name, "name")?;
        let row = self.customers.get(&principal, id).await?;
        let mut customer = to_proto(&row);
        let secrets = self.customers.sensitive_values(&principal, &[id]).await?;
        sensitive::fill(&mut customer, secrets.get(&id));
        Ok(Response::new(customer))
    }

    async fn list_customers(
        &self,
        req: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let params = ListParams {
            filter: r.filter,
            order_by: r.order_by,
            page_size: r.page_size,
            page_token: r.page_token,
        };
        let (rows, next_page_token) = self.customers.list(&principal, &params).await?;
        Ok(Response::new(ListCustomersResponse {
            customers: rows.iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn create_customer(
        &self,
        req: Request<CreateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let Some(customer) = r.customer else {
            return Err(Error::field("customer", "is required").into());
        };
        let new = parse_new(&customer)?;
        let request_id = idempotency::check_request_id(&r.request_id)
            .map_err(|e| Status::from(Error::field("request_id", e)))?;
        let key = request_id.map(|id| Idempotency {
            request_id: id.to_owned(),
            // Output-only fields do not make a request different.
            fingerprint: idempotency::fingerprint(
                &Customer {
                    name: String::new(),
                    id: String::new(),
                    create_time: None,
                    update_time: None,
                    etag: String::new(),
                    ..customer
                }
                .encode_to_vec(),
            ),
        });
        // Write responses carry sensitive values masked, also when replayed.
        let secrets = sensitive::masked(&new.secrets);
        let respond = |row: &CustomerRow| {
            let mut customer = to_proto(row);
            sensitive::fill(&mut customer, Some(&secrets));
            customer
        };
        let created = self
            .customers
            .create(&principal, new, key, |row| respond(row).encode_to_vec())
            .await?;
        let customer = match created {
            Created::New(row) => respond(&row),
            Created::Replayed(bytes) => Customer::decode(bytes.as_slice())
                .map_err(|e| Status::from(Error::Corrupt(format!("stored response: {e}"))))?,
        };
        Ok(Response::new(customer))
    }

    async fn update_customer(
        &self,
        req: Request<UpdateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let Some(customer) = r.customer else {
            return Err(Error::field("customer", "is required").into());
        };
        let id = parse_name(&customer.name, "customer.name")?;
        let mut v = Violations::default();
        let etag = parse_etag(&customer.etag, "customer.etag", &mut v);
        if !v.is_empty() {
            return Err(invalid(v));
        }
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let changes = parse_changes(&customer, &paths)?;
        let row = self.customers.update(&principal, id, etag, changes).await?;
        Ok(Response::new(self.masked_proto(&row).await?))
    }

    async fn upsert_customer(
        &self,
        req: Request<UpsertCustomerRequest>,
    ) -> Result<Response<UpsertCustomerResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let Some(customer) = r.customer else {
            return Err(Error::field("customer", "is required").into());
        };
        let new = parse_new(&customer)?;
        let mut v = Violations::default();
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let fields = mask_paths(&paths, true, &mut v);
        if !v.is_empty() {
            return Err(invalid(v));
        }
        let (row, created) = self.customers.upsert(&principal, new, fields).await?;
        Ok(Response::new(UpsertCustomerResponse {
            customer: Some(self.masked_proto(&row).await?),
            created,
        }))
    }

    async fn record_transaction(
        &self,
        req: Request<RecordTransactionRequest>,
    ) -> Result<Response<Transaction>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let customer = parse_name(&r.parent, "parent")?;
        let Some(transaction) = r.transaction else {
            return Err(Error::field("transaction", "is required").into());
        };
        let new = parse_transaction(&transaction)?;
        let row = match self
            .customers
            .record_transaction(&principal, customer, new)
            .await?
        {
            Recorded::Stored(row, _) | Recorded::Unchanged(row) => row,
        };
        Ok(Response::new(transaction_proto(&row)))
    }

    async fn list_transactions(
        &self,
        req: Request<ListTransactionsRequest>,
    ) -> Result<Response<ListTransactionsResponse>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let customer = parse_name(&r.parent, "parent")?;
        let params = ListParams {
            page_size: r.page_size,
            page_token: r.page_token,
            ..ListParams::default()
        };
        let (rows, next_page_token) = self
            .customers
            .list_transactions(&principal, customer, &params)
            .await?;
        Ok(Response::new(ListTransactionsResponse {
            transactions: rows.iter().map(transaction_proto).collect(),
            next_page_token,
        }))
    }

    async fn create_reminder(
        &self,
        req: Request<crm_proto::crm::customers::v1::CreateReminderRequest>,
    ) -> Result<Response<crm_proto::crm::customers::v1::Reminder>, Status> {
        reminders::create(&self.customers, req).await
    }

    async fn update_reminder(
        &self,
        req: Request<crm_proto::crm::customers::v1::UpdateReminderRequest>,
    ) -> Result<Response<crm_proto::crm::customers::v1::Reminder>, Status> {
        reminders::update(&self.customers, req).await
    }

    async fn list_reminders(
        &self,
        req: Request<crm_proto::crm::customers::v1::ListRemindersRequest>,
    ) -> Result<Response<crm_proto::crm::customers::v1::ListRemindersResponse>, Status> {
        reminders::list(&self.customers, req).await
    }

    async fn list_my_reminders(
        &self,
        req: Request<crm_proto::crm::customers::v1::ListMyRemindersRequest>,
    ) -> Result<Response<crm_proto::crm::customers::v1::ListRemindersResponse>, Status> {
        reminders::mine(&self.customers, req).await
    }

    async fn create_interaction(
        &self,
        req: Request<v1::CreateInteractionRequest>,
    ) -> Result<Response<v1::Interaction>, Status> {
        interactions::create(&self.customers, req).await
    }

    async fn list_interactions(
        &self,
        req: Request<v1::ListInteractionsRequest>,
    ) -> Result<Response<v1::ListInteractionsResponse>, Status> {
        interactions::list(&self.customers, req).await
    }

    async fn get_customer_summary(
        &self,
        req: Request<v1::GetCustomerSummaryRequest>,
    ) -> Result<Response<v1::CustomerSummary>, Status> {
        interactions::summary(&self.customers, req).await
    }

    async fn batch_get_customers(
        &self,
        req: Request<v1::BatchGetCustomersRequest>,
    ) -> Result<Response<v1::BatchGetCustomersResponse>, Status> {
        interactions::batch_get(&self.customers, req).await
    }

    async fn record_consent(
        &self,
        req: Request<v1::RecordConsentRequest>,
    ) -> Result<Response<v1::Consent>, Status> {
        consents::record(&self.customers, req).await
    }

    async fn list_consents(
        &self,
        req: Request<v1::ListConsentsRequest>,
    ) -> Result<Response<v1::ListConsentsResponse>, Status> {
        consents::list(&self.customers, req).await
    }

    async fn create_contact(
        &self,
        req: Request<v1::CreateContactRequest>,
    ) -> Result<Response<v1::Contact>, Status> {
        contacts::create(&self.customers, req).await
    }

    async fn list_contacts(
        &self,
        req: Request<v1::ListContactsRequest>,
    ) -> Result<Response<v1::ListContactsResponse>, Status> {
        contacts::list(&self.customers, req).await
    }

    async fn update_contact(
        &self,
        req: Request<v1::UpdateContactRequest>,
    ) -> Result<Response<v1::Contact>, Status> {
        contacts::update(&self.customers, req).await
    }

    async fn delete_contact(
        &self,
        req: Request<v1::DeleteContactRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        contacts::delete(&self.customers, req).await
    }

    async fn list_customer_history(
        &self,
        req: Request<v1::ListCustomerHistoryRequest>,
    ) -> Result<Response<v1::ListCustomerHistoryResponse>, Status> {
        history::list(&self.customers, req).await
    }

    async fn add_contact_point(
        &self,
        req: Request<v1::AddContactPointRequest>,
    ) -> Result<Response<v1::ContactPoint>, Status> {
        contact_points::add(&self.customers, req).await
    }

    async fn list_contact_points(
        &self,
        req: Request<v1::ListContactPointsRequest>,
    ) -> Result<Response<v1::ListContactPointsResponse>, Status> {
        contact_points::list(&self.customers, req).await
    }

    async fn delete_contact_point(
        &self,
        req: Request<v1::DeleteContactPointRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        contact_points::delete(&self.customers, req).await
    }

    async fn search_customers(
        &self,
        req: Request<v1::SearchCustomersRequest>,
    ) -> Result<Response<v1::SearchCustomersResponse>, Status> {
        search::search(&self.customers, req).await
    }

    async fn share_customer(
        &self,
        req: Request<v1::ShareCustomerRequest>,
    ) -> Result<Response<v1::CustomerShare>, Status> {
        sharing::share(&self.customers, req).await
    }

    async fn list_customer_shares(
        &self,
        req: Request<v1::ListCustomerSharesRequest>,
    ) -> Result<Response<v1::ListCustomerSharesResponse>, Status> {
        sharing::list(&self.customers, req).await
    }

    async fn delete_customer_share(
        &self,
        req: Request<v1::DeleteCustomerShareRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        sharing::delete(&self.customers, req).await
    }

    async fn transfer_customers(
        &self,
        req: Request<v1::TransferCustomersRequest>,
    ) -> Result<Response<v1::TransferCustomersResponse>, Status> {
        sharing::transfer(&self.customers, req).await
    }

    async fn delete_customer(
        &self,
        req: Request<DeleteCustomerRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.get_ref();
        let id = parse_name(&r.name, "name")?;
        let mut v = Violations::default();
        let etag = parse_etag(&r.etag, "etag", &mut v);
        if !v.is_empty() {
            return Err(invalid(v));
        }
        self.customers.delete(&principal, id, etag).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }
}
