//! Clustering of duplicate pairs that refuses inconsistent merges.
//!
//! Plain union-find over `Duplicate` pairs chains records: A~B and B~C put
//! A and C in one cluster even when A and C clearly are different people
//! (a common name, a shared phone). Here pairs are taken strongest first,
//! and two clusters are only merged if
//! * the result stays within [`Config::max_cluster`], and
//! * every pair across the two clusters has net evidence (log-odds without
//!   the prior) of at least [`Config::min_link_evidence`]: no member may
//!   clearly contradict a member of the other cluster (another name, birth
//!   date, all contacts different). Missing data is not a contradiction, so
//!   a record that only shares a phone with one member and an e-mail with
//!   another still joins.
//!
//! A record that links about equally well to two records contradicting each
//! other (twins, and a record without a given name) joins neither.
//!
//! A refused pair stays a scored pair outside any cluster, so
//! [`scan`](crate::scan) lists it for review.

use crate::score::{Config, Prepared, evaluate};

/// Union-find with circular member lists, so the members of a cluster can
/// be walked without a per-cluster vector.
struct Clusters {
    parent: Vec<u32>,
    /// Next member in the circular list of the record's cluster.
    next: Vec<u32>,
    size: Vec<u32>,
}

impl Clusters {
    fn new(n: usize) -> Clusters {
        let ids: Vec<u32> = (0..n as u32).collect();
        Clusters {
            parent: ids.clone(),
            next: ids,
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn members(&self, root: u32) -> Vec<u32> {
        let mut out = vec![root];
        let mut x = self.next[root as usize];
        while x != root {
            out.push(x);
            x = self.next[x as usize];
        }
        out
    }

    /// Merges two roots; the smaller index stays root (deterministic).
    fn merge(&mut self, a: u32, b: u32) {
        let (root, child) = if a < b { (a, b) } else { (b, a) };
        self.parent[child as usize] = root;
        self.size[root as usize] += self.size[child as usize];
        self.next.swap(root as usize, child as usize);
    }
}

/// Whether every pair across `left` and `right` (except the pair that
/// proposes the merge) is free of contradiction.
fn consistent(
    prepared: &[Prepared],
    left: &[u32],
    right: &[u32],
    edge: (u32, u32),
    cfg: &Config,
) -> bool {
    left.iter().all(|&x| {
        right.iter().all(|&y| {
            (x, y) == edge
                || (y, x) == edge
                || !contradict(&prepared[x as usize], &prepared[y as usize], cfg)
        })
    })
}

/// Whether two records must not end up in one cluster: too little net
/// evidence ([`Config::min_link_evidence`]) or a field that clearly says
/// "another person" (another given name, or another address altogether:
/// namesakes born the same day in two cities agree on enough to pass the
/// evidence check, yet must not share a cluster).
/// `min_link_evidence = -∞` switches both checks off.
fn contradict(a: &Prepared, b: &Prepared, cfg: &Config) -> bool {
    if cfg.min_link_evidence == f64::NEG_INFINITY {
        return false;
    }
    evaluate(a, b, cfg, false).is_none_or(|t| t.evidence < cfg.min_link_evidence || t.conflict)
}

fn log_odds(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// Edges whose record links about as well to another record that
/// contradicts the edge's other end: a record with only "Smith", a birth
/// date and an address matches either of two twins, and picking one is a
/// coin toss. Such edges are left out (the pair goes to review).
fn ambiguous(prepared: &[Prepared], edges: &[(u32, u32, f64)], cfg: &Config) -> Vec<bool> {
    let mut links: Vec<Vec<(u32, f64)>> = vec![Vec::new(); prepared.len()];
    for &(i, j, s) in edges {
        links[i as usize].push((j, log_odds(s)));
        links[j as usize].push((i, log_odds(s)));
    }
    let contradict = |x: u32, y: u32| contradict(&prepared[x as usize], &prepared[y as usize], cfg);
    edges
        .iter()
        .map(|&(i, j, s)| {
            let lo = log_odds(s);
            [(i, j), (j, i)].iter().any(|&(from, to)| {
                links[from as usize]
                    .iter()
                    .any(|&(k, l)| k != to && l >= lo - cfg.ambiguity_margin && contradict(to, k))
            })
        })
        .collect()
}

/// Clusters records linked by `edges` (record indexes and score; the
/// `Duplicate` pairs of a scan). Returns each record's cluster label: the
/// smallest index among its members. Deterministic for a given input.
pub(crate) fn cluster(prepared: &[Prepared], edges: &[(u32, u32, f64)], cfg: &Config) -> Vec<u32> {
    let unsure = if cfg.ambiguity_margin < 0.0 {
        vec![false; edges.len()]
    } else {
        ambiguous(prepared, edges, cfg)
    };
    let mut order: Vec<usize> = (0..edges.len()).filter(|&k| !unsure[k]).collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (edges[x], edges[y]);
        b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1)))
    });
    let mut c = Clusters::new(prepared.len());
    for k in order {
        let (i, j, _) = edges[k];
        let (ri, rj) = (c.find(i), c.find(j));
        if ri == rj {
            continue;
        }
        let size = c.size[ri as usize] as usize + c.size[rj as usize] as usize;
        if size > cfg.max_cluster {
            continue;
        }
        let ok = (c.size[ri as usize] == 1 && c.size[rj as usize] == 1)
            || consistent(prepared, &c.members(ri), &c.members(rj), (i, j), cfg);
        if ok {
            c.merge(ri, rj);
        }
    }
    (0..prepared.len() as u32).map(|i| c.find(i)).collect()
}
