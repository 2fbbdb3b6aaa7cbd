//! Identity end to end: the authorization matrix of the customers API, machine clients,
//! logout, lockout, tokens at the edge.
use crate::harness::{Authed, Http, Suite, backends};
use crm_customers::store::{CustomerRow, Store};
use crm_identity::roles;
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, DeleteCustomerRequest, GetCustomerRequest,
    ListCustomersRequest, SummarizeCustomersRequest, UpdateCustomerRequest, customer::Kind,
    customer_service_client::CustomerServiceClient,
};
use crm_proto::crm::identity::v1::{
    ApiClient, AssignRolesRequest, CreateApiClientRequest, CreateUnitRequest, CreateUserRequest,
    Unit, User, access_service_client::AccessServiceClient,
    directory_service_client::DirectoryServiceClient, unit,
};
use serde_json::json;
use tonic::Code;
use uuid::Uuid;

pub(crate) const PASSWORD: &str = "matrix-password-2026";

/// What a role may do with customers, written out here independently of `roles.rs`:
/// (read, write, delete, scope).
fn expectation(role: Uuid) -> (bool, bool, bool, &'static str) {
    match role {
        r if r == roles::ADMINISTRATOR => (true, true, true, "ALL"),
        r if r == roles::SALES_REP => (true, true, false, "OWN"),
        r if r == roles::SALES_MANAGER => (true, true, true, "SUBTREE"),
        r if r == roles::SERVICE_AGENT => (true, false, false, "UNIT"),
        r if r == roles::SERVICE_MANAGER => (true, true, false, "SUBTREE"),
        r if r == roles::MARKETER => (true, false, false, "ALL"),
        r if r == roles::AUDITOR => (true, false, false, "ALL"),
        r if r == roles::INTEGRATION => (true, true, false, "ALL"),
        _ => (false, false, false, "NONE"),
    }
}

/// Where a record's owner sits relative to the actor (in /g/east/).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Owner {
    Actor,
    SameUnit,
    SubUnit,
    OtherBranch,
}

fn visible(scope: &str, owner: Owner) -> bool {
    match scope {
        "ALL" => true,
        "SUBTREE" => owner != Owner::OtherBranch,
        "UNIT" => matches!(owner, Owner::Actor | Owner::SameUnit),
        "OWN" => owner == Owner::Actor,
        _ => false,
    }
}

