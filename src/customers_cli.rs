//! `crm customers ...`: operator tools for the customers service.
use clap::Subcommand;

/// `crm customers`.
#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Re-encrypts every sensitive value not under the current key (`CRM_CUSTOMERS__CRYPTO__CURRENT`),
    /// in batches, each its own transaction. Safe to interrupt, to run again and to run while
    /// the service serves: a value changed meanwhile is left to the next run. Keep the old key
    /// configured until this reports nothing left.
    RotateKeys {
        /// Values per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

/// Runs a `crm customers` command against the configured customers database.
pub async fn main(config: &crm_customers::Config, command: CustomersCommand) -> anyhow::Result<()> {
    match command {
        CustomersCommand::RotateKeys { batch } => {
            let db = crm_customers::open_db(config).await?;
            let vault = crm_customers::sensitive::Vault::new(crm_customers::keyring(config)?);
            let rotated = vault.rotate(&db, batch.max(1)).await?;
            let left = vault.stale(&db).await?;
            db.close().await;
            println!("re-encrypted {rotated} values; {left} not under the current key");
            if left > 0 {
                anyhow::bail!(
                    "{left} values are under another key: values written during the run by a service still configured with the old current key? Run it again once every instance uses the new key"
                );
            }
            Ok(())
        }
    }
}
