//! `crm events ...`: operator tools for the event bus (dead letters).
use clap::Subcommand;
use crm_platform::events::{
    self, BusConfig,
    bus::Bus,
    consumer::{dead_letters, replay_dead_letter},
};

/// `crm events`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Dead letters: events a consumer gave up on after its retries.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

/// `crm events dlq`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Lists dead letters, oldest first, with the group, attempts and last error.
    List {
        /// Only this service's stream ("customers"); default: every service.
        #[arg(long)]
        source: Option<String>,
        /// At most this many per stream.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Puts dead letters back on their stream (after the fix); consumers that had handled
    /// them drop them again.
    Replay {
        /// The service whose stream they came from ("customers").
        source: String,
        /// Dead-letter ids (from `list`); none with --all.
        ids: Vec<String>,
        /// Replay every dead letter of the stream.
        #[arg(long)]
        all: bool,
    },
}

fn bus(config: &BusConfig) -> anyhow::Result<Bus> {
    if config.redis_url.is_none() {
        anyhow::bail!(
            "no event bus to inspect: set CRM_BUS__REDIS_URL (the in-process bus of `crm dev` lives inside that process)"
        );
    }
    Ok(Bus::from_config(config)?)
}

/// Runs an events command against the configured bus; prints what it did.
pub async fn main(config: &BusConfig, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Dlq { command } = command;
    let bus = bus(config)?;
    match command {
        DlqCommand::List { source, limit } => {
            let sources: Vec<String> = match source {
                Some(s) => vec![s],
                None => events::SOURCES.iter().map(|s| s.to_string()).collect(),
            };
            let mut total = 0;
            for source in sources {
                let stream = events::stream_of(&source);
                for (id, letter) in dead_letters(&bus, &stream, limit).await? {
                    total += 1;
                    let event = letter.event.unwrap_or_default();
                    println!(
                        "{source} {id} group={} attempts={} type={} subject={} event={}\n    error: {}",
                        letter.group,
                        letter.attempts,
                        event.r#type,
                        event.subject,
                        event.id,
                        letter.error
                    );
                }
            }
            println!("{total} dead letter(s)");
        }
        DlqCommand::Replay { source, ids, all } => {
            let stream = events::stream_of(&source);
            let ids = if all {
                dead_letters(&bus, &stream, usize::MAX >> 1)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect()
            } else if ids.is_empty() {
                anyhow::bail!("name the dead letters to replay, or pass --all");
            } else {
                ids
            };
            let mut replayed = 0;
            for id in &ids {
                if replay_dead_letter(&bus, &stream, id).await? {
                    replayed += 1;
                } else {
                    eprintln!("{id}: no such dead letter (or not replayable)");
                }
            }
            println!(
                "replayed {replayed} of {} dead letter(s) on {stream}",
                ids.len()
            );
        }
    }
    Ok(())
}
