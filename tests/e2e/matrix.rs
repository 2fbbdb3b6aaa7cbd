//! The authorization matrix, continued: the customer's sub-resources and summary follow the
//! customer's permission and data scope (see `identity::authorization_matrix_of_the_customers_api`).
use crate::harness::Authed;
use crm_proto::crm::customers::v1::{
    BatchGetCustomersRequest, CreateInteractionRequest, GetCustomerSummaryRequest, Interaction,
    ListConsentsRequest, ListInteractionsRequest, ListRemindersRequest, ListTransactionsRequest,
    customer_service_client::CustomerServiceClient, interaction,
};
use tonic::Code;

/// RPCs checked here per record.
pub const RPCS: usize = 7;

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
}

/// Checks every sub-resource RPC on customer `name` for a caller who may `read`/`write`
/// customers and `sees` this one; returns the number of checks.
pub async fn customer_subresources(
    c: &mut CustomerServiceClient<Authed>,
    name: &str,
    read: bool,
    write: bool,
    sees: bool,
    ctx: &str,
) -> usize {
    let expect = |allowed: bool| {
        if !allowed {
            Code::PermissionDenied
        } else if sees {
            Code::Ok
        } else {
            Code::NotFound
        }
    };
    let parent = name.to_owned();
    let reads = [
        (
            "summary",
            code(
                c.get_customer_summary(GetCustomerSummaryRequest {
                    name: parent.clone(),
                })
                .await,
            ),
        ),
        (
            "transactions",
            code(
                c.list_transactions(ListTransactionsRequest {
                    parent: parent.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "interactions",
            code(
                c.list_interactions(ListInteractionsRequest {
                    parent: parent.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "reminders",
            code(
                c.list_reminders(ListRemindersRequest {
                    parent: parent.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "consents",
            code(
                c.list_consents(ListConsentsRequest {
                    parent: parent.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "batch get",
            code(
                c.batch_get_customers(BatchGetCustomersRequest {
                    names: vec![parent.clone()],
                })
                .await,
            ),
        ),
    ];
    for (rpc, got) in reads {
        assert_eq!(got, expect(read), "{rpc}: {ctx}");
    }
    // A write on a sub-resource needs write and the customer in scope (a writer who cannot read
    // does not exist among the built-in roles, so `sees` covers it).
    let note = Interaction {
        r#type: interaction::Type::Note as i32,
        subject: "matrix".into(),
        ..Default::default()
    };
    let created = code(
        c.create_interaction(CreateInteractionRequest {
            parent,
            interaction: Some(note),
        })
        .await,
    );
    assert_eq!(created, expect(write), "create interaction: {ctx}");
    RPCS
}
