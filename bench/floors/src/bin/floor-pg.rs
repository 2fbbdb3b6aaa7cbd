//! Floor 2: a bare tonic server doing one sqlx primary-key select per GetCustomer on the
//! customers table of the database in `DATABASE_URL` (the same one the suite uses).
use crm_bench_floors::{Lookup, serve};
use crm_proto::crm::customers::v1::Customer;
use sqlx::PgPool;

struct Pg(PgPool);

type Row = (
    uuid::Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    i64,
);

impl Lookup for Pg {
    async fn get(&self, name: String) -> Result<Customer, tonic::Status> {
        let id = uuid::Uuid::parse_str(name.trim_start_matches("customers/"))
            .map_err(|_| tonic::Status::invalid_argument("bad name"))?;
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, display_name, kind, email, phone, created_at, version FROM customers WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.0)
        .await
        .map_err(|_| tonic::Status::internal("query failed"))?;
        let (id, display_name, kind, email, phone, created_at, version) =
            row.ok_or_else(|| tonic::Status::not_found("no such customer"))?;
        Ok(Customer {
            name,
            id: id.to_string(),
            display_name,
            kind: if kind == "PERSON" { 1 } else { 2 },
            email: email.unwrap_or_default(),
            phone: phone.unwrap_or_default(),
            create_time: Some(crm_proto::Timestamp {
                seconds: created_at.timestamp(),
                nanos: 0,
            }),
            etag: version.to_string(),
            ..Default::default()
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("set DATABASE_URL"))?;
    // The same pool size the customers service uses by default.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await?;
    serve(Pg(pool)).await
}
