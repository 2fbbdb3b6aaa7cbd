//! The in-memory scan: prepare every record once, group by blocking key,
//! compare pairs inside blocks (each pair once), cluster the `Duplicate`
//! pairs (see the `cluster` module) and list the rest for review.
//!
//! Preparing and comparing run on [`Config::threads`] scoped threads over
//! contiguous ranges; the results are merged in a fixed order, so the output
//! never depends on the thread count.

use crate::Record;
use crate::blocking::{Strength, prepared_keys, strength};
use crate::cluster::cluster;
use crate::names::fnv1a;
use crate::score::{Config, Level, Match, Prepared, compare_prepared};
use std::ops::Range;

/// A scored pair of records, identified by [`Record::id`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairMatch {
    pub a: u128,
    pub b: u128,
    pub matched: Match,
}

/// Records judged to be the same customer, with the matches among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Record ids in input order; at least two.
    pub members: Vec<u128>,
    /// Every compared pair inside the cluster scoring at least `possible`
    /// (the `Duplicate` ones are the edges that formed it).
    pub matches: Vec<PairMatch>,
}

/// Work counters of a scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub records: usize,
    pub keys: usize,
    /// Blocks with at least two records.
    pub blocks: usize,
    pub skipped_blocks: usize,
    pub windowed_blocks: usize,
    pub comparisons: usize,
}

/// Result of [`scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub clusters: Vec<Cluster>,
    /// Scored pairs whose records did not end up in one cluster, best score
    /// first: the review queue. Mostly `Possible` matches; a `Duplicate`
    /// pair appears here when joining its records would have merged
    /// clusters that contradict each other (see [`Config::min_link_evidence`]).
    pub possible: Vec<PairMatch>,
    pub stats: ScanStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// All pairs compared.
    Full,
    /// Oversized strong key: sorted-neighbourhood window.
    Windowed,
    /// Oversized weak key: not informative enough to pay O(n²).
    Skipped,
}

/// (key hash, record index, key strength).
type Entry = (u64, u32, Strength);
/// A block as a range of the sorted entries.
type Block = (usize, usize, Status);
/// A scored pair by record index (smaller first).
type Found = (u32, u32, Match);

/// Fewer records than this per thread are not worth a thread.
const MIN_RECORDS_PER_THREAD: usize = 20_000;

/// Threads for a scan: as configured, or with `threads: 0` one per core
/// but only as many as the input is worth.
fn thread_count(cfg: &Config, records: usize) -> usize {
    let n = if cfg.threads == 0 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.min(1 + records / MIN_RECORDS_PER_THREAD)
    } else {
        cfg.threads
    };
    n.clamp(1, records.max(1))
}

/// Runs the jobs and returns their results in job order: the first on the
/// calling thread (its allocations land in the allocator's main arena,
/// which packs this workload tighter), the others on scoped threads. A
/// panic in a worker is re-raised.
fn run_all<T: Send, J: FnOnce() -> T + Send>(jobs: Vec<J>) -> Vec<T> {
    let mut jobs = jobs.into_iter();
    let Some(first) = jobs.next() else {
        return Vec::new();
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.map(|job| s.spawn(job)).collect();
        let mut out = vec![first()];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        out
    })
}

