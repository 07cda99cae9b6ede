//! Finding nodes by name: a scan for small graphs, a binary search over the ids in name order
//! for larger ones. Either way the first node of a duplicated name wins, and each node has a
//! rank in name order (ties by id), the deterministic order of edge-triggered tasks.

use crate::graph::builder::Name;
use crate::pregel::plan::NodeId;

/// Below this many nodes, names are scanned (cheaper than sorting and a binary search of
/// string comparisons).
const SCAN_BELOW: usize = 16;

/// The lookup table over a graph's node names.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameIndex {
    /// Ids in name order, ties by id; empty for small graphs.
    sorted: Vec<NodeId>,
}

fn same(a: &str, b: &str) -> bool {
    // Literals usually share their address, so most hits skip the byte comparison.
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

impl NameIndex {
    pub(crate) fn new(names: &[Name]) -> Self {
        if names.len() < SCAN_BELOW {
            return Self::default();
        }
        let mut sorted: Vec<NodeId> = (0..names.len() as NodeId).collect();
        sorted.sort_unstable_by(|&a, &b| (&names[a as usize], a).cmp(&(&names[b as usize], b)));
        Self { sorted }
    }

    fn scans(&self, names: &[Name]) -> bool {
        self.sorted.len() != names.len()
    }

    /// The id of (the first node named) `name`.
    pub(crate) fn find(&self, names: &[Name], name: &str) -> Option<NodeId> {
        if self.scans(names) {
            return names
                .iter()
                .position(|n| same(n, name))
                .map(|i| i as NodeId);
        }
        let of = |id: NodeId| names.get(id as usize).map_or("", |n| &**n);
        let i = self.sorted.partition_point(|&id| of(id) < name);
        self.sorted.get(i).copied().filter(|&id| of(id) == name)
    }

    /// Calls `f(id, rank)` for every node.
    pub(crate) fn ranks(&self, names: &[Name], mut f: impl FnMut(NodeId, u32)) {
        if self.scans(names) {
            for (i, name) in names.iter().enumerate() {
                let key = (name, i);
                let rank = names
                    .iter()
                    .enumerate()
                    .filter(|&(j, n)| (n, j) < key)
                    .count();
                f(i as NodeId, rank as u32);
            }
        } else {
            for (rank, &id) in self.sorted.iter().enumerate() {
                f(id, rank as u32);
            }
        }
    }

    /// Each name given to more than one node, once, in name order.
    pub(crate) fn duplicates<'n>(&self, names: &'n [Name]) -> Vec<&'n str> {
        let mut dups: Vec<&str> = Vec::new();
        if self.scans(names) {
            for (i, name) in names.iter().enumerate() {
                if names[..i].iter().filter(|n| same(n, name)).count() == 1 {
                    dups.push(name);
                }
            }
            dups.sort_unstable();
        } else {
            let of = |id: NodeId| names.get(id as usize).map_or("", |n| &**n);
            for w in self.sorted.windows(2) {
                let name = of(w[0]);
                if name == of(w[1]) && dups.last() != Some(&name) {
                    dups.push(name);
                }
            }
        }
        dups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<Name> {
        n.iter().map(|s| Name::Owned(s.to_string())).collect()
    }

    /// The same answers through the scan and the sorted table.
    fn both(list: &[&str]) -> [(Vec<Name>, NameIndex); 2] {
        let small = names(list);
        let small_index = NameIndex::new(&small);
        assert!(small_index.scans(&small));
        // Padding with distinct names that sort after every test name forces the sorted path.
        let mut big: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        big.extend((0..SCAN_BELOW).map(|i| format!("~pad{i:02}")));
        let big: Vec<Name> = big.into_iter().map(Name::Owned).collect();
        let big_index = NameIndex::new(&big);
        assert!(!big_index.scans(&big));
        [(small, small_index), (big, big_index)]
    }

    #[test]
    fn find_returns_the_first_node_of_a_name() {
        for (names, index) in both(&["zeta", "alpha", "mid", "alpha"]) {
            let find = |n| index.find(&names, n);
            assert_eq!(
                (find("alpha"), find("mid"), find("zeta")),
                (Some(1), Some(2), Some(0))
            );
            assert_eq!((find("nope"), find(""), find("zz")), (None, None, None));
        }
    }

    #[test]
    fn ranks_follow_name_order_ties_by_id() {
        for (names, index) in both(&["zeta", "alpha", "mid", "alpha"]) {
            let mut rank = vec![u32::MAX; names.len()];
            index.ranks(&names, |id, r| rank[id as usize] = r);
            assert_eq!(rank[..4], [3, 0, 2, 1]);
        }
    }

    #[test]
    fn duplicates_are_reported_once_each() {
        for (names, index) in both(&["b", "a", "b", "c", "a", "b"]) {
            assert_eq!(index.duplicates(&names), ["a", "b"]);
        }
        for (names, index) in both(&["x", "y"]) {
            assert!(index.duplicates(&names).is_empty());
        }
    }
}
