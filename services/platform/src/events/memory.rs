//! In-process, in-memory imitation of Redis Streams with consumer groups.
//!
//! `crm dev` uses this instead of a Redis server, so the semantics deliberately mirror
//! XADD / XREADGROUP / XACK / XAUTOCLAIM / XREAD / XRANGE / XDEL closely enough that the
//! same consumer code runs unchanged against both backends.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// One stream entry as delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub stream: String,
    pub id: String,
    pub payload: Vec<u8>,
    pub deliveries: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MemError {
    /// entries after the cursor were trimmed away (the reader fell behind retention)
    #[error("cursor {cursor} of stream {stream} is older than the retained entries")]
    CursorExpired { stream: String, cursor: String },
    #[error("malformed stream id {0}")]
    BadId(String),
}

struct Pending {
    consumer: String,
    delivered_at: Instant,
    deliveries: u64,
}

#[derive(Default)]
struct Group {
    last_delivered: u64,
    pending: BTreeMap<u64, Pending>,
}

/// Ascending by id, which lets lookups binary-search despite XDEL gaps.
type Entries = VecDeque<(u64, Vec<u8>)>;

#[derive(Default)]
struct Stream {
    entries: Entries,
    last: u64,
    /// Highest id removed by MAXLEN trimming (XDEL does not count): a cursor below it has
    /// missed entries, which is what `CursorExpired` reports.
    trimmed_upto: u64,
    groups: HashMap<String, Group>,
}

fn find(entries: &Entries, id: u64) -> Result<usize, usize> {
    entries.binary_search_by_key(&id, |(i, _)| *i)
}

/// Entries with id > `than`, oldest first.
fn newer(entries: &Entries, than: u64) -> impl Iterator<Item = &(u64, Vec<u8>)> {
    entries.range(entries.partition_point(|(i, _)| *i <= than)..)
}

impl Stream {
    /// Returns (in id order, up to `count`) the group's pending entries that `visit` accepts;
    /// `visit` may update the pending record. Records whose entry was trimmed or deleted are
    /// dropped: nobody could process them, and Redis's nil bodies have no `Entry` equivalent.
    fn scan_pending(
        &mut self,
        name: &str,
        group: &str,
        count: usize,
        mut visit: impl FnMut(&mut Pending) -> bool,
    ) -> Vec<Entry> {
        let Some(g) = self.groups.get_mut(group) else {
            return vec![];
        };
        let mut out = Vec::new();
        g.pending.retain(|id, p| {
            let Ok(ix) = find(&self.entries, *id) else {
                return false;
            };
            if out.len() < limit(count) && visit(p) {
                out.push(entry(name, *id, &self.entries[ix].1, p.deliveries));
            }
            true
        });
        out
    }
}

#[derive(Default)]
struct Inner {
    /// 0 means unlimited, so that `MemoryBus::default()` never drops data.
    max_len: usize,
    streams: Mutex<HashMap<String, Stream>>,
    /// Woken on every append; readers create `notified()` before checking so no wake-up is lost.
    appended: Notify,
}

/// Cheap to clone: all clones share the same streams.
#[derive(Clone, Default)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

fn fmt_id(n: u64) -> String {
    format!("{n}-0")
}

/// Cursor ids: "n", "n-s", "0". The sequence part is ignored because every id we issue has
/// sequence 0, so "entries after n-s" is exactly "entries after n".
fn parse_cursor(s: &str) -> Result<u64, MemError> {
    let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
    match (ms.parse::<u64>(), seq.parse::<u64>()) {
        (Ok(ms), Ok(_)) => Ok(ms),
        _ => Err(MemError::BadId(s.to_owned())),
    }
}

/// Exact entry ids (XACK/XDEL): only "n-0" or "n" can name an entry we issued.
fn parse_exact(s: &str) -> Option<u64> {
    let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
    (seq.parse::<u64>().ok()? == 0).then(|| ms.parse().ok())?
}

/// Redis treats COUNT 0 as "no limit"; doing the same avoids a reader that never progresses.
/// Also used for `max_len`, where 0 means unlimited too.
fn limit(count: usize) -> usize {
    if count == 0 { usize::MAX } else { count }
}