/// Splits `0..weights.len()` into at most `parts` contiguous ranges of
/// about equal total weight.
fn balanced(weights: &[u64], parts: usize) -> Vec<Range<usize>> {
    let total: u64 = weights.iter().sum();
    let parts = parts.max(1);
    let mut ranges = Vec::new();
    let (mut start, mut acc) = (0, 0u64);
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        // Cut when the running total reaches the next k/parts of the whole.
        let k = ranges.len() as u64 + 1;
        if ranges.len() + 1 < parts && acc * parts as u64 >= total * k {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < weights.len() || ranges.is_empty() {
        ranges.push(start..weights.len());
    }
    ranges
}

/// Prepares every record, emits its blocking keys, counts how common each
/// name is (for [`Reason::CommonName`](crate::Reason::CommonName)) and
/// drops what only key generation needed.
fn prepare_all(records: &[Record], cfg: &Config, threads: usize) -> (Vec<Prepared>, Vec<Entry>) {
    let mut prepared = vec![Prepared::placeholder(); records.len()];
    let chunk = records.len().div_ceil(threads).max(1);
    let jobs: Vec<_> = prepared
        .chunks_mut(chunk)
        .enumerate()
        .map(|(n, slots)| {
            let first = n * chunk;
            move || {
                let mut entries = Vec::new();
                let mut names = Vec::with_capacity(slots.len());
                for (k, slot) in slots.iter_mut().enumerate() {
                    let i = first + k;
                    let mut p = Prepared::new(&records[i], cfg);
                    for key in prepared_keys(&p) {
                        // Grouped by a 64-bit hash rather than the string to
                        // keep memory flat for millions of keys; a collision
                        // only adds comparisons.
                        entries.push((fnv1a(&key), i as u32, strength(&key)));
                    }
                    // Records without a name get a key of their own.
                    names.push(p.name_key().unwrap_or(u64::MAX - i as u64));
                    p.compact();
                    *slot = p;
                }
                entries.shrink_to_fit();
                (entries, names)
            }
        })
        .collect();
    let parts: Vec<(Vec<Entry>, Vec<u64>)> = run_all(jobs);
    // Appending to the first part grows it in place where the allocator
    // can (large blocks are remapped), instead of holding two copies.
    let total: usize = parts.iter().map(|p| p.0.len()).sum();
    let mut entries: Vec<Entry> = Vec::new();
    let mut names: Vec<u64> = Vec::new();
    for (e, n) in parts {
        if entries.is_empty() {
            entries = e;
            entries.reserve_exact(total - entries.len());
            names = n;
        } else {
            entries.extend(e);
            names.extend(n);
        }
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    for (p, key) in prepared.iter_mut().zip(names) {
        let count = sorted.partition_point(|k| *k <= key) - sorted.partition_point(|k| *k < key);
        p.name_count = u32::try_from(count).unwrap_or(u32::MAX);
    }
    (prepared, entries)
}

/// Groups sorted entries into blocks of at least two records and decides
/// how each is scanned.
fn make_blocks(entries: &[Entry], cfg: &Config, stats: &mut ScanStats) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == entries[start].0 {
            end += 1;
        }
        let (len, class) = (end - start, entries[start].2);
        let cap = match class {
            Strength::Strong => cfg.max_block_strong,
            Strength::Weak => cfg.max_block_weak,
            Strength::Loose => cfg.max_block_loose,
        };
        let status = if len <= cap {
            Status::Full
        } else if class == Strength::Strong {
            Status::Windowed
        } else {
            Status::Skipped
        };
        if len >= 2 {
            stats.blocks += 1;
            match status {
                Status::Windowed => stats.windowed_blocks += 1,
                Status::Skipped => stats.skipped_blocks += 1,
                Status::Full => {}
            }
            blocks.push((start, end, status));
        }
        start = end;
    }
    blocks
}

/// Smallest element present in both ascending slices.
fn first_common(a: &[u64], b: &[u64]) -> Option<u64> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return Some(a[i]),
        }
    }
    None
}

/// Sort key for the sorted-neighbourhood pass inside oversized strong
/// blocks: similar names end up adjacent.
fn neighbourhood_key(p: &Prepared) -> String {
    p.names.first().map_or_else(String::new, |f| {
        let mut t = f.tokens.clone();
        t.sort();
        format!("{}{}", f.han, t.join(" "))
    })
}

