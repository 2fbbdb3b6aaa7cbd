//! Floors: the least work a server of the customers API can do, measured in the same run as
//! the suite so every figure can be read as a ratio (the machine is noisy; absolute numbers
//! alone mean little). Both serve `crm.customers.v1.CustomerService/GetCustomer` with no
//! layers, no auth, no validation beyond parsing the id: `floor-echo` answers from memory,
//! `floor-pg` does one primary-key select on the same PostgreSQL table.
use crm_proto::crm::customers::v1;
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, GetCustomerRequest,
    ListCustomersRequest, ListCustomersResponse, ListTransactionsRequest, ListTransactionsResponse,
    RecordTransactionRequest, Transaction, UpdateCustomerRequest, UpsertCustomerRequest,
    UpsertCustomerResponse, customer_service_server::CustomerService,
};
use tonic::{Request, Response, Status};

/// What the floor does for GetCustomer.
pub trait Lookup: Send + Sync + 'static {
    /// The customer of `name`.
    fn get(
        &self,
        name: String,
    ) -> impl std::future::Future<Output = Result<Customer, Status>> + Send;
}

/// A CustomerService that only implements GetCustomer.
pub struct Floor<L>(pub L);

fn unimplemented() -> Status {
    Status::unimplemented("floor servers only implement GetCustomer")
}