fn entry(stream: &str, id: u64, payload: &[u8], deliveries: u64) -> Entry {
    let (stream, id, payload) = (stream.to_owned(), fmt_id(id), payload.to_vec());
    Entry {
        stream,
        id,
        payload,
        deliveries,
    }
}

impl MemoryBus {
    /// `max_len`: entries kept per stream (older ones trimmed, like XADD MAXLEN); 0 = unlimited.
    pub fn new(max_len: usize) -> MemoryBus {
        let inner = Arc::new(Inner {
            max_len,
            ..Inner::default()
        });
        MemoryBus { inner }
    }

    /// A panic while holding the lock cannot leave the maps inconsistent in a way that matters
    /// for a dev bus, so poisoning is ignored rather than propagated to every caller.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stream>> {
        let streams = &self.inner.streams;
        streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on an existing stream; a missing stream answers `R::default()` (empty, 0).
    fn with<R: Default>(&self, stream: &str, f: impl FnOnce(&mut Stream) -> R) -> R {
        self.lock().get_mut(stream).map_or_else(R::default, f)
    }

    /// Polls until `poll` yields something or `block` has passed. A zero `block` does not
    /// wait (unlike Redis, where BLOCK 0 waits forever).
    async fn wait_for(
        &self,
        block: Duration,
        mut poll: impl FnMut() -> Result<Vec<Entry>, MemError>,
    ) -> Result<Vec<Entry>, MemError> {
        let deadline = tokio::time::Instant::now() + block;
        loop {
            // Registered before polling so an append between the poll and the wait wakes us.
            let notified = self.inner.appended.notified();
            let got = poll()?;
            if !got.is_empty() || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(got);
            }
        }
    }

    /// Appends payloads in order; returns their ids ("<n>-0", n from 1). Wakes blocked readers.
    pub fn append(&self, stream: &str, payloads: &[Vec<u8>]) -> Vec<String> {
        let ids = {
            let mut streams = self.lock();
            let s = streams.entry(stream.to_owned()).or_default();
            let mut ids = Vec::with_capacity(payloads.len());
            for p in payloads {
                s.last += 1;
                s.entries.push_back((s.last, p.clone()));
                ids.push(fmt_id(s.last));
            }
            let excess = s.entries.len().saturating_sub(limit(self.inner.max_len));
            if let Some((id, _)) = s.entries.drain(..excess).next_back() {
                s.trimmed_upto = id;
            }
            ids
        };
        // Outside the lock: woken readers immediately contend for it.
        self.inner.appended.notify_waiters();
        ids
    }

    /// Creates the group if missing, positioned before the first entry (XGROUP CREATE .. 0 MKSTREAM).
    pub fn ensure_group(&self, stream: &str, group: &str) {
        let mut streams = self.lock();
        let s = streams.entry(stream.to_owned()).or_default();
        s.groups.entry(group.to_owned()).or_default();
    }

    /// XREADGROUP GROUP g c COUNT n BLOCK ms STREAMS s >: never-delivered entries become
    /// pending for `consumer`. Creates the group if missing.
    pub async fn read_group(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Vec<Entry> {
        let poll = || {
            let mut streams = self.lock();
            let s = streams.entry(stream.to_owned()).or_default();
            let g = s.groups.entry(group.to_owned()).or_default();
            let now = Instant::now();
            let mut out = Vec::new();
            for (id, payload) in newer(&s.entries, g.last_delivered).take(limit(count)) {
                g.last_delivered = *id;
                let consumer = consumer.to_owned();
                let pending = Pending {
                    consumer,
                    delivered_at: now,
                    deliveries: 1,
                };
                g.pending.insert(*id, pending);
                out.push(entry(stream, *id, payload, 1));
            }
            Ok(out)
        };
        self.wait_for(block, poll).await.unwrap_or_default()
    }

    /// XREADGROUP with id 0: entries pending for this consumer (deliveries not bumped).
    pub fn pending(&self, stream: &str, group: &str, consumer: &str, count: usize) -> Vec<Entry> {
        self.with(stream, |s| {
            s.scan_pending(stream, group, count, |p| p.consumer == consumer)
        })
    }

    /// XACK: removes ids from the group's pending list; returns how many were pending.
    pub fn ack(&self, stream: &str, group: &str, ids: &[String]) -> usize {
        self.with(stream, |s| {
            let ids = ids.iter().filter_map(|id| parse_exact(id));
            let g = s.groups.get_mut(group);
            g.map_or(0, |g| {
                ids.filter(|id| g.pending.remove(id).is_some()).count()
            })
        })
    }

    /// XAUTOCLAIM: pending entries idle for at least `min_idle` move to `consumer`
    /// (deliveries += 1, idle reset), oldest first, up to `count`. Trimmed ones are dropped.
    pub fn autoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Vec<Entry> {
        let now = Instant::now();
        self.with(stream, |s| {
            s.scan_pending(stream, group, count, |p| {
                let idle = now.duration_since(p.delivered_at) >= min_idle;
                if idle {
                    p.consumer = consumer.to_owned();
                    p.delivered_at = now;
                    p.deliveries += 1;
                }
                idle
            })
        })
    }

    /// XREAD across streams: entries with id > cursor, oldest first per stream, up to `count`
    /// in total, waiting up to `block` if none. "$" = last id at call time; "0" never expires.
    pub async fn read_after(
        &self,
        cursors: &[(String, String)],
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, MemError> {
        // "$" is resolved once, up front, so entries appended while we wait are delivered.
        let mut resolved = Vec::with_capacity(cursors.len());
        for (stream, cursor) in cursors {
            let after = match cursor.as_str() {
                "$" => self.with(stream, |s| s.last),
                c => parse_cursor(c)?,
            };
            resolved.push((stream, cursor, after));
        }
        let poll = || {
            let streams = self.lock();
            let mut out = Vec::new();
            for &(name, cursor, after) in &resolved {
                let Some(s) = streams.get(name) else { continue };
                // Checked on every poll: trimming can overtake a reader while it waits.
                if after != 0 && after < s.trimmed_upto {
                    let (stream, cursor) = (name.clone(), cursor.clone());
                    return Err(MemError::CursorExpired { stream, cursor });
                }
                for (id, payload) in newer(&s.entries, after).take(limit(count) - out.len()) {
                    out.push(entry(name, *id, payload, 0));
                }
            }
            Ok(out)
        };
        self.wait_for(block, poll).await
    }

    /// The last id appended to a stream ("0-0" if none).
    pub fn last_id(&self, stream: &str) -> String {
        fmt_id(self.with(stream, |s| s.last))
    }

    /// XRANGE - + COUNT n: the oldest retained entries (deliveries = 0).
    pub fn range(&self, stream: &str, count: usize) -> Vec<Entry> {
        self.with(stream, |s| {
            let it = s.entries.iter().take(limit(count));
            it.map(|(id, p)| entry(stream, *id, p, 0)).collect()
        })
    }

    /// XDEL: removes entries by id; returns how many existed. Pending records stay, as in
    /// Redis, until `pending`/`autoclaim` find the entry gone.
    pub fn delete(&self, stream: &str, ids: &[String]) -> usize {
        self.with(stream, |s| {
            // One lookup and removal at a time: indices shift after each removal.
            let mut removed = 0;
            for id in ids.iter().filter_map(|id| parse_exact(id)) {
                if let Ok(ix) = find(&s.entries, id) {
                    s.entries.remove(ix);
                    removed += 1;
                }
            }
            removed
        })
    }

    /// Entries not yet delivered to the group (XINFO GROUPS lag).
    pub fn group_lag(&self, stream: &str, group: &str) -> u64 {
        self.with(stream, |s| {
            let after = s.groups.get(group).map_or(0, |g| g.last_delivered);
            newer(&s.entries, after).count() as u64
        })
    }

    /// Number of retained entries (XLEN).
    pub fn len(&self, stream: &str) -> usize {
        self.with(stream, |s| s.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const NOW: Duration = Duration::ZERO;
    const LONG: Duration = Duration::from_secs(5);
    type Res<T = ()> = Result<T, MemError>;

    fn payloads(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("p{i}").into_bytes()).collect()
    }

    /// "stream/id:payload" per entry, so one assertion checks all three.
    fn show(entries: &[Entry]) -> Vec<String> {
        let show = |e: &Entry| {
            let text = String::from_utf8_lossy(&e.payload);
            format!("{}/{}:{text}", e.stream, e.id)
        };
        entries.iter().map(show).collect()
    }

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    async fn xread(bus: &MemoryBus, cursors: &[(&str, &str)], count: usize) -> Res<Vec<String>> {
        let cursors: Vec<_> = cursors
            .iter()
            .map(|(s, c)| (s.to_string(), c.to_string()))
            .collect();
        Ok(show(&bus.read_after(&cursors, count, NOW).await?))
    }

    #[test]
    fn append_range_delete() {
        let bus = MemoryBus::new(100);
        assert_eq!(bus.last_id("s"), "0-0");
        assert_eq!(bus.append("s", &payloads(2)), ["1-0", "2-0"]);
        assert_eq!(bus.append("s", &payloads(1)), ["3-0"]);
        assert_eq!(bus.append("t", &payloads(1)), ["1-0"]);
        assert_eq!((bus.last_id("s"), bus.len("s")), ("3-0".to_owned(), 3));
        let del = strings(&["2-0", "9-0", "junk", "3-1"]);
        assert_eq!((bus.delete("s", &del), bus.delete("s", &del)), (1, 0));
        assert_eq!(show(&bus.range("s", 10)), ["s/1-0:p0", "s/3-0:p0"]);
        assert_eq!((bus.len("s"), bus.range("s", 1).len()), (2, 1));
    }

    #[tokio::test]
    async fn groups_split_within_and_share_across() {
        let bus = MemoryBus::new(100);
        bus.append("s", &payloads(10));
        bus.ensure_group("s", "g");
        assert_eq!(bus.group_lag("s", "g"), 10);
        let a = bus.read_group("s", "g", "c1", 4, NOW).await;
        assert_eq!(bus.group_lag("s", "g"), 6);
        let b = bus.read_group("s", "g", "c2", 100, NOW).await;
        assert_eq!((a.len(), b.len(), bus.group_lag("s", "g")), (4, 6, 0));
        let all: HashSet<_> = a.iter().chain(&b).map(|e| e.id.clone()).collect();
        assert_eq!(all.len(), 10);
        assert!(a.iter().chain(&b).all(|e| e.deliveries == 1));
        assert!(bus.read_group("s", "g", "c1", 10, NOW).await.is_empty());
        let other = bus.read_group("s", "g2", "c1", 100, NOW).await;
        assert_eq!(other, [a, b].concat());
        bus.append("s", &payloads(1));
        assert_eq!(bus.group_lag("s", "g"), 1);
    }

    #[tokio::test]
    async fn pending_is_per_consumer_until_acked() {
        let bus = MemoryBus::new(100);
        bus.append("s", &payloads(4));
        bus.read_group("s", "g", "c1", 2, NOW).await;
        bus.read_group("s", "g", "c2", 2, NOW).await;
        let p1 = bus.pending("s", "g", "c1", 10);
        assert_eq!(show(&p1), ["s/1-0:p0", "s/2-0:p1"]);
        assert_eq!(p1[1].deliveries, 1);
        assert_eq!(show(&bus.pending("s", "g", "c2", 1)), ["s/3-0:p2"]);
        let acks = strings(&["1-0", "4", "9-0", "x"]);
        assert_eq!((bus.ack("s", "g", &acks), bus.ack("s", "g", &acks)), (2, 0));
        assert_eq!(show(&bus.pending("s", "g", "c1", 10)), ["s/2-0:p1"]);
        assert_eq!(show(&bus.pending("s", "g", "c2", 10)), ["s/3-0:p2"]);
    }

    #[tokio::test]
    async fn autoclaim_takes_only_idle_entries() {
        let bus = MemoryBus::new(100);
        bus.append("s", &payloads(2));
        bus.read_group("s", "g", "c1", 1, NOW).await;
        tokio::time::sleep(Duration::from_millis(80)).await;
        bus.read_group("s", "g", "c1", 1, NOW).await; // fresh: must stay with c1
        let idle = Duration::from_millis(50);
        let claimed = bus.autoclaim("s", "g", "c2", idle, 10);
        assert_eq!(
            (show(&claimed), claimed[0].deliveries),
            (strings(&["s/1-0:p0"]), 2)
        );
        assert_eq!(bus.pending("s", "g", "c2", 10), claimed);
        assert_eq!(show(&bus.pending("s", "g", "c1", 10)), ["s/2-0:p1"]);
        // The claim reset the idle timer.
        assert!(bus.autoclaim("s", "g", "c3", idle, 10).is_empty());
    }

    #[tokio::test]
    async fn autoclaim_drops_trimmed_pending() {
        let bus = MemoryBus::new(2);
        bus.append("s", &payloads(2));
        bus.read_group("s", "g", "c1", 2, NOW).await;
        bus.append("s", &payloads(1)); // trims 1-0
        assert_eq!(show(&bus.autoclaim("s", "g", "c2", NOW, 10)), ["s/2-0:p1"]);
        assert_eq!(bus.ack("s", "g", &strings(&["1-0", "2-0"])), 1);
    }

    #[tokio::test]
    async fn read_group_blocks_until_append_or_timeout() {
        let bus = MemoryBus::new(100);
        let reader = bus.clone();
        // Spawned (not just awaited) to prove the future is Send, as the CRM's workers need.
        let reader = tokio::spawn(async move {
            let t = Instant::now();
            (
                reader.read_group("s", "g", "c", 10, LONG).await,
                t.elapsed(),
            )
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        bus.append("other", &payloads(1)); // must not end the wait with nothing
        bus.append("s", &payloads(1));
        let (got, waited) = reader.await.expect("reader task");
        assert_eq!(show(&got), ["s/1-0:p0"]);
        assert!(waited < Duration::from_secs(2), "late: {waited:?}");
        let t = Instant::now();
        let block = Duration::from_millis(100);
        assert!(bus.read_group("s", "g", "c", 10, block).await.is_empty());
        assert!(t.elapsed() >= Duration::from_millis(95));
    }

    #[tokio::test]
    async fn read_after_dollar_sees_only_later_appends() -> Res {
        let bus = MemoryBus::new(100);
        bus.append("s", &payloads(2));
        assert!(xread(&bus, &[("s", "$")], 10).await?.is_empty());
        let writer = bus.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.append("s", &[b"new".to_vec()]);
        });
        let dollar = [("s".to_owned(), "$".to_owned())];
        fn send<T: Send>(t: T) -> T {
            t
        }
        let got = send(bus.read_after(&dollar, 10, LONG)).await?;
        assert_eq!(
            (show(&got), got[0].deliveries),
            (strings(&["s/3-0:new"]), 0)
        );
        Ok(())
    }

    #[tokio::test]
    async fn read_after_spans_streams_with_total_count() -> Res {
        let bus = MemoryBus::new(100);
        bus.append("a", &payloads(2));
        bus.append("b", &payloads(1));
        let both = [("a", "0"), ("b", "0-0")];
        let all = ["a/1-0:p0", "a/2-0:p1", "b/1-0:p0"];
        assert_eq!(xread(&bus, &both, 10).await?, all);
        assert_eq!(xread(&bus, &both, 2).await?, all[..2]);
        let later = [("a", "1-0"), ("b", "1")];
        assert_eq!(xread(&bus, &later, 10).await?, ["a/2-0:p1"]);
        Ok(())
    }

    #[tokio::test]
    async fn trimming_expires_old_cursors() -> Res {
        let bus = MemoryBus::new(3);
        bus.append("s", &payloads(5));
        assert_eq!(
            show(&bus.range("s", 10)),
            ["s/3-0:p2", "s/4-0:p3", "s/5-0:p4"]
        );
        let (stream, cursor) = ("s".to_owned(), "1-0".to_owned());
        let expired = Err(MemError::CursorExpired { stream, cursor });
        assert_eq!(xread(&bus, &[("s", "1-0")], 10).await, expired);
        // Cursor 2 lost nothing: everything after it is still retained.
        assert_eq!(xread(&bus, &[("s", "2-0")], 10).await?.len(), 3);
        assert_eq!(xread(&bus, &[("s", "0")], 10).await?.len(), 3);
        let bad = Err(MemError::BadId("x-1".into()));
        assert_eq!(xread(&bus, &[("s", "x-1")], 10).await, bad);
        Ok(())
    }
}
