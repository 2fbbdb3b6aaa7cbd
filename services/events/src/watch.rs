//! WatchEvents: the change stream for corporate systems. Reads the services' streams on the bus
//! from a cursor, keeps the events the caller may see, and sends each with the cursor after it.
use crate::error::Error;
use crm_platform::{
    auth::{self, Principal},
    events::{self, bus::Bus, bus::BusError},
    server::Shutdown,
};
use crm_proto::crm::events::v1::{
    WatchEventsRequest, WatchEventsResponse, event_service_server::EventService,
};
use std::{pin::Pin, time::Duration};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

/// How long one bus read waits for new events before looking again (and noticing a gone client).
const BLOCK: Duration = Duration::from_secs(5);
/// Events read per bus round.
const BATCH: usize = 256;

/// The position in each followed stream: `[(stream, last id read)]`.
pub type Cursors = Vec<(String, String)>;

/// Encodes a cursor: "customers:1700000000000-0,identity:0-0". Clients treat it as opaque.
pub fn encode_cursor(cursors: &Cursors) -> String {
    cursors
        .iter()
        .map(|(stream, id)| format!("{}:{id}", stream.trim_start_matches("crm.")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The streams of the requested sources (all when empty), or the bad source.
pub fn streams(sources: &[String]) -> Result<Vec<String>, Error> {
    if sources.is_empty() {
        return Ok(events::SOURCES
            .iter()
            .map(|s| events::stream_of(s))
            .collect());
    }
    let mut out = Vec::new();
    for source in sources {
        if !events::SOURCES.contains(&source.as_str()) {
            return Err(Error::field(
                "sources",
                format!(
                    "unknown source {source:?}; known: {}",
                    events::SOURCES.join(", ")
                ),
            ));
        }
        let stream = events::stream_of(source);
        if !out.contains(&stream) {
            out.push(stream);
        }
    }
    Ok(out)
}

/// The starting position of each stream: after the cursor's position, from the oldest retained
/// event ("earliest", or a stream the cursor does not mention), or from now ("").
pub async fn start(bus: &Bus, streams: &[String], cursor: &str) -> Result<Cursors, Error> {
    let mut out = Vec::new();
    let given: Vec<(String, String)> = match cursor {
        "" | "earliest" => Vec::new(),
        _ => cursor
            .split(',')
            .map(|part| {
                let (source, id) = part
                    .split_once(':')
                    .ok_or_else(|| Error::field("cursor", "is not a cursor from this API"))?;
                if crm_platform::events::redis_bus::parse_id(id).is_none() {
                    return Err(Error::field("cursor", "is not a cursor from this API"));
                }
                Ok((events::stream_of(source), id.to_owned()))
            })
            .collect::<Result<_, _>>()?,
    };
    for stream in streams {
        let id = match given.iter().find(|(s, _)| s == stream) {
            Some((_, id)) => id.clone(),
            None if cursor.is_empty() => bus.last_id(stream).await.map_err(bus_error)?,
            None => "0-0".to_owned(),
        };
        out.push((stream.clone(), id));
    }
    Ok(out)
}

/// A bus failure as the caller sees it.
pub fn bus_error(e: BusError) -> Error {
    match e {
        BusError::CursorExpired { .. } => Error::CursorExpired,
        BusError::BadCursor(_) => Error::field("cursor", "is not a cursor from this API"),
        BusError::Unavailable(error) => {
            tracing::warn!(%error, "event bus unavailable");
            Error::Unavailable
        }
    }
}

/// Reads events after `cursors` for `principal` and sends each visible one with the cursor
/// after it, until the receiver is gone, the bus fails for good, or shutdown.
pub async fn follow(
    bus: Bus,
    principal: Principal,
    types: Vec<String>,
    mut cursors: Cursors,
    shutdown: Shutdown,
    out: tokio::sync::mpsc::Sender<Result<WatchEventsResponse, Status>>,
) -> Result<(), Error> {
    let mut reader = bus.reader();
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let mut failures = 0u32;
    loop {
        let read = tokio::select! {
            read = reader.read_after(&cursors, BATCH, BLOCK) => read,
            _ = &mut stop => return Ok(()),
        };
        let entries = match read {
            Ok(entries) => {
                failures = 0;
                entries
            }
            Err(BusError::Unavailable(error)) => {
                // The stream stays open across a Redis restart; the client sees a pause.
                failures = failures.saturating_add(1);
                tracing::warn!(%error, failures, "change stream waiting for the event bus");
                tokio::time::sleep(Duration::from_millis(200).saturating_mul(failures.min(25)))
                    .await;
                continue;
            }
            Err(e) => return Err(bus_error(e)),
        };
        for entry in entries {
            if let Some(slot) = cursors.iter_mut().find(|(s, _)| *s == entry.stream) {
                slot.1 = entry.id.clone();
            }
            let Ok(event) = events::decode(&entry.payload) else {
                tracing::warn!(stream = %entry.stream, id = %entry.id, "undecodable event skipped");
                continue;
            };
            if !events::type_matches(&types, &event.r#type)
                || !events::visible_to(&principal, &event)
            {
                continue;
            }
            let response = WatchEventsResponse {
                event: Some(event),
                cursor: encode_cursor(&cursors),
            };
            if out.send(Ok(response)).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// `crm.events.v1.EventService`.
#[derive(Clone)]
pub struct Watch {
    bus: Bus,
    shutdown: Shutdown,
}

impl Watch {
    /// The change stream over `bus`; open streams end at `shutdown` (so the server can drain).
    pub fn new(bus: Bus, shutdown: Shutdown) -> Self {
        Self { bus, shutdown }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for Watch {
    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        req: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let principal = auth::principal(&req)?;
        let r = req.into_inner();
        let streams = streams(&r.sources)?;
        let cursors = start(&self.bus, &streams, &r.cursor).await?;
        // Checked before the stream opens, so an expired cursor is a plain error status.
        self.bus
            .reader()
            .read_after(&cursors, 1, Duration::ZERO)
            .await
            .map_err(bus_error)?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let bus = self.bus.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let result = follow(bus, principal, r.types, cursors, shutdown, tx.clone()).await;
            if let Err(e) = result {
                let _ = tx.send(Err(Status::from(e))).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_map_to_streams_and_unknown_ones_are_refused() {
        assert_eq!(streams(&["customers".into()]).unwrap(), ["crm.customers"]);
        assert_eq!(streams(&[]).unwrap().len(), events::SOURCES.len());
        assert!(matches!(
            streams(&["ledger".into()]),
            Err(Error::InvalidArgument(v)) if v[0].field == "sources"
        ));
    }

    #[tokio::test]
    async fn cursors_round_trip_and_bad_ones_name_the_field() {
        let bus = Bus::memory();
        let streams = streams(&[]).unwrap();
        let cursors = start(&bus, &streams, "customers:5-0").await.unwrap();
        assert!(cursors.contains(&("crm.customers".into(), "5-0".into())));
        // A stream the cursor does not mention starts at the oldest event, losing nothing.
        assert!(cursors.contains(&("crm.identity".into(), "0-0".into())));
        assert_eq!(
            start(&bus, &streams, &encode_cursor(&cursors))
                .await
                .unwrap(),
            cursors
        );
        assert!(matches!(
            start(&bus, &streams, "customers:abc").await,
            Err(Error::InvalidArgument(v)) if v[0].field == "cursor"
        ));
    }

    #[tokio::test]
    async fn a_cursor_older_than_the_retention_is_refused_with_resync_advice() {
        let bus = Bus::Memory(crm_platform::events::memory::MemoryBus::new(3));
        let ids = bus
            .append(
                "crm.customers",
                &(0..10).map(|i| vec![i]).collect::<Vec<_>>(),
            )
            .await
            .unwrap();
        let watch = Watch::new(bus, Shutdown::new());
        let request = |cursor: String| {
            let mut req = Request::new(WatchEventsRequest {
                sources: vec!["customers".into()],
                types: vec![],
                cursor,
            });
            req.extensions_mut().insert(Principal::system());
            req
        };
        let expired = watch
            .watch_events(request(format!("customers:{}", ids[0])))
            .await
            .err()
            .expect("an old cursor is refused");
        assert_eq!(expired.code(), tonic::Code::FailedPrecondition);
        assert!(
            expired.message().contains("resynchronise"),
            "{}",
            expired.message()
        );
        let details = tonic_types::StatusExt::get_error_details(&expired);
        assert_eq!(details.error_info().unwrap().reason, "CURSOR_EXPIRED");
        // The oldest retained position, and "earliest", are fine.
        assert!(
            watch
                .watch_events(request(format!("customers:{}", ids[6])))
                .await
                .is_ok()
        );
        assert!(watch.watch_events(request("earliest".into())).await.is_ok());
    }
}