async fn create_unit(
    dir: &mut DirectoryServiceClient<Authed>,
    code: &str,
    kind: unit::Kind,
    parent: &str,
) -> Unit {
    let unit = Unit {
        code: code.into(),
        kind: kind as i32,
        parent: parent.into(),
        display_name: code.into(),
        ..Default::default()
    };
    dir.create_unit(CreateUnitRequest {
        unit: Some(unit),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

pub(crate) async fn create_user(
    dir: &mut DirectoryServiceClient<Authed>,
    login: &str,
    unit: &str,
    roles: &[Uuid],
) -> User {
    let user = User {
        login_name: login.into(),
        display_name: login.into(),
        unit: unit.into(),
        ..Default::default()
    };
    let created = dir
        .create_user(CreateUserRequest {
            user: Some(user),
            password: PASSWORD.into(),
            require_password_change: false,
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let roles = roles.iter().map(|r| format!("roles/{r}")).collect();
    dir.assign_roles(AssignRolesRequest {
        name: created.name.clone(),
        roles,
        etag: created.etag.clone(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

/// Creates an API client holding `role`, as the administrator; returns it with its secret.
pub(crate) async fn create_client(suite: &Suite, name: &str, role: Uuid) -> (ApiClient, String) {
    let mut access = AccessServiceClient::new(suite.channel(&suite.admin_token).await);
    let client = ApiClient {
        display_name: name.into(),
        roles: vec![format!("roles/{role}")],
        ..Default::default()
    };
    let request = CreateApiClientRequest {
        api_client: Some(client),
        request_id: String::new(),
    };
    let created = access
        .create_api_client(request)
        .await
        .unwrap()
        .into_inner();
    (created.api_client.unwrap(), created.client_secret)
}

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
}

#[tokio::test]
async fn authorization_matrix_of_the_customers_api() {
    let mut checked = 0;
    let per_backend =
        (5 + crate::matrix::RPCS + crate::matrix::MORE_RPCS + crate::duplicates::DUPLICATE_RPCS)
            * 8
            * 4;
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let mut dir = DirectoryServiceClient::new(suite.channel(&suite.admin_token).await);
        let root = dir
            .list_units(crm_proto::crm::identity::v1::ListUnitsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .units[0]
            .name
            .clone();
        let east = create_unit(&mut dir, "east", unit::Kind::Region, &root).await;
        let sh = create_unit(&mut dir, "sh", unit::Kind::Department, &east.name).await;
        let west = create_unit(&mut dir, "west", unit::Kind::Region, &root).await;

        // Records owned by users placed around the actors (all actors sit in /g/east/).
        let colleague = create_user(&mut dir, "colleague", &east.name, &[]).await;
        let junior = create_user(&mut dir, "junior", &sh.name, &[]).await;
        let stranger = create_user(&mut dir, "stranger", &west.name, &[]).await;
        let store = Store::new(suite.stack.customers_db().clone());
        let insert = |owner: &User, path: &str, name: &str| {
            let now = crm_platform::db::now();
            CustomerRow::new(
                name,
                crm_customers::domain::Kind::Person,
                Some(owner.id.parse().unwrap()),
                path,
                now,
            )
        };
        let mut fixed = Vec::new();
        for (owner, path, kind) in [
            (&colleague, &east.path, Owner::SameUnit),
            (&junior, &sh.path, Owner::SubUnit),
            (&stranger, &west.path, Owner::OtherBranch),
        ] {
            let row = insert(owner, path, &format!("{kind:?}"));
            seed(&store, &row).await;
            fixed.push((kind, row.id));
        }

        let built_in = [
            roles::ADMINISTRATOR,
            roles::SALES_REP,
            roles::SALES_MANAGER,
            roles::SERVICE_AGENT,
            roles::SERVICE_MANAGER,
            roles::MARKETER,
            roles::AUDITOR,
            roles::INTEGRATION,
        ];
        for (i, role) in built_in.iter().enumerate() {
            let (read, write, delete, scope) = expectation(*role);
            let actor = create_user(&mut dir, &format!("actor{i}"), &east.name, &[*role]).await;
            let own = insert(&actor, &east.path, "Actor");
            seed(&store, &own).await;
            let token = suite.login(&format!("actor{i}"), PASSWORD).await;
            let mut c = CustomerServiceClient::new(suite.channel(&token).await);
            let mut d = crm_proto::crm::customers::v1::duplicate_service_client::DuplicateServiceClient::new(
                suite.channel(&token).await,
            );
            let listed: Vec<String> = match c
                .list_customers(ListCustomersRequest {
                    page_size: 100,
                    ..Default::default()
                })
                .await
            {
                Ok(r) => r.into_inner().customers.into_iter().map(|c| c.id).collect(),
                Err(s) => {
                    assert_eq!(s.code(), Code::PermissionDenied);
                    Vec::new()
                }
            };
            // SummarizeCustomers needs what ListCustomers needs and counts what it lists.
            match c
                .summarize_customers(SummarizeCustomersRequest::default())
                .await
            {
                Ok(r) => {
                    let all = c
                        .list_customers(ListCustomersRequest {
                            page_size: 1000,
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .customers;
                    let ctx = format!("{backend:?} role {i} scope {scope}");
                    assert_eq!(
                        r.into_inner().total_count,
                        all.len() as i64,
                        "summarize: {ctx}"
                    );
                }
                Err(s) => assert_eq!((s.code(), read), (Code::PermissionDenied, false)),
            }
            let records = [(Owner::Actor, own.id)]
                .into_iter()
                .chain(fixed.iter().copied());
            for (owner, id) in records {
                let name = format!("customers/{id}");
                let sees = read && visible(scope, owner);
                let ctx = format!("{backend:?} role {i} scope {scope} record {owner:?}");
                // Get
                let expected = if !read {
                    Code::PermissionDenied
                } else if sees {
                    Code::Ok
                } else {
                    Code::NotFound
                };
                assert_eq!(
                    code(
                        c.get_customer(GetCustomerRequest {
                            name: name.clone(),
                            ..Default::default()
                        })
                        .await
                    ),
                    expected,
                    "get: {ctx}"
                );
                // List
                assert_eq!(listed.contains(&id.to_string()), sees, "list: {ctx}");
                // Update with a stale etag: ABORTED proves the record was reached, nothing changes.
                let change = Customer {
                    name: name.clone(),
                    display_name: "Changed".into(),
                    etag: "999".into(),
                    ..Default::default()
                };
                let mask = Some(pbjson_types::FieldMask {
                    paths: vec!["display_name".into()],
                });
                let expected = if !write {
                    Code::PermissionDenied
                } else if read && visible(scope, owner) {
                    Code::Aborted
                } else {
                    Code::NotFound
                };
                assert_eq!(
                    code(
                        c.update_customer(UpdateCustomerRequest {
                            customer: Some(change),
                            update_mask: mask
                        })
                        .await
                    ),
                    expected,
                    "update: {ctx}"
                );
                // Delete with a stale etag, likewise.
                let expected = if !delete {
                    Code::PermissionDenied
                } else if visible(scope, owner) {
                    Code::Aborted
                } else {
                    Code::NotFound
                };
                assert_eq!(
                    code(
                        c.delete_customer(DeleteCustomerRequest {
                            name,
                            etag: "999".into()
                        })
                        .await
                    ),
                    expected,
                    "delete: {ctx}"
                );
                // Create (the record's owner position does not matter; checked per record to keep the matrix square).
                let new = Customer {
                    display_name: "New".into(),
                    kind: Kind::Person as i32,
                    ..Default::default()
                };
                let expected = if write {
                    Code::Ok
                } else {
                    Code::PermissionDenied
                };
                assert_eq!(
                    code(
                        c.create_customer(CreateCustomerRequest {
                            duplicate_policy: 0,
                            customer: Some(new),
                            request_id: String::new()
                        })
                        .await
                    ),
                    expected,
                    "create: {ctx}"
                );
                checked += 5;
                checked += crate::matrix::customer_subresources(
                    &mut c,
                    &format!("customers/{id}"),
                    read,
                    write,
                    sees,
                    &ctx,
                )
                .await;
                let (owner_id, owner_path) = match owner {
                    Owner::Actor => (actor.id.clone(), east.path.clone()),
                    Owner::SameUnit => (colleague.id.clone(), east.path.clone()),
                    Owner::SubUnit => (junior.id.clone(), sh.path.clone()),
                    Owner::OtherBranch => (stranger.id.clone(), west.path.clone()),
                };
                let record = crate::matrix::Record {
                    name: &format!("customers/{id}"),
                    display_name: if owner == Owner::Actor {
                        "Actor"
                    } else {
                        &format!("{owner:?}")
                    },
                    owner_id: &owner_id,
                    owner_path: &owner_path,
                };
                let defines = *role == roles::ADMINISTRATOR;
                // Merging is granted with deleting in the built-in roles.
                checked += crate::duplicates::duplicate_access(
                    &mut d,
                    record.name,
                    (read, delete, sees),
                    &ctx,
                )
                .await;
                checked += crate::matrix::customer_access(
                    &mut c,
                    &record,
                    (read, write, sees, defines),
                    &ctx,
                )
                .await;
            }
        }
        // A token-less call never gets in.
        let channel = tonic::transport::Channel::from_shared(suite.gateway())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let err = CustomerServiceClient::new(channel)
            .list_customers(ListCustomersRequest::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        suite.stop().await;
    }
    println!(
        "authorization matrix: {} RPCs x 8 built-in roles x 4 record owners x {} backends = {checked} checks",
        5 + crate::matrix::RPCS + crate::matrix::MORE_RPCS + crate::duplicates::DUPLICATE_RPCS,
        checked / per_backend
    );
    assert_eq!(checked % per_backend, 0);
}

#[tokio::test]
async fn an_erp_client_gets_a_token_and_creates_a_customer_through_the_gateway() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let (client, secret) = create_client(&suite, "SAP ERP", roles::INTEGRATION).await;
        let client_id = client.client_id;
        let http = Http::anonymous(suite.gateway());
        let r = http
            .call(
                "POST",
                "/api/v1/auth/token",
                Some(json!({"client_id": client_id, "client_secret": secret})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json.get("refresh_token").is_none());
        let token = r.json["access_token"].as_str().unwrap();

        let mut c = CustomerServiceClient::new(suite.channel(token).await);
        let customer = Customer {
            display_name: "Imported from ERP".into(),
            kind: Kind::Organization as i32,
            ..Default::default()
        };
        let made = c
            .create_customer(CreateCustomerRequest {
                duplicate_policy: 0,
                customer: Some(customer),
                request_id: "erp-42".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(made.owner_id, "", "a machine client owns nothing");
        let listed = c
            .list_customers(ListCustomersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            listed.customers.len(),
            1,
            "{backend:?}: integration sees every customer"
        );
        let err = c
            .delete_customer(DeleteCustomerRequest {
                name: made.name,
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::PermissionDenied,
            "integration may not delete"
        );

        let r = http
            .call(
                "POST",
                "/api/v1/auth/token",
                Some(json!({"client_id": client_id, "client_secret": "wrong"})),
            )
            .await;
        assert_eq!(r.status, 401);
        suite.stop().await;
    }
}

/// Writes a customer row straight into the store, bypassing the API (fixtures with chosen owners).
async fn seed(store: &crm_customers::store::Store, row: &crm_customers::store::CustomerRow) {
    let mut tx = store.db().begin().await.unwrap();
    store
        .insert(&mut tx, row, None, |_| Vec::new())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}
