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
                || evaluate(&prepared[x as usize], &prepared[y as usize], cfg, false)
                    .is_some_and(|t| t.evidence >= cfg.min_link_evidence)
        })
    })
}

/// Clusters records linked by `edges` (record indexes and score; the
/// `Duplicate` pairs of a scan). Returns each record's cluster label: the
/// smallest index among its members. Deterministic for a given input.
pub(crate) fn cluster(prepared: &[Prepared], edges: &[(u32, u32, f64)], cfg: &Config) -> Vec<u32> {
    let mut order: Vec<usize> = (0..edges.len()).collect();
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