#[tonic::async_trait]
impl<L: Lookup> CustomerService for Floor<L> {
    async fn get_customer(
        &self,
        req: Request<GetCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        Ok(Response::new(self.0.get(req.into_inner().name).await?))
    }
    async fn list_customers(
        &self,
        _: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        Err(unimplemented())
    }
    async fn create_customer(
        &self,
        _: Request<CreateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        Err(unimplemented())
    }
    async fn update_customer(
        &self,
        _: Request<UpdateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        Err(unimplemented())
    }
    async fn delete_customer(
        &self,
        _: Request<DeleteCustomerRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        Err(unimplemented())
    }
    async fn upsert_customer(
        &self,
        _: Request<UpsertCustomerRequest>,
    ) -> Result<Response<UpsertCustomerResponse>, Status> {
        Err(unimplemented())
    }
    async fn record_transaction(
        &self,
        _: Request<RecordTransactionRequest>,
    ) -> Result<Response<Transaction>, Status> {
        Err(unimplemented())
    }
    async fn list_transactions(
        &self,
        _: Request<ListTransactionsRequest>,
    ) -> Result<Response<ListTransactionsResponse>, Status> {
        Err(unimplemented())
    }
    async fn create_reminder(
        &self,
        _: Request<v1::CreateReminderRequest>,
    ) -> Result<Response<v1::Reminder>, Status> {
        Err(unimplemented())
    }
    async fn update_reminder(
        &self,
        _: Request<v1::UpdateReminderRequest>,
    ) -> Result<Response<v1::Reminder>, Status> {
        Err(unimplemented())
    }
    async fn list_reminders(
        &self,
        _: Request<v1::ListRemindersRequest>,
    ) -> Result<Response<v1::ListRemindersResponse>, Status> {
        Err(unimplemented())
    }
    async fn list_my_reminders(
        &self,
        _: Request<v1::ListMyRemindersRequest>,
    ) -> Result<Response<v1::ListRemindersResponse>, Status> {
        Err(unimplemented())
    }
    async fn create_interaction(
        &self,
        _: Request<v1::CreateInteractionRequest>,
    ) -> Result<Response<v1::Interaction>, Status> {
        Err(unimplemented())
    }
    async fn list_interactions(
        &self,
        _: Request<v1::ListInteractionsRequest>,
    ) -> Result<Response<v1::ListInteractionsResponse>, Status> {
        Err(unimplemented())
    }
    async fn get_customer_summary(
        &self,
        _: Request<v1::GetCustomerSummaryRequest>,
    ) -> Result<Response<v1::CustomerSummary>, Status> {
        Err(unimplemented())
    }
    async fn get_customer_overview(
        &self,
        _: Request<v1::GetCustomerOverviewRequest>,
    ) -> Result<Response<v1::CustomerOverview>, Status> {
        Err(unimplemented())
    }
    async fn batch_get_customers(
        &self,
        _: Request<v1::BatchGetCustomersRequest>,
    ) -> Result<Response<v1::BatchGetCustomersResponse>, Status> {
        Err(unimplemented())
    }
    async fn record_consent(
        &self,
        _: Request<v1::RecordConsentRequest>,
    ) -> Result<Response<v1::Consent>, Status> {
        Err(unimplemented())
    }
    async fn list_consents(
        &self,
        _: Request<v1::ListConsentsRequest>,
    ) -> Result<Response<v1::ListConsentsResponse>, Status> {
        Err(unimplemented())
    }
    async fn create_contact(
        &self,
        _: Request<v1::CreateContactRequest>,
    ) -> Result<Response<v1::Contact>, Status> {
        Err(unimplemented())
    }
    async fn list_contacts(
        &self,
        _: Request<v1::ListContactsRequest>,
    ) -> Result<Response<v1::ListContactsResponse>, Status> {
        Err(unimplemented())
    }
    async fn update_contact(
        &self,
        _: Request<v1::UpdateContactRequest>,
    ) -> Result<Response<v1::Contact>, Status> {
        Err(unimplemented())
    }
    async fn delete_contact(
        &self,
        _: Request<v1::DeleteContactRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        Err(unimplemented())
    }
    async fn list_customer_history(
        &self,
        _: Request<v1::ListCustomerHistoryRequest>,
    ) -> Result<Response<v1::ListCustomerHistoryResponse>, Status> {
        Err(unimplemented())
    }
    async fn add_contact_point(
        &self,
        _: Request<v1::AddContactPointRequest>,
    ) -> Result<Response<v1::ContactPoint>, Status> {
        Err(unimplemented())
    }
    async fn list_contact_points(
        &self,
        _: Request<v1::ListContactPointsRequest>,
    ) -> Result<Response<v1::ListContactPointsResponse>, Status> {
        Err(unimplemented())
    }
    async fn delete_contact_point(
        &self,
        _: Request<v1::DeleteContactPointRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        Err(unimplemented())
    }
    async fn update_contact_point(
        &self,
        _: Request<v1::UpdateContactPointRequest>,
    ) -> Result<Response<v1::ContactPoint>, Status> {
        Err(unimplemented())
    }
    async fn search_customers(
        &self,
        _: Request<v1::SearchCustomersRequest>,
    ) -> Result<Response<v1::SearchCustomersResponse>, Status> {
        Err(unimplemented())
    }
    async fn summarize_customers(
        &self,
        _: Request<v1::SummarizeCustomersRequest>,
    ) -> Result<Response<v1::CustomerStatistics>, Status> {
        Err(unimplemented())
    }
    async fn share_customer(
        &self,
        _: Request<v1::ShareCustomerRequest>,
    ) -> Result<Response<v1::CustomerShare>, Status> {
        Err(unimplemented())
    }
    async fn list_customer_shares(
        &self,
        _: Request<v1::ListCustomerSharesRequest>,
    ) -> Result<Response<v1::ListCustomerSharesResponse>, Status> {
        Err(unimplemented())
    }
    async fn delete_customer_share(
        &self,
        _: Request<v1::DeleteCustomerShareRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        Err(unimplemented())
    }
    async fn transfer_customers(
        &self,
        _: Request<v1::TransferCustomersRequest>,
    ) -> Result<Response<v1::TransferCustomersResponse>, Status> {
        Err(unimplemented())
    }
    async fn create_custom_field_definition(
        &self,
        _: Request<v1::CreateCustomFieldDefinitionRequest>,
    ) -> Result<Response<v1::CustomFieldDefinition>, Status> {
        Err(unimplemented())
    }
    async fn list_custom_field_definitions(
        &self,
        _: Request<v1::ListCustomFieldDefinitionsRequest>,
    ) -> Result<Response<v1::ListCustomFieldDefinitionsResponse>, Status> {
        Err(unimplemented())
    }
    async fn update_custom_field_definition(
        &self,
        _: Request<v1::UpdateCustomFieldDefinitionRequest>,
    ) -> Result<Response<v1::CustomFieldDefinition>, Status> {
        Err(unimplemented())
    }
    async fn delete_custom_field_definition(
        &self,
        _: Request<v1::DeleteCustomFieldDefinitionRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        Err(unimplemented())
    }
}

/// Floor 1: answers from memory.
pub struct Echo;

impl Lookup for Echo {
    async fn get(&self, name: String) -> Result<Customer, Status> {
        Ok(Customer {
            id: name.trim_start_matches("customers/").to_owned(),
            name,
            display_name: "Echo GmbH".to_owned(),
            kind: 2,
            etag: "1".to_owned(),
            ..Default::default()
        })
    }
}

/// Serves a floor on `listener` until `stop` resolves.
pub async fn serve_on<L: Lookup>(
    listener: tokio::net::TcpListener,
    lookup: L,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use crm_proto::crm::customers::v1::customer_service_server::CustomerServiceServer;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(CustomerServiceServer::new(Floor(lookup)))
        .serve_with_incoming_shutdown(incoming, stop)
        .await?;
    Ok(())
}

/// Serves a floor on the address given as the first argument (default 127.0.0.1:50090)
/// until ctrl-c.
pub async fn serve<L: Lookup>(lookup: L) -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50090".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    serve_on(listener, lookup, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
