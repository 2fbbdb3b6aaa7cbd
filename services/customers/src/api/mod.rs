//! The gRPC adapter: request shape checks, proto ⇄ domain conversion, errors → status. Thin.
mod bulk;
mod consents;
mod contact_points;
mod contacts;
mod convert;
mod custom_fields;
mod duplicates;
mod history;
mod interactions;
mod once;
mod overview;
mod pages;
mod permission_table;
mod privacy;
mod profile_fields;
mod reminders;
mod search;
mod sensitive;
mod sharing;
mod statistics;
mod transactions;

pub use bulk::BulkApi;
pub use consents::{consent_name, consent_proto};
use convert::{invalid, mask_paths, parse_changes, parse_etag, parse_new};
pub use convert::{parse_new_customer, to_proto};
use crm_platform::proto_time::{from_timestamp, timestamp};
pub use duplicates::{DuplicateApi, merge_proto};
pub use interactions::{interaction_name, interaction_proto};
pub use permission_table::PERMISSIONS;
pub use privacy::{PrivacyApi, privacy_proto};

pub use reminders::{reminder_name, reminder_proto};
pub use statistics::statistics_proto;

use crate::{
    domain,
    error::Error,
    service::{Created, Customers, Idempotency, ListParams},
    store::CustomerRow,
    transactions::Recorded,
};
use crm_platform::{auth, error::Violations, idempotency};
use crm_proto::crm::customers::v1;
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, GetCustomerRequest,
    ListCustomersRequest, ListCustomersResponse, ListTransactionsRequest, ListTransactionsResponse,
    RecordTransactionRequest, Transaction, UpdateCustomerRequest, UpsertCustomerRequest,
    UpsertCustomerResponse, customer_service_server::CustomerService,
};
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
        let (row, secrets) = if req.get_ref().mask_sensitive {
            self.customers.get_masked(&principal, id).await?
        } else {
            self.customers.get_showing_sensitive(&principal, id).await?
        };
        let mut customer = to_proto(&row);
        sensitive::fill(&mut customer, Some(&secrets));
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
        let policy = duplicates::policy(r.duplicate_policy)?;
        // Write responses carry sensitive values masked, also when replayed.
        let secrets = sensitive::masked(&new.secrets);
        let respond = |row: &CustomerRow, candidates: &[crate::duplicates::Candidate]| {
            let mut customer = to_proto(row);
            sensitive::fill(&mut customer, Some(&secrets));
            customer.duplicate_candidates = candidates.iter().map(duplicates::candidate).collect();
            customer
        };
        let (created, candidates) = self
            .customers
            .create_checked(&principal, new, policy, key, |row, candidates| {
                respond(row, candidates).encode_to_vec()
            })
            .await?;
        let customer = match created {
            Created::New(row) => respond(&row, &candidates),
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
        let policy = duplicates::policy(r.duplicate_policy)?;
        let (row, created, candidates) = self
            .customers
            .upsert(&principal, new, fields, policy)
            .await?;
        let mut customer = self.masked_proto(&row).await?;
        customer.duplicate_candidates = candidates.iter().map(duplicates::candidate).collect();
        Ok(Response::new(UpsertCustomerResponse {
            customer: Some(customer),
            created,
        }))
    }

    async fn record_transaction(
        &self,
        req: Request<RecordTransactionRequest>,
    ) -> Result<Response<Transaction>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "RecordTransaction",
            req,
            |r| &r.request_id,
            |req| record_transaction(c, req),
        )
        .await
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
        let c = &self.customers;
        once::rpc(
            c,
            "CreateReminder",
            req,
            |r| &r.request_id,
            |req| reminders::create(c, req),
        )
        .await
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
        let c = &self.customers;
        once::rpc(
            c,
            "CreateInteraction",
            req,
            |r| &r.request_id,
            |req| interactions::create(c, req),
        )
        .await
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

    async fn get_customer_overview(
        &self,
        req: Request<v1::GetCustomerOverviewRequest>,
    ) -> Result<Response<v1::CustomerOverview>, Status> {
        overview::get(&self.customers, req).await
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
        let c = &self.customers;
        once::rpc(
            c,
            "RecordConsent",
            req,
            |r| &r.request_id,
            |req| consents::record(c, req),
        )
        .await
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
        let c = &self.customers;
        once::rpc(
            c,
            "CreateContact",
            req,
            |r| &r.request_id,
            |req| contacts::create(c, req),
        )
        .await
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
        let c = &self.customers;
        once::rpc(
            c,
            "AddContactPoint",
            req,
            |r| &r.request_id,
            |req| contact_points::add(c, req),
        )
        .await
    }

    async fn list_contact_points(
        &self,
        req: Request<v1::ListContactPointsRequest>,
    ) -> Result<Response<v1::ListContactPointsResponse>, Status> {
        contact_points::list(&self.customers, req).await
    }

    async fn update_contact_point(
        &self,
        req: Request<v1::UpdateContactPointRequest>,
    ) -> Result<Response<v1::ContactPoint>, Status> {
        contact_points::update(&self.customers, req).await
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

    async fn summarize_customers(
        &self,
        req: Request<v1::SummarizeCustomersRequest>,
    ) -> Result<Response<v1::CustomerStatistics>, Status> {
        statistics::summarize(&self.customers, req).await
    }

    async fn share_customer(
        &self,
        req: Request<v1::ShareCustomerRequest>,
    ) -> Result<Response<v1::CustomerShare>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "ShareCustomer",
            req,
            |r| &r.request_id,
            |req| sharing::share(c, req),
        )
        .await
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
        let c = &self.customers;
        once::rpc(
            c,
            "TransferCustomers",
            req,
            |r| &r.request_id,
            |req| sharing::transfer(c, req),
        )
        .await
    }

    async fn create_custom_field_definition(
        &self,
        req: Request<v1::CreateCustomFieldDefinitionRequest>,
    ) -> Result<Response<v1::CustomFieldDefinition>, Status> {
        let c = &self.customers;
        once::rpc(
            c,
            "CreateCustomFieldDefinition",
            req,
            |r| &r.request_id,
            |req| custom_fields::create(c, req),
        )
        .await
    }

    async fn list_custom_field_definitions(
        &self,
        req: Request<v1::ListCustomFieldDefinitionsRequest>,
    ) -> Result<Response<v1::ListCustomFieldDefinitionsResponse>, Status> {
        custom_fields::list(&self.customers, req).await
    }

    async fn update_custom_field_definition(
        &self,
        req: Request<v1::UpdateCustomFieldDefinitionRequest>,
    ) -> Result<Response<v1::CustomFieldDefinition>, Status> {
        custom_fields::update(&self.customers, req).await
    }

    async fn delete_custom_field_definition(
        &self,
        req: Request<v1::DeleteCustomFieldDefinitionRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        custom_fields::delete(&self.customers, req).await
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

/// RecordTransaction, before idempotency.
async fn record_transaction(
    c: &Customers,
    req: Request<RecordTransactionRequest>,
) -> Result<Response<Transaction>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(transaction) = r.transaction else {
        return Err(Error::field("transaction", "is required").into());
    };
    let new = parse_transaction(&transaction)?;
    let row = match c.record_transaction(&principal, customer, new).await? {
        Recorded::Stored(row, _) | Recorded::Unchanged(row) => row,
    };
    Ok(Response::new(transaction_proto(&row)))
}
