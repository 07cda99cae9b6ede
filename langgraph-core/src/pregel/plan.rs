//! The compiled program: the graph lowered to indices, ready for the superstep loop.
//!
//! Everything planning needs lives in a few flat arrays ([`Shape`]): compiling a graph costs a
//! handful of allocations whatever its size, and a superstep reads edges as slices.

use std::sync::Arc;
use std::time::Duration;

use langgraph_checkpoint::SharedStr;

use crate::cache::{CachePolicy, NodeCache};
use crate::graph::builder::{ErrorHandler, Name, RouterFn};
use crate::node::ErasedNode;
use crate::pregel::names::NameIndex;
use crate::pregel::retry::RetryPolicy;
use crate::state::State;

/// Index of a node in the program.
pub(crate) type NodeId = u32;

/// Where an edge goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Node(NodeId),
    End,
}

/// One outgoing item of a node (or of START), as lowering emits them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutItem {
    /// A plain edge.
    To(Dest),
    /// A router evaluated after the node (index into `Shape::routers`).
    Router(u32),
    /// A join the node is a source of (index into `Shape::joins`).
    Join(u32),
}

/// The outgoing edges of a node (or of START).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Out<'a> {
    /// Plain edges.
    pub(crate) to: &'a [Dest],
    /// Routers evaluated after the node (indices into `Shape::routers`).
    pub(crate) routers: &'a [u32],
    /// Joins this node is a source of (indices into `Shape::joins`).
    pub(crate) joins: &'a [u32],
}

/// Outgoing items of every source in compressed rows: the items of source `s` of kind `k` are
/// `items_k[off[s][k]..off[s + 1][k]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutTable {
    off: Vec<[u32; 3]>,
    to: Vec<Dest>,
    routers: Vec<u32>,
    joins: Vec<u32>,
}

impl OutTable {
    /// Builds the table for `sources` sources from the items `each` yields (it is called twice:
    /// once to count, once to fill). Items of one source and kind keep their order; items of a
    /// source out of range are ignored.
    pub(crate) fn build(sources: usize, each: impl Fn(&mut dyn FnMut(usize, OutItem))) -> Self {
        fn kind(item: OutItem) -> usize {
            match item {
                OutItem::To(_) => 0,
                OutItem::Router(_) => 1,
                OutItem::Join(_) => 2,
            }
        }
        // Counts go to row s + 2 so that, after the prefix sum, row s + 1 is the fill cursor
        // of source s and ends as its end (the start of s + 1).
        let mut off = vec![[0u32; 3]; sources + 2];
        each(&mut |s, item| {
            if let Some(row) = off.get_mut(s + 2) {
                row[kind(item)] += 1;
            }
        });
        for i in 1..off.len() {
            let prev = off[i - 1];
            for (c, p) in off[i].iter_mut().zip(prev) {
                *c += p;
            }
        }
        let total = off.last().copied().unwrap_or_default();
        let mut t = Self {
            off: Vec::new(),
            to: vec![Dest::End; total[0] as usize],
            routers: vec![0; total[1] as usize],
            joins: vec![0; total[2] as usize],
        };
        each(&mut |s, item| {
            if s >= sources {
                return;
            }
            let k = kind(item);
            let at = off[s + 1][k] as usize;
            off[s + 1][k] += 1;
            match item {
                OutItem::To(d) => t.to[at] = d,
                OutItem::Router(r) => t.routers[at] = r,
                OutItem::Join(j) => t.joins[at] = j,
            }
        });
        off.pop();
        t.off = off;
        t
    }

    fn sources(&self) -> usize {
        self.off.len().saturating_sub(1)
    }

    fn get(&self, s: usize) -> Out<'_> {
        let next = s.checked_add(1).and_then(|n| self.off.get(n));
        let (Some(a), Some(b)) = (self.off.get(s), next) else {
            return Out::default();
        };
        let r = |k: usize| a[k] as usize..b[k] as usize;
        Out {
            to: self.to.get(r(0)).unwrap_or(&[]),
            routers: self.routers.get(r(1)).unwrap_or(&[]),
            joins: self.joins.get(r(2)).unwrap_or(&[]),
        }
    }
}

