//! A corporate system's view: generated gRPC clients against the gateway's address only.
use crate::harness::{Suite, backends};
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, GetCustomerRequest,
    ListCustomersRequest, UpdateCustomerRequest, customer::Kind,
    customer_service_client::CustomerServiceClient,
};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(addr.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client(suite: &Suite) -> CustomerServiceClient<crate::harness::Authed> {
    CustomerServiceClient::new(suite.channel(&suite.admin_token).await)
}

fn customer(name: &str) -> Customer {
    Customer {
        display_name: name.into(),
        kind: Kind::Organization as i32,
        email: "sales@example.com".into(),
        phone: "+86 21 5555 0100".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn crud_through_the_gateway() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let mut c = client(&suite).await;
        let created = c
            .create_customer(CreateCustomerRequest {
                duplicate_policy: 0,
                customer: Some(customer("上海示例有限公司")),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(created.name.starts_with("customers/"), "{backend:?}");
        assert_eq!(created.phone, "+862155550100");
        assert_eq!(created.etag, "1");

        let got = c
            .get_customer(GetCustomerRequest {
                name: created.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, created);

        let mut change = created.clone();
        change.display_name = "上海示例集团".into();
        change.email = String::new();
        let updated = c
            .update_customer(UpdateCustomerRequest {
                customer: Some(change),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["display_name".into(), "email".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.display_name, "上海示例集团");
        assert_eq!(updated.email, "", "a masked empty field is cleared");
        assert_eq!(updated.phone, created.phone, "an unmasked field is kept");
        assert_eq!(updated.etag, "2");

        let list = c
            .list_customers(ListCustomersRequest {
                filter: "display_name:\"示例\"".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(list.customers.len(), 1);

        c.delete_customer(DeleteCustomerRequest {
            name: created.name.clone(),
            etag: "2".into(),
        })
        .await
        .unwrap();
        let err = c
            .get_customer(GetCustomerRequest {
                name: created.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(
            err.get_error_details().error_info().unwrap().reason,
            "CUSTOMER_NOT_FOUND"
        );
        suite.stop().await;
    }
}

#[tokio::test]
async fn errors_carry_code_reason_and_fields() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let mut c = client(&suite).await;
        let mut bad = customer("");
        bad.email = "not-an-email".into();
        bad.kind = 0;
        let err = c
            .create_customer(CreateCustomerRequest {
                duplicate_policy: 0,
                customer: Some(bad),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let details = err.get_error_details();
        let mut fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            ["customer.display_name", "customer.email", "customer.kind"]
        );

        // A stale etag is ABORTED and changes nothing.
        let created = c
            .create_customer(CreateCustomerRequest {
                duplicate_policy: 0,
                customer: Some(customer("Etag AG")),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut stale = created.clone();
        stale.etag = "7".into();
        stale.display_name = "Lost Update AG".into();
        let err = c
            .update_customer(UpdateCustomerRequest {
                customer: Some(stale),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Aborted, "{backend:?}");
        let still = c
            .get_customer(GetCustomerRequest {
                name: created.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(still.display_name, "Etag AG");

        let err = c
            .get_customer(GetCustomerRequest {
                name: "customers/42".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(
            err.get_error_details()
                .bad_request()
                .unwrap()
                .field_violations[0]
                .field,
            "name"
        );
        suite.stop().await;
    }
}

#[tokio::test]
async fn retried_create_creates_one_row() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let mut c = client(&suite).await;
        let req = CreateCustomerRequest {
            duplicate_policy: 0,
            customer: Some(customer("Retry GmbH")),
            request_id: "erp-order-4711".into(),
        };
        // Concurrent retries race on the request log; each must answer with the one customer.
        let mut calls = Vec::new();
        for _ in 0..4 {
            let mut c = c.clone();
            let req = req.clone();
            calls.push(tokio::spawn(async move {
                c.create_customer(req).await.map(|r| r.into_inner())
            }));
        }
        let mut names = Vec::new();
        for call in calls {
            names.push(call.await.unwrap().unwrap().name);
        }
        names.dedup();
        assert_eq!(
            names.len(),
            1,
            "{backend:?}: every retry returns the same customer"
        );
        let list = c
            .list_customers(ListCustomersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(list.customers.len(), 1, "{backend:?}: one row");

        let mut other = req.clone();
        other.customer.as_mut().unwrap().display_name = "Another GmbH".into();
        let err = c.create_customer(other).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        suite.stop().await;
    }
}

#[tokio::test]
async fn health_and_reflection_answer_on_the_gateway_and_the_service() {
    use crm_platform::grpc::service_names;
    use tokio_stream::StreamExt;
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let suite = Suite::start(crate::harness::Backend::Sqlite).await;
    let service = format!("http://{}", suite.stack.customers_addr);
    for (addr, check) in [
        (suite.gateway(), ""),
        (service.clone(), "crm.customers.v1.CustomerService"),
    ] {
        let mut health = HealthClient::new(channel(&addr).await);
        let status = health
            .check(HealthCheckRequest {
                service: check.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.status, ServingStatus::Serving as i32, "{addr}");

        let mut reflection = ServerReflectionClient::new(channel(&addr).await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = reflection
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            stream.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.clone()).collect();
        assert!(
            names.contains(&"crm.customers.v1.CustomerService".to_owned()),
            "{addr}: {names:?}"
        );
        assert!(
            names.contains(&"grpc.health.v1.Health".to_owned()),
            "{addr}: {names:?}"
        );
    }
    // The gateway lists every CRM service it forwards to.
    let all = service_names(crm_proto::FILE_DESCRIPTOR_SET, "crm.").unwrap();
    assert!(!all.is_empty());
    suite.stop().await;
}
