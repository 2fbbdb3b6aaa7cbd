//! Sensitive fields end to end: masked unless permitted, kept when a masked value is sent back,
//! and never in clear in the database, its outbox, its audit trail or its idempotency log.
use crate::harness::{Backend, Suite, backends};
use crate::identity::{PASSWORD, create_user};
use crm_identity::roles;
use crm_platform::{db::Db, with_pool};
use crm_proto::crm::customers::v1::{
    CreateCustomerRequest, Customer, GetCustomerRequest, ListCustomerHistoryRequest,
    UpdateCustomerRequest, customer::Kind, customer_history_entry::Action,
    customer_service_client::CustomerServiceClient,
};
use crm_proto::crm::identity::v1::{
    ListUnitsRequest, directory_service_client::DirectoryServiceClient,
};

const ID: &str = "11010519491231002X";
const ID_2: &str = "310115198001011238";
const ACCOUNT: &str = "6222020200112233445";

/// Every plaintext value, as text and as the hex PostgreSQL prints bytea columns in.
fn needles() -> Vec<String> {
    let mut out = Vec::new();
    for v in [ID, ID_2, ACCOUNT, "110105194912", "622202020011"] {
        out.push(v.to_owned());
        out.push(v.bytes().map(|b| format!("{b:02x}")).collect());
    }
    out
}

/// Every row of every table of a PostgreSQL database, as text.
async fn postgres_dump(db: &Db) -> String {
    let tables: Vec<(String,)> = with_pool!(db, |pool| sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let mut dump = String::new();
    for (table,) in tables {
        let sql = format!("SELECT CAST(t AS TEXT) FROM \"{table}\" AS t");
        let rows: Vec<(String,)> =
            with_pool!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .fetch_all(pool)
                .await
                .unwrap());
        for (row,) in rows {
            dump.push_str(&row.to_lowercase());
            dump.push('\n');
        }
    }
    dump
}

/// Every byte of every SQLite file (database, WAL) of the stack.
fn sqlite_dump(dir: &std::path::Path) -> String {
    let mut dump = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            dump.extend(std::fs::read(&path).unwrap());
        }
    }
    String::from_utf8_lossy(&dump).to_lowercase()
}

#[tokio::test]
async fn sensitive_values_are_masked_audited_and_never_stored_in_clear() {
    for backend in backends() {
        let suite = Suite::start(backend).await;
        let admin = suite.channel(&suite.admin_token).await;
        let mut customers = CustomerServiceClient::new(admin.clone());
        let request = CreateCustomerRequest {
            duplicate_policy: 0,
            customer: Some(Customer {
                display_name: "Zhang San".into(),
                kind: Kind::Person as i32,
                national_id: "110105 19491231 002x".into(),
                bank_account: "6222-0202-0011-2233-445".into(),
                ..Default::default()
            }),
            request_id: "5b0e7a34-8a57-4a2e-9d43-1f7c1b8d2a11".into(),
        };
        let created = customers
            .create_customer(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(created.national_id, "************002X");
        assert_eq!(created.bank_account, "************3445");
        let again = customers
            .create_customer(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, created, "a retry answers as the first call, masked");

        // The administrator holds customers.sensitive.read; a sales manager does not.
        let get = GetCustomerRequest {
            name: created.name.clone(),
            ..Default::default()
        };
        let clear = customers
            .get_customer(get.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (clear.national_id.as_str(), clear.bank_account.as_str()),
            (ID, ACCOUNT)
        );
        // A UI asks for masked values until its user reveals them: masked even for the
        // administrator, and no read is recorded; the reveal (a plain read) is.
        let reads = |customers: CustomerServiceClient<_>, name: String| async move {
            let mut customers = customers;
            let history = customers
                .list_customer_history(ListCustomerHistoryRequest {
                    parent: name,
                    page_size: 100,
                    page_token: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            history
                .entries
                .iter()
                .filter(|e| e.action == Action::SensitiveRead as i32)
                .count()
        };
        let before = reads(customers.clone(), created.name.clone()).await;
        let masked = customers
            .get_customer(GetCustomerRequest {
                name: created.name.clone(),
                mask_sensitive: true,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (masked.national_id.as_str(), masked.bank_account.as_str()),
            ("************002X", "************3445")
        );
        assert_eq!(reads(customers.clone(), created.name.clone()).await, before);
        customers.get_customer(get.clone()).await.unwrap();
        assert_eq!(
            reads(customers.clone(), created.name.clone()).await,
            before + 1
        );
        let mut dir = DirectoryServiceClient::new(admin);
        let root = dir
            .list_units(ListUnitsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .units[0]
            .name
            .clone();
        create_user(&mut dir, "manager", &root, &[roles::SALES_MANAGER]).await;
        let manager = suite.login("manager", PASSWORD).await;
        let mut as_manager = CustomerServiceClient::new(suite.channel(&manager).await);
        let seen = as_manager
            .get_customer(get.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seen.national_id, "************002X");

        // Sending the masked read back with "*" keeps the stored values.
        let renamed = as_manager
            .update_customer(UpdateCustomerRequest {
                customer: Some(Customer {
                    display_name: "Zhang San (VIP)".into(),
                    ..seen
                }),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["*".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(renamed.national_id, "************002X");
        let clear = customers
            .get_customer(get.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (clear.national_id.as_str(), clear.bank_account.as_str()),
            (ID, ACCOUNT)
        );

        // A new value replaces it; a bad one is refused naming the field.
        let changed = customers
            .update_customer(UpdateCustomerRequest {
                customer: Some(Customer {
                    national_id: ID_2.into(),
                    ..clear.clone()
                }),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["national_id".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(changed.national_id, "************1238");
        let refused = customers
            .update_customer(UpdateCustomerRequest {
                customer: Some(Customer {
                    national_id: "110105194912310021".into(),
                    ..changed.clone()
                }),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["national_id".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(
            refused.message().contains("customer.national_id"),
            "{}",
            refused.message()
        );

        // The trail shows the administrator's unmasked reads (the two above and the reveal
        // after the masked read), and the changes masked.
        let r = suite
            .http()
            .call("GET", &format!("/api/v1/{}/history", created.name), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let entries = r.json["entries"].as_array().unwrap();
        let reads = entries
            .iter()
            .filter(|e| e["action"] == "SENSITIVE_READ")
            .count();
        assert_eq!(reads, 3, "{}", r.text);
        assert!(r.text.contains("************1238"), "{}", r.text);

        // No plaintext anywhere in storage.
        let dump = match backend {
            Backend::Sqlite => sqlite_dump(&suite.data_dir()),
            Backend::Postgres => {
                let mut all = String::new();
                for db in suite.stack.databases() {
                    all.push_str(&postgres_dump(db).await);
                }
                all
            }
        };
        assert!(
            dump.len() > 10_000,
            "the dump holds the data ({} bytes)",
            dump.len()
        );
        assert!(dump.contains("zhang san"), "the dump is readable");
        for needle in needles() {
            assert!(
                !dump.contains(&needle.to_lowercase()),
                "{backend:?}: {needle} is stored in clear"
            );
        }
        suite.stop().await;
    }
}
