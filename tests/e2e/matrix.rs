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
            request_id: String::new(),
        })
        .await,
    );
    assert_eq!(created, expect(write), "create interaction: {ctx}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let at = Some(crm_proto::Timestamp {
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
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
        })
        .await,
    );
    assert_eq!(got, expect(write), "record transaction: {ctx}");
    RPCS
}

/// RPCs checked by [`customer_access`] per record.
pub const MORE_RPCS: usize = 21;

/// The record a check is about: its name, display name, owner and owner's unit path.
pub struct Record<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub owner_id: &'a str,
    pub owner_path: &'a str,
}

/// Checks contacts, contact points, history, shares, transfer, search, reminders of the day,
/// upsert and custom field definitions for a caller who may `read`/`write` customers, `sees`
/// this record, and `defines` custom fields; returns the number of checks.
pub async fn customer_access(
    c: &mut CustomerServiceClient<Authed>,
    record: &Record<'_>,
    (read, write, sees, defines): (bool, bool, bool, bool),
    ctx: &str,
) -> usize {
    use crm_proto::crm::customers::v1::{
        AddContactPointRequest, Contact, ContactPoint, CreateContactRequest,
        CreateCustomFieldDefinitionRequest, CustomFieldDefinition, Customer, CustomerShare,
        DeleteContactPointRequest, DeleteContactRequest, DeleteCustomFieldDefinitionRequest,
        DeleteCustomerShareRequest, ListContactPointsRequest, ListContactsRequest,
        ListCustomFieldDefinitionsRequest, ListCustomerHistoryRequest, ListCustomerSharesRequest,
        ListMyRemindersRequest, SearchCustomersRequest, ShareCustomerRequest,
        TransferCustomersRequest, UpdateContactPointRequest, UpdateContactRequest,
        UpdateCustomFieldDefinitionRequest, UpdateReminderRequest, UpsertCustomerRequest,
        contact_point, custom_field_definition, customer::Kind,
    };
    let expect = |allowed: bool, when_seen: Code| {
        if !allowed {
            Code::PermissionDenied
        } else if sees {
            when_seen
        } else {
            Code::NotFound
        }
    };
    let parent = record.name.to_owned();
    let missing = uuid::Uuid::now_v7();
    let mut checks: Vec<(&str, Code, Code)> = Vec::new();
    let got = code(
        c.list_contacts(ListContactsRequest {
            parent: parent.clone(),
            ..Default::default()
        })
        .await,
    );
    checks.push(("list contacts", got, expect(read, Code::Ok)));
    let got = code(
        c.list_contact_points(ListContactPointsRequest {
            parent: parent.clone(),
        })
        .await,
    );
    checks.push(("list contact points", got, expect(read, Code::Ok)));
    let got = code(
        c.list_customer_history(ListCustomerHistoryRequest {
            parent: parent.clone(),
            ..Default::default()
        })
        .await,
    );
    checks.push(("history", got, expect(read, Code::Ok)));
    let got = code(
        c.list_customer_shares(ListCustomerSharesRequest {
            parent: parent.clone(),
        })
        .await,
    );
    checks.push(("list shares", got, expect(read, Code::Ok)));
    // The records are persons: a contact is refused once the record is reached.
    let contact = Contact {
        display_name: "Matrix".into(),
        ..Default::default()
    };
    let got = code(
        c.create_contact(CreateContactRequest {
            parent: parent.clone(),
            contact: Some(contact),
            request_id: String::new(),
        })
        .await,
    );
    checks.push((
        "create contact",
        got,
        expect(write, Code::FailedPrecondition),
    ));
    let point = ContactPoint {
        kind: contact_point::Kind::Email as i32,
        email: format!("{}@matrix.example", uuid::Uuid::now_v7().simple()),
        ..Default::default()
    };
    let got = code(
        c.add_contact_point(AddContactPointRequest {
            parent: parent.clone(),
            contact_point: Some(point),
            request_id: String::new(),
        })
        .await,
    );
    checks.push(("add contact point", got, expect(write, Code::Ok)));
    let got = code(
        c.delete_contact_point(DeleteContactPointRequest {
            name: format!("{parent}/contactPoints/{missing}"),
        })
        .await,
    );
    checks.push(("delete contact point", got, expect(write, Code::NotFound)));
    let got = code(
        c.update_contact_point(UpdateContactPointRequest {
            contact_point: Some(ContactPoint {
                name: format!("{parent}/contactPoints/{missing}"),
                label: "x".into(),
                ..Default::default()
            }),
            update_mask: Some(pbjson_types::FieldMask {
                paths: vec!["label".into()],
            }),
        })
        .await,
    );
    checks.push(("update contact point", got, expect(write, Code::NotFound)));
    let got = code(
        c.update_contact(UpdateContactRequest {
            contact: Some(Contact {
                name: format!("{parent}/contacts/{missing}"),
                display_name: "x".into(),
                ..Default::default()
            }),
            update_mask: Some(pbjson_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
        })
        .await,
    );
    checks.push(("update contact", got, expect(write, Code::NotFound)));
    let got = code(
        c.delete_contact(DeleteContactRequest {
            name: format!("{parent}/contacts/{missing}"),
        })
        .await,
    );
    checks.push(("delete contact", got, expect(write, Code::NotFound)));
    let got = code(
        c.delete_customer_share(DeleteCustomerShareRequest {
            name: format!("{parent}/shares/{missing}"),
        })
        .await,
    );
    checks.push(("delete share", got, expect(write, Code::NotFound)));
    let got = code(
        c.update_reminder(UpdateReminderRequest {
            reminder: Some(crm_proto::crm::customers::v1::Reminder {
                name: format!("{parent}/reminders/{missing}"),
                ..Default::default()
            }),
            update_mask: Some(pbjson_types::FieldMask {
                paths: vec!["note".into()],
            }),
        })
        .await,
    );
    checks.push(("update reminder", got, expect(write, Code::NotFound)));
    let share = CustomerShare {
        unit_path: "/g/matrix/".into(),
        ..Default::default()
    };
    let got = code(
        c.share_customer(ShareCustomerRequest {
            parent: parent.clone(),
            share: Some(share),
            request_id: String::new(),
        })
        .await,
    );
    checks.push(("share", got, expect(write, Code::Ok)));
    // To the same owner: reached and allowed, nothing changes.
    let got = code(
        c.transfer_customers(TransferCustomersRequest {
            names: vec![parent.clone()],
            to_owner_id: record.owner_id.into(),
            to_unit_path: record.owner_path.into(),
            ..Default::default()
        })
        .await,
    );
    checks.push(("transfer", got, expect(write, Code::Ok)));
    // Search finds the record exactly when it is seen.
    let found = c
        .search_customers(SearchCustomersRequest {
            query: record.display_name.into(),
            page_size: 100,
        })
        .await;
    match found {
        Ok(r) => {
            assert!(read, "search allowed without read: {ctx}");
            let ids: Vec<_> = r
                .into_inner()
                .results
                .into_iter()
                .filter_map(|h| h.customer.map(|c| c.name))
                .collect();
            assert_eq!(ids.contains(&parent), sees, "search: {ctx}");
        }
        Err(s) => assert_eq!(
            (s.code(), read),
            (Code::PermissionDenied, false),
            "search: {ctx}"
        ),
    }
    let got = code(c.list_my_reminders(ListMyRemindersRequest::default()).await);
    checks.push((
        "my reminders",
        got,
        if read {
            Code::Ok
        } else {
            Code::PermissionDenied
        },
    ));
    let upsert = Customer {
        display_name: "Upserted".into(),
        kind: Kind::Person as i32,
        source: "matrix".into(),
        external_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    let got = code(
        c.upsert_customer(UpsertCustomerRequest {
            duplicate_policy: 0,
            customer: Some(upsert),
            update_mask: None,
        })
        .await,
    );
    checks.push((
        "upsert",
        got,
        if write {
            Code::Ok
        } else {
            Code::PermissionDenied
        },
    ));
    let got = code(
        c.list_custom_field_definitions(ListCustomFieldDefinitionsRequest {})
            .await,
    );
    checks.push((
        "list field definitions",
        got,
        if read {
            Code::Ok
        } else {
            Code::PermissionDenied
        },
    ));
    let definition = CustomFieldDefinition {
        key: format!("m{}", uuid::Uuid::now_v7().simple())
            .chars()
            .take(40)
            .collect(),
        label: "Matrix".into(),
        r#type: custom_field_definition::Type::Text as i32,
        ..Default::default()
    };
    let got = code(
        c.create_custom_field_definition(CreateCustomFieldDefinitionRequest {
            definition: Some(definition),
            request_id: String::new(),
        })
        .await,
    );
    checks.push((
        "define field",
        got,
        if defines {
            Code::Ok
        } else {
            Code::PermissionDenied
        },
    ));
    let definition = CustomFieldDefinition {
        name: "customFieldDefinitions/absent".into(),
        label: "x".into(),
        ..Default::default()
    };
    let got = code(
        c.update_custom_field_definition(UpdateCustomFieldDefinitionRequest {
            definition: Some(definition),
            update_mask: Some(pbjson_types::FieldMask {
                paths: vec!["label".into()],
            }),
        })
        .await,
    );
    checks.push((
        "update field",
        got,
        if defines {
            Code::NotFound
        } else {
            Code::PermissionDenied
        },
    ));
    let got = code(
        c.delete_custom_field_definition(DeleteCustomFieldDefinitionRequest {
            name: "customFieldDefinitions/absent".into(),
        })
        .await,
    );
    checks.push((
        "delete field",
        got,
        if defines {
            Code::NotFound
        } else {
            Code::PermissionDenied
        },
    ));
    for (rpc, got, expected) in &checks {
        assert_eq!(got, expected, "{rpc}: {ctx}");
    }
    assert_eq!(checks.len() + 1, MORE_RPCS);
    MORE_RPCS
}