/// Per record, the ascending hashes of its fully scanned blocks (CSR
/// layout: offsets, hashes). A pair is compared only in the block of its
/// smallest shared such key, which deduplicates pairs without a global set.
fn full_block_keys(n: usize, entries: &[Entry], blocks: &[Block]) -> (Vec<usize>, Vec<u64>) {
    let mut offsets = vec![0usize; n + 1];
    for &(s, e, status) in blocks {
        if status == Status::Full {
            for entry in &entries[s..e] {
                offsets[entry.1 as usize + 1] += 1;
            }
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut keys = vec![0u64; offsets[n]];
    for &(s, e, status) in blocks {
        if status == Status::Full {
            for entry in &entries[s..e] {
                let i = entry.1 as usize;
                keys[fill[i]] = entry.0;
                fill[i] += 1;
            }
        }
    }
    (offsets, keys)
}

/// Compares the pairs of some blocks; returns the scored pairs and the
/// number of comparisons.
fn compare_blocks(
    blocks: &[Block],
    entries: &[Entry],
    prepared: &[Prepared],
    (offsets, keys): (&[usize], &[u64]),
    cfg: &Config,
) -> (Vec<Found>, usize) {
    let keys_of = |i: usize| &keys[offsets[i]..offsets[i + 1]];
    let mut found = Vec::new();
    let mut comparisons = 0;
    let mut run = |i: usize, j: usize| {
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        comparisons += 1;
        if let Some(m) = compare_prepared(&prepared[i], &prepared[j], cfg) {
            found.push((i as u32, j as u32, m));
        }
    };
    for &(s, e, status) in blocks {
        let hash = entries[s].0;
        let members = &entries[s..e];
        match status {
            Status::Full => {
                for (x, a) in members.iter().enumerate() {
                    let i = a.1 as usize;
                    for b in &members[x + 1..] {
                        let j = b.1 as usize;
                        if i != j && first_common(keys_of(i), keys_of(j)) == Some(hash) {
                            run(i, j);
                        }
                    }
                }
            }
            Status::Windowed => {
                let mut sorted: Vec<(String, usize)> = members
                    .iter()
                    .map(|m| (neighbourhood_key(&prepared[m.1 as usize]), m.1 as usize))
                    .collect();
                sorted.sort();
                for x in 0..sorted.len() {
                    for y in x + 1..(x + 1 + cfg.window).min(sorted.len()) {
                        let (i, j) = (sorted[x].1, sorted[y].1);
                        if i != j && first_common(keys_of(i), keys_of(j)).is_none() {
                            run(i, j);
                        }
                    }
                }
            }
            Status::Skipped => {}
        }
    }
    (found, comparisons)
}

/// Scans records in memory: groups by blocking key, compares pairs inside
/// blocks (each pair once), and clusters `Duplicate` pairs, strongest
/// first, refusing merges that would put contradicting records together
/// (see the `cluster` module). Deterministic for a given input order.
pub fn scan(records: &[Record], cfg: &Config) -> Scan {
    let mut stats = ScanStats {
        records: records.len(),
        ..ScanStats::default()
    };
    let threads = thread_count(cfg, records.len());
    let (prepared, mut entries) = prepare_all(records, cfg, threads);
    stats.keys = entries.len();
    entries.sort_unstable();
    let blocks = make_blocks(&entries, cfg, &mut stats);
    let (offsets, keys) = full_block_keys(records.len(), &entries, &blocks);

    let work: Vec<u64> = blocks
        .iter()
        .map(|&(s, e, status)| {
            let len = (e - s) as u64;
            match status {
                Status::Full => len * len,
                Status::Windowed => len * cfg.window as u64,
                Status::Skipped => 0,
            }
        })
        .collect();
    let (blocks_ref, entries_ref, prepared_ref) = (&blocks, &entries, &prepared);
    let (offsets_ref, keys_ref) = (&offsets, &keys);
    let jobs: Vec<_> = balanced(&work, threads)
        .into_iter()
        .map(|r| {
            move || {
                compare_blocks(
                    &blocks_ref[r],
                    entries_ref,
                    prepared_ref,
                    (offsets_ref, keys_ref),
                    cfg,
                )
            }
        })
        .collect();
    let parts = run_all(jobs);
    drop((entries, blocks, offsets, keys, work));
    let mut found = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for (f, comparisons) in parts {
        found.extend(f);
        stats.comparisons += comparisons;
    }
    found.sort_unstable_by_key(|(i, j, _)| (*i, *j));
    // Two oversized strong blocks may both have windowed the same pair.
    found.dedup_by_key(|(i, j, _)| (*i, *j));

    let edges: Vec<(u32, u32, f64)> = found
        .iter()
        .filter(|(_, _, m)| m.level == Level::Duplicate)
        .map(|(i, j, m)| (*i, *j, m.score))
        .collect();
    let label = cluster(&prepared, &edges, cfg);
    drop((edges, prepared));
    let (clusters, possible) = assemble(records, &label, found);
    Scan {
        clusters,
        possible,
        stats,
    }
}

/// Turns cluster labels and scored pairs into [`Cluster`]s (ordered by
/// their first member, members in input order) and the review list (best
/// score first).
fn assemble(
    records: &[Record],
    label: &[u32],
    found: Vec<Found>,
) -> (Vec<Cluster>, Vec<PairMatch>) {
    let mut size = vec![0u32; records.len()];
    for &l in label {
        size[l as usize] += 1;
    }
    let mut cluster_of = vec![u32::MAX; records.len()];
    let mut clusters: Vec<Cluster> = Vec::new();
    for (i, &l) in label.iter().enumerate() {
        let l = l as usize;
        if size[l] < 2 {
            continue;
        }
        if cluster_of[l] == u32::MAX {
            cluster_of[l] = clusters.len() as u32;
            clusters.push(Cluster {
                members: Vec::with_capacity(size[l] as usize),
                matches: Vec::new(),
            });
        }
        clusters[cluster_of[l] as usize].members.push(records[i].id);
    }
    let mut possible = Vec::new();
    for (i, j, m) in found {
        let (i, j) = (i as usize, j as usize);
        let pm = PairMatch {
            a: records[i].id,
            b: records[j].id,
            matched: m,
        };
        let c = cluster_of[label[i] as usize];
        if label[i] == label[j] && c != u32::MAX {
            clusters[c as usize].matches.push(pm);
        } else {
            possible.push(pm);
        }
    }
    // Stable: equal scores keep the (a, b) input order.
    possible.sort_by(|x, y| y.matched.score.total_cmp(&x.matched.score));
    (clusters, possible)
}

/// Clusters of likely duplicates (see [`scan`] for the review queue and
/// work counters).
pub fn clusters(records: &[Record], cfg: &Config) -> Vec<Cluster> {
    scan(records, cfg).clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_ranges_cover_everything() {
        let w = [5, 1, 1, 1, 5, 1, 1, 1];
        let r = balanced(&w, 2);
        assert_eq!(r, vec![0..4, 4..8]);
        assert_eq!(balanced(&w, 1), vec![0..8]);
        assert_eq!(balanced(&[], 3), vec![0..0]);
        let many = balanced(&[1; 10], 4);
        assert!(many.len() <= 4);
        assert_eq!(many.first().map(|r| r.start), Some(0));
        assert_eq!(many.last().map(|r| r.end), Some(10));
        assert!(many.windows(2).all(|p| p[0].end == p[1].start));
    }

    #[test]
    fn empty_input() {
        let result = scan(&[], &Config::default());
        assert!(result.clusters.is_empty() && result.possible.is_empty());
        assert_eq!(result.stats, ScanStats::default());
    }

    #[test]
    fn thread_count_follows_the_input() {
        let auto = Config::default();
        assert_eq!(thread_count(&auto, 10), 1);
        let two = Config {
            threads: 2,
            ..Config::default()
        };
        assert_eq!(thread_count(&two, 10), 2);
        assert_eq!(thread_count(&two, 1), 1);
    }
}
