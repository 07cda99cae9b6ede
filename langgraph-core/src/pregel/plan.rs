//! The compiled program: the graph lowered to indices, ready for the superstep loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::graph::builder::RouterFn;
use crate::node::ErasedNode;
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

/// The outgoing edges of a node (or of START).
#[derive(Debug, Clone, Default)]
pub(crate) struct OutEdges {
    /// Plain edges.
    pub(crate) to: Vec<Dest>,
    /// Routers evaluated after the node (indices into `Shape::routers`).
    pub(crate) routers: Vec<u32>,
    /// Joins this node is a source of (indices into `Shape::joins`).
    pub(crate) joins: Vec<u32>,
}

/// A router's declared destinations.
#[derive(Debug, Clone)]
pub(crate) struct RouterShape {
    /// Name (or label, with a path map) -> destination.
    pub(crate) declared: Vec<(String, Dest)>,
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

/// Everything about the graph that planning needs, independent of the state type.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) by_name: HashMap<String, NodeId>,
    /// Position of each node in name order (the deterministic order of edge-triggered tasks).
    pub(crate) rank: Vec<u32>,
    pub(crate) deferred: Vec<bool>,
    /// Per node, then START at index `names.len()`.
    pub(crate) out: Vec<OutEdges>,
    pub(crate) routers: Vec<RouterShape>,
    pub(crate) joins: Vec<JoinDef>,
    /// Declared command destinations per node (`None`: the node declared none).
    pub(crate) goto: Vec<Option<Vec<Dest>>>,
}

impl Shape {
    /// The pseudo node id of START in `out`.
    pub(crate) fn start(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn name(&self, id: NodeId) -> &str {
        self.names.get(id as usize).map(|n| &**n).unwrap_or("?")
    }

    pub(crate) fn id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn dest_name(&self, d: Dest) -> &str {
        match d {
            Dest::Node(n) => self.name(n),
            Dest::End => crate::types::END,
        }
    }
}

/// How a node runs.
pub(crate) struct NodeExec<S: State> {
    pub(crate) node: Arc<dyn ErasedNode<S>>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) timeout: Option<Duration>,
}

/// The compiled graph.
pub(crate) struct Program<S: State> {
    pub(crate) shape: Shape,
    pub(crate) exec: Vec<NodeExec<S>>,
    pub(crate) router_fns: Vec<RouterFn<S>>,
    pub(crate) interrupt_before: Vec<NodeId>,
    pub(crate) interrupt_after: Vec<NodeId>,
    pub(crate) name: String,
}
