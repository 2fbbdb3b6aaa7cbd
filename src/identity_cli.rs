//! `crm identity ...`: operator tools for the identity service, run on the server against its
//! database.
use clap::Subcommand;
use crm_identity::recovery::{self, ResetAdmin};
use crm_platform::config::Secret;

/// `crm identity`.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Recovers a lost administrator: makes the user active and unlocked, gives it the
    /// Administrator role (creating the user when the login name is unknown) and a new password
    /// that must be changed at the next login, and ends its sessions. The password is taken from
    /// CRM_ADMIN_PASSWORD, else generated and printed once. Works on the identity database
    /// directly, so access to the server is the authorisation; recorded in the security audit
    /// log with the actor "cli".
    ResetAdmin {
        /// The user to make administrator.
        #[arg(long)]
        login_name: String,
        /// The identity database, instead of CRM_IDENTITY__DATABASE_URL / the config file.
        /// Prefer the variable when the URL holds a password: arguments are visible to other
        /// users of the machine.
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// Runs a `crm identity` command against the configured identity database.
pub async fn main(config: &crm_identity::Config, command: IdentityCommand) -> anyhow::Result<()> {
    match command {
        IdentityCommand::ResetAdmin {
            login_name,
            database_url,
        } => {
            let mut config = config.clone();
            if let Some(url) = database_url {
                config.database_url = Secret::new(url);
            }
            // open_db also applies pending migrations: the same as the server does at start.
            let db = crm_identity::open_db(&config).await?;
            let store = crm_identity::store::Store::new(db.clone());
            let reset = ResetAdmin {
                login_name,
                password: std::env::var("CRM_ADMIN_PASSWORD").ok(),
                os_user: os_user(),
            };
            let result = recovery::reset_admin(&store, reset).await;
            db.close().await;
            let done = result.map_err(|e| anyhow::anyhow!("reset-admin: {e}"))?;
            let user = &done.user;
            println!(
                "{} \"{}\" (users/{}): active, unlocked, Administrator; {} session(s) ended; recorded in the security audit log",
                if done.created { "created" } else { "reset" },
                user.login_name,
                user.id,
                done.sessions_revoked,
            );
            match &done.generated_password {
                // Printed once; only its hash is stored.
                Some(password) => println!(
                    "password: {password}  (shown once; it must be changed at the next login)"
                ),
                None => println!(
                    "password: from CRM_ADMIN_PASSWORD (it must be changed at the next login)"
                ),
            }
            Ok(())
        }
    }
}

/// The operating-system account running the command, for the audit record: behind sudo the
/// one that called sudo.
fn os_user() -> Option<String> {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
}