/// A router's declared destinations.
#[derive(Debug, Clone)]
pub(crate) struct RouterShape {
    /// Name (or label, with a path map) -> destination.
    pub(crate) declared: Vec<(Name, Dest)>,
    /// True when the router returns labels translated by a path map.
    pub(crate) labels: bool,
}

/// A join barrier.
#[derive(Debug, Clone)]
pub(crate) struct JoinDef {
    /// Stable name, used as the barrier's key in checkpoints.
    pub(crate) name: String,
    pub(crate) sources: Vec<NodeId>,
    pub(crate) target: NodeId,
}

/// Per-node facts for planning.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeMeta {
    /// Position in name order (the deterministic order of edge-triggered tasks).
    pub(crate) rank: u32,
    pub(crate) deferred: bool,
    /// Declared command destinations (a range of `Shape::goto_to`), if the node declared any.
    pub(crate) goto: Option<(u32, u32)>,
}

/// Everything about the graph that planning needs, independent of the state type.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    pub(crate) names: Arc<[Name]>,
    pub(crate) index: NameIndex,
    pub(crate) meta: Vec<NodeMeta>,
    /// Outgoing items per node, then START at index `names.len()`.
    pub(crate) out: OutTable,
    pub(crate) routers: Vec<RouterShape>,
    pub(crate) joins: Vec<JoinDef>,
    pub(crate) goto_to: Vec<Dest>,
    /// (node, fallback) of error handlers: where a failed node goes.
    pub(crate) fallbacks: Vec<(NodeId, NodeId)>,
    /// (node, subgraph shape, subgraph name) of nodes that are compiled graphs (drawings).
    pub(crate) children: Vec<(NodeId, Arc<Shape>, String)>,
}

impl Shape {
    /// The pseudo node id of START in `out`.
    pub(crate) fn start(&self) -> usize {
        self.names.len()
    }

    /// The number of sources in the out table (nodes and START).
    pub(crate) fn sources(&self) -> usize {
        self.out.sources()
    }

    pub(crate) fn name(&self, id: NodeId) -> &str {
        self.names.get(id as usize).map(|n| &**n).unwrap_or("?")
    }

    pub(crate) fn id(&self, name: &str) -> Option<NodeId> {
        self.index.find(&self.names, name)
    }

    pub(crate) fn dest_name(&self, d: Dest) -> &str {
        match d {
            Dest::Node(n) => self.name(n),
            Dest::End => crate::types::END,
        }
    }

    pub(crate) fn rank(&self, id: NodeId) -> u32 {
        self.meta.get(id as usize).map_or(0, |m| m.rank)
    }

    pub(crate) fn is_deferred(&self, id: NodeId) -> bool {
        self.meta.get(id as usize).is_some_and(|m| m.deferred)
    }

    /// The outgoing edges of node `from` (or of START, `from == start()`).
    pub(crate) fn out(&self, from: usize) -> Out<'_> {
        self.out.get(from)
    }

    /// The declared command destinations of a node, if it declared any.
    pub(crate) fn goto(&self, node: NodeId) -> Option<&[Dest]> {
        let (a, b) = self.meta.get(node as usize)?.goto?;
        Some(self.goto_to.get(a as usize..b as usize).unwrap_or(&[]))
    }

    /// Fills the name index and each node's rank from `names` (tests).
    #[cfg(test)]
    pub(crate) fn rank_names(&mut self) {
        self.index = NameIndex::new(&self.names);
        let mut meta = vec![NodeMeta::default(); self.names.len()];
        self.index
            .ranks(&self.names, |i, r| meta[i as usize].rank = r);
        self.meta = meta;
    }

    /// A shape from per-node edge lists (tests).
    #[cfg(test)]
    pub(crate) fn from_lists(
        names: &[&'static str],
        to: Vec<(usize, Vec<Dest>)>,
        joins: Vec<JoinDef>,
        deferred: Vec<NodeId>,
    ) -> Self {
        let n = names.len();
        let mut s = Self {
            names: names.iter().map(|n| Name::Borrowed(*n)).collect(),
            out: OutTable::build(n + 1, |emit| {
                for (from, dests) in &to {
                    for d in dests {
                        emit(*from, OutItem::To(*d));
                    }
                }
                for (j, join) in joins.iter().enumerate() {
                    for &src in &join.sources {
                        emit(src as usize, OutItem::Join(j as u32));
                    }
                }
            }),
            joins,
            ..Self::default()
        };
        s.rank_names();
        for d in deferred {
            s.meta[d as usize].deferred = true;
        }
        s
    }
}

