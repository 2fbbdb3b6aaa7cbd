//! The authorization matrix, continued: the customer's sub-resources and summary follow the
//! customer's permission and data scope (see `identity::authorization_matrix_of_the_customers_api`).
use crate::harness::Authed;
use crm_proto::crm::customers::v1::{
    BatchGetCustomersRequest, Consent, CreateInteractionRequest, CreateReminderRequest,
    GetCustomerSummaryRequest, Interaction, ListConsentsRequest, ListInteractionsRequest,
    ListRemindersRequest, ListTransactionsRequest, RecordConsentRequest, RecordTransactionRequest,
    Reminder, Transaction, consent, customer_service_client::CustomerServiceClient, interaction,
};
use tonic::Code;

/// RPCs checked here per record.
pub const RPCS: usize = 10;

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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let at = Some(pbjson_types::Timestamp {
        seconds: now,
        nanos: 0,
    });
    let reminder = Reminder {
        due_time: at,
        note: "matrix".into(),
        ..Default::default()
    };
    let got = code(
        c.create_reminder(CreateReminderRequest {
            parent: name.to_owned(),
            reminder: Some(reminder),
        })
        .await,
    );
    assert_eq!(got, expect(write), "create reminder: {ctx}");
    let consent = Consent {
        purpose: consent::Purpose::Sms as i32,
        status: consent::Status::Granted as i32,
        source: "matrix".into(),
        ..Default::default()
    };
    let got = code(
        c.record_consent(RecordConsentRequest {
            parent: name.to_owned(),
            consent: Some(consent),
        })
        .await,
    );
    assert_eq!(got, expect(write), "record consent: {ctx}");
    let order = Transaction {
        order_reference: format!("MATRIX-{}", uuid::Uuid::now_v7()),
        order_time: at,
        amount: Some(crm_proto::crm::r#type::v1::Money {
            currency_code: "CNY".into(),
            amount_minor: 100,
        }),
        ..Default::default()
    };
    let got = code(
        c.record_transaction(RecordTransactionRequest {
            parent: name.to_owned(),
            transaction: Some(order),
        })
        .await,
    );
    assert_eq!(got, expect(write), "record transaction: {ctx}");
    RPCS
}
