//! Floor 1: a bare tonic unary server answering GetCustomer from memory.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    crm_bench_floors::serve(crm_bench_floors::Echo).await
}