/// How a node runs.
pub(crate) struct NodeExec<S: State> {
    pub(crate) node: Box<dyn ErasedNode<S>>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) timeout: Option<Duration>,
}

/// The compiled graph.
pub(crate) struct Program<S: State> {
    pub(crate) shape: Shape,
    pub(crate) exec: Vec<NodeExec<S>>,
    /// Per node (empty when no node has one): the fallback and error handler.
    pub(crate) handlers: Vec<Option<(NodeId, ErrorHandler<S>)>>,
    /// Per node (empty when no node has one): the cache policy.
    pub(crate) cache_policy: Vec<Option<CachePolicy>>,
    pub(crate) cache: Option<Arc<dyn NodeCache>>,
    pub(crate) router_fns: Vec<RouterFn<S>>,
    pub(crate) interrupt_before: Vec<NodeId>,
    pub(crate) interrupt_after: Vec<NodeId>,
    pub(crate) name: Name,
    /// Node and channel names as stored in checkpoints, made on the first checkpointed run.
    pub(crate) saved_names: std::sync::OnceLock<Arc<SavedNames>>,
}

/// The names a run writes into every checkpoint, allocated once per compiled graph.
#[derive(Debug)]
pub(crate) struct SavedNames {
    /// By node id.
    pub(crate) nodes: Box<[SharedStr]>,
    /// By channel index.
    pub(crate) channels: Box<[SharedStr]>,
}

impl<S: State> Program<S> {
    /// The names checkpoints use (node and channel), shared by every run of this graph.
    pub(crate) fn saved_names(&self) -> Arc<SavedNames> {
        self.saved_names
            .get_or_init(|| {
                Arc::new(SavedNames {
                    nodes: self
                        .shape
                        .names
                        .iter()
                        .map(|n| SharedStr::from(&**n))
                        .collect(),
                    channels: S::info()
                        .channels
                        .iter()
                        .map(|c| SharedStr::from(c.name))
                        .collect(),
                })
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_table_groups_items_by_source_and_kind_in_order() {
        let items = [
            (2, OutItem::To(Dest::Node(0))),
            (0, OutItem::Join(7)),
            (2, OutItem::Router(4)),
            (0, OutItem::To(Dest::End)),
            (2, OutItem::To(Dest::Node(1))),
            (9, OutItem::To(Dest::Node(5))),
        ];
        let t = OutTable::build(3, |emit| {
            for &(s, item) in &items {
                emit(s, item);
            }
        });
        assert_eq!(t.sources(), 3);
        let o = t.get(0);
        assert_eq!(
            (o.to, o.routers, o.joins),
            (&[Dest::End][..], &[][..], &[7][..])
        );
        let o = t.get(1);
        assert!(o.to.is_empty() && o.routers.is_empty() && o.joins.is_empty());
        let o = t.get(2);
        assert_eq!(o.to, [Dest::Node(0), Dest::Node(1)]);
        assert_eq!((o.routers, o.joins), (&[4][..], &[][..]));
        assert!(t.get(3).to.is_empty());
        assert!(t.get(usize::MAX).to.is_empty(), "no source: no edges");
    }
}
