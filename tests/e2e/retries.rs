//! `request_id` on every create and mutating custom method of the customers API: concurrent
//! retries get the first response and write once; a different request reusing the id is refused.
use crate::harness::{Suite, backends};
use crm_proto::crm::customers::v1::{
    AddContactPointRequest, Contact, ContactPoint, CreateContactRequest,
    CreateCustomFieldDefinitionRequest, CreateCustomerRequest, CreateInteractionRequest,
    CreateReminderRequest, CustomFieldDefinition, Customer, Interaction, ListContactPointsRequest,
    ListInteractionsRequest, ListRemindersRequest, Reminder, contact_point,
    custom_field_definition, customer::Kind, customer_service_client::CustomerServiceClient,
    interaction,
};

use tonic::Code;

/// Sends `req` four times at once and once more after; every answer must be the same.
async fn same_answers<Req, Resp, F, Fut>(call: F, req: Req) -> Resp
where
    Req: Clone + Send + 'static,
    Resp: PartialEq + Send + 'static + std::fmt::Debug,
    F: Fn(Req) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    let mut calls = Vec::new();
    for _ in 0..4 {
        let (call, req) = (call.clone(), req.clone());
        calls.push(tokio::spawn(async move {
            call(req).await.map(|r| r.into_inner())
        }));
    }
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap().unwrap());
    }
    answers.push(call(req).await.unwrap().into_inner());
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    answers.remove(0)
}

#[tokio::test]
async fn retried_sub_resource_writes_happen_once() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let c = CustomerServiceClient::new(suite.channel(&suite.admin_token).await);
        let org = Customer {
            display_name: "Retry Holding".into(),
            kind: Kind::Organization as i32,
            ..Default::default()
        };
        let created = c
            .clone()
            .create_customer(CreateCustomerRequest {
                duplicate_policy: 0,
                customer: Some(org),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let parent = created.name.clone();

        let req = CreateReminderRequest {
            parent: parent.clone(),
            reminder: Some(Reminder {
                due_time: Some(crm_proto::Timestamp {
                    seconds: 4_000_000_000,
                    nanos: 0,
                }),
                note: "call back".into(),
                ..Default::default()
            }),
            request_id: "rem-1".into(),
        };
        let cc = c.clone();
        same_answers(
            move |r| {
                let mut c = cc.clone();
                async move { c.create_reminder(r).await }
            },
            req.clone(),
        )
        .await;
        let reminders = c
            .clone()
            .list_reminders(ListRemindersRequest {
                parent: parent.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .reminders;
        assert_eq!(reminders.len(), 1, "{backend:?}");

        let req = CreateInteractionRequest {
            parent: parent.clone(),
            interaction: Some(Interaction {
                r#type: interaction::Type::Call as i32,
                subject: "intro".into(),
                ..Default::default()
            }),
            request_id: "int-1".into(),
        };
        let cc = c.clone();
        same_answers(
            move |r| {
                let mut c = cc.clone();
                async move { c.create_interaction(r).await }
            },
            req,
        )
        .await;
        let listed = c
            .clone()
            .list_interactions(ListInteractionsRequest {
                parent: parent.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .interactions;
        assert_eq!(listed.len(), 1, "{backend:?}");

        let req = AddContactPointRequest {
            parent: parent.clone(),
            contact_point: Some(ContactPoint {
                kind: contact_point::Kind::Phone as i32,
                phone: "138 0000 0001".into(),
                ..Default::default()
            }),
            request_id: "cp-1".into(),
        };
        let cc = c.clone();
        same_answers(
            move |r| {
                let mut c = cc.clone();
                async move { c.add_contact_point(r).await }
            },
            req.clone(),
        )
        .await;
        let points = c
            .clone()
            .list_contact_points(ListContactPointsRequest {
                parent: parent.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .contact_points;
        assert_eq!(points.len(), 1, "{backend:?}");

        let req = CreateContactRequest {
            parent: parent.clone(),
            contact: Some(Contact {
                display_name: "Li Lei".into(),
                ..Default::default()
            }),
            request_id: "con-1".into(),
        };
        let cc = c.clone();
        same_answers(
            move |r| {
                let mut c = cc.clone();
                async move { c.create_contact(r).await }
            },
            req,
        )
        .await;

        // A definition retried gives the first answer, not ALREADY_EXISTS.
        let req = CreateCustomFieldDefinitionRequest {
            definition: Some(CustomFieldDefinition {
                key: "retried".into(),
                label: "Retried".into(),
                r#type: custom_field_definition::Type::Text as i32,
                ..Default::default()
            }),
            request_id: "cfd-1".into(),
        };
        let cc = c.clone();
        same_answers(
            move |r| {
                let mut c = cc.clone();
                async move { c.create_custom_field_definition(r).await }
            },
            req,
        )
        .await;

        // The same id for a different request: refused, naming request_id; nothing written.
        let mut other = req_with_other_phone();
        other.parent = parent.clone();
        let err = c.clone().add_contact_point(other).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains("request_id"), "{}", err.message());
        let points = c
            .clone()
            .list_contact_points(ListContactPointsRequest { parent })
            .await
            .unwrap()
            .into_inner()
            .contact_points;
        assert_eq!(points.len(), 1, "{backend:?}");
        suite.stop().await;
    }
}

fn req_with_other_phone() -> AddContactPointRequest {
    AddContactPointRequest {
        parent: String::new(),
        contact_point: Some(ContactPoint {
            kind: contact_point::Kind::Phone as i32,
            phone: "138 0000 0002".into(),
            ..Default::default()
        }),
        request_id: "cp-1".into(),
    }
}
