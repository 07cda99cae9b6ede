//! Errors: [`GraphError`] (building), [`RunError`] (running), [`NodeError`] (inside a node).

use std::fmt;
use std::time::Duration;

use langgraph_checkpoint::CheckpointError;

/// A boxed error from user code.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One problem found by [`StateGraph::compile`](crate::StateGraph::compile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphProblem {
    /// Two nodes share a name.
    #[error("node `{0}` is added more than once; node names must be unique")]
    DuplicateNode(String),
    /// A node uses a reserved or malformed name.
    #[error(
        "`{0}` cannot be a node name: names must be non-empty, must not be START, END, INPUT or COPY, and must not contain `|` or `:`"
    )]
    InvalidName(String),
    /// An edge, route or breakpoint names a node that does not exist.
    #[error("{context} names `{name}`, which is not a node")]
    UnknownNode {
        /// Where the name appeared.
        context: String,
        /// The unknown name.
        name: String,
    },
    /// Nothing leaves START.
    #[error(
        "the graph has no entry point: add `.edge(START, \"first_node\")` or a route from START"
    )]
    NoEntry,
    /// A node cannot be reached from START by any edge, route or declared command target.
    #[error(
        "node `{0}` is unreachable from START (connect it, or declare it with `goto_targets` if a Command goes there)"
    )]
    Unreachable(String),
    /// A node has no outgoing edge, route or command target.
    #[error(
        "node `{0}` has no way out: add `.edge(\"{0}\", END)`, a route, or `goto_targets` for its Commands"
    )]
    DeadEnd(String),
    /// A route declares no targets.
    #[error("the route from `{0}` declares no targets; list every node it may return (and END)")]
    EmptyRoute(String),
    /// An edge leaves END or enters START.
    #[error("edge `{from}` -> `{to}` is invalid: nothing leaves END and nothing enters START")]
    InvalidEdge {
        /// Source.
        from: String,
        /// Target.
        to: String,
    },
    /// A join lists no sources.
    #[error("the join into `{0}` lists no source nodes")]
    EmptyJoin(String),
    /// A node that takes a `SendTo` payload is the target of a plain edge (it would get no
    /// payload).
    #[error(
        "node `{node}` takes a SendTo payload, but a plain edge from `{from}` leads to it; reach it with SendTo only"
    )]
    PayloadNodeOnEdge {
        /// The node with a private input.
        node: String,
        /// The edge source.
        from: String,
    },
}

/// Everything wrong with a graph, reported at once by `compile()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// The problems, in the order they were found.
    pub problems: Vec<GraphProblem>,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the graph is invalid ({} problem", self.problems.len())?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str("):")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

/// An error a node returns. Any `std::error::Error` converts into it with `?`.
///
/// Like `anyhow::Error`, it does not implement `std::error::Error` itself (that would conflict
/// with the blanket `From`); get the inner error with [`NodeError::into_inner`].
pub struct NodeError {
    inner: BoxError,
    retryable: Option<bool>,
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl NodeError {
    /// An error with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Message(message.into())),
            retryable: None,
        }
    }

    /// Wraps any error.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self {
            inner: error.into(),
            retryable: None,
        }
    }

    /// Marks the error as permanent: a retry policy never retries it.
    pub fn permanent(mut self) -> Self {
        self.retryable = Some(false);
        self
    }

    /// Marks the error as transient: a retry policy retries it even if its predicate would not.
    pub fn transient(mut self) -> Self {
        self.retryable = Some(true);
        self
    }

    /// The explicit retry marking, if any.
    pub fn retryable(&self) -> Option<bool> {
        self.retryable
    }

    /// The wrapped error, if it has type `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.inner.downcast_ref::<E>()
    }

    /// True when the wrapped error has type `E`.
    pub fn is<E: std::error::Error + 'static>(&self) -> bool {
        self.inner.is::<E>()
    }

    /// The wrapped error.
    pub fn into_inner(self) -> BoxError {
        self.inner
    }

    /// The wrapped error, borrowed.
    pub fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl NodeError {
    /// Rebuilds a `NodeError` from a boxed error, keeping its retry marking if the box came
    /// from a `NodeError`.
    pub(crate) fn from_boxed(b: BoxError) -> Self {
        match b.downcast::<Marked>() {
            Ok(m) => m.0,
            Err(b) => Self {
                inner: b,
                retryable: None,
            },
        }
    }
}

/// A `NodeError` travelling as a boxed error (so `Result<T, NodeError>` converts like any
/// other error).
struct Marked(NodeError);

impl fmt::Display for Marked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
impl fmt::Debug for Marked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl std::error::Error for Marked {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_error())
    }
}

impl From<NodeError> for BoxError {
    fn from(e: NodeError) -> Self {
        Box::new(Marked(e))
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for NodeError {
    fn from(e: E) -> Self {
        Self::new(e)
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl fmt::Debug for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A node returned an error (after its retries, if it has a retry policy).
    #[error("node `{node}` failed in superstep {step} (attempt {attempts}): {source}")]
    Node {
        /// The node.
        node: String,
        /// The superstep.
        step: i64,
        /// How many attempts were made.
        attempts: u32,
        /// The node's error.
        #[source]
        source: BoxError,
    },
    /// A node exceeded its timeout.
    #[error("node `{node}` timed out after {after:?} in superstep {step}")]
    Timeout {
        /// The node.
        node: String,
        /// The superstep.
        step: i64,
        /// The timeout.
        after: Duration,
    },
    /// Two tasks wrote the same last-value channel in one superstep.
    #[error(
        "channel `{channel}` was written by `{first}` and `{second}` in superstep {step}; a \
         channel without a reducer takes one write per superstep: give it a reducer (for \
         example `#[reducer(append)]`) or write it from one node"
    )]
    InvalidUpdate {
        /// The channel.
        channel: String,
        /// The first writer.
        first: String,
        /// The second writer.
        second: String,
        /// The superstep.
        step: i64,
    },
    /// A router or command named a destination its node did not declare.
    #[error(
        "`{from}` routed to `{target}`, which it does not declare (declared: {declared:?}); add \
         it to the route's targets"
    )]
    UndeclaredTarget {
        /// The routing node.
        from: String,
        /// The destination.
        target: String,
        /// The declared destinations.
        declared: Vec<String>,
    },
    /// A destination, `as_node` or `SendTo` named something that is not a node.
    #[error("{context}: `{name}` is not a node of this graph")]
    UnknownNode {
        /// Where the name came from.
        context: String,
        /// The name.
        name: String,
    },
    /// A task got an input of the wrong type (a `SendTo` payload or a plain edge to a node that
    /// needs a payload).
    #[error("node `{node}` expects input of type `{expected}`, got {got}")]
    InputType {
        /// The node.
        node: String,
        /// The type it takes.
        expected: &'static str,
        /// What it was given.
        got: String,
    },
    /// The run still had work after `limit` supersteps.
    #[error(
        "recursion limit of {limit} supersteps reached with work left (next: {next:?}); raise it \
         with `RunConfig::recursion_limit(n)` if the graph needs more supersteps, or check \
         for an unintended loop"
    )]
    RecursionLimit {
        /// The limit.
        limit: usize,
        /// The nodes that would have run next.
        next: Vec<String>,
    },
    /// `Input::Continue` (or a resume) on a thread with nothing to continue.
    #[error(
        "nothing to run: {0}. Start the thread with an input, or pass the thread id of an \
         existing run"
    )]
    EmptyInput(String),
    /// A resume value did not fit the pending interrupts.
    #[error("cannot resume: {0}")]
    InvalidResume(String),
    /// The operation needs a checkpointer.
    #[error("{0} needs a checkpointer: compile the graph with `compile_with(saver)`")]
    NoCheckpointer(&'static str),
    /// The operation needs a thread id.
    #[error("{0} needs a thread: use `RunConfig::thread(\"id\")`")]
    NoThread(&'static str),
    /// A checkpointer operation failed (including concurrency conflicts).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A value could not be converted to or from JSON.
    #[error("cannot convert {what} to or from JSON: {source}")]
    Serde {
        /// What was converted.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored state could not be loaded into the current state type.
    #[error("thread `{thread_id}`, checkpoint `{checkpoint_id}`: {reason}")]
    StateLoad {
        /// The thread.
        thread_id: String,
        /// The checkpoint.
        checkpoint_id: String,
        /// What went wrong.
        reason: String,
    },
    /// `update_state` could not apply the update.
    #[error("cannot update state: {0}")]
    InvalidStateUpdate(String),
    /// Two tasks of one superstep called the same subgraph with a history per thread
    /// ([`Persistence::PerThread`](crate::Persistence::PerThread)): both would go on from one
    /// head and their turns would mix.
    #[error(
        "two tasks of one superstep called the per-thread subgraph stored under `{ns}`; its calls share one history, so they cannot run side by side: call it from one task per superstep, or compile it with the default persistence (one history per call)"
    )]
    SharedSubgraphHistory {
        /// The subgraph's namespace.
        ns: String,
    },
    /// A node of this graph sent a [`Command::to_parent`](crate::Command::to_parent): the run
    /// stopped and the command goes to the task that called the graph as a subgraph.
    #[error("{0}")]
    ParentCommand(Box<crate::subgraph::ParentCommand>),
}

impl RunError {
    /// True when the error is a concurrency conflict on the thread.
    pub fn is_conflict(&self) -> bool {
        match self {
            Self::Checkpoint(e) => e.is_conflict(),
            // A subgraph called by a node met the conflict.
            Self::Node { source, .. } => {
                let mut e: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
                while let Some(err) = e {
                    if let Some(r) = err.downcast_ref::<RunError>() {
                        return r.is_conflict();
                    }
                    e = err.source();
                }
                false
            }
            _ => false,
        }
    }

    pub(crate) fn serde(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Serde {
            what: what.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_error_lists_every_problem() {
        let e = GraphError {
            problems: vec![GraphProblem::NoEntry, GraphProblem::DeadEnd("b".into())],
        };
        let s = e.to_string();
        assert!(s.contains("2 problems"), "{s}");
        assert!(
            s.contains("no entry point") && s.contains("`b` has no way out"),
            "{s}"
        );
    }

    #[test]
    fn node_error_wraps_and_downcasts() {
        let e: NodeError = std::io::Error::other("disk").into();
        assert!(e.is::<std::io::Error>());
        assert_eq!(e.to_string(), "disk");
        assert_eq!(e.retryable(), None);
        let p = NodeError::msg("bad input").permanent();
        assert_eq!(p.retryable(), Some(false));
        assert!(NodeError::msg("x").transient().retryable().unwrap());
        assert!(p.downcast_ref::<std::io::Error>().is_none());
        assert_eq!(p.as_error().to_string(), "bad input");
        assert_eq!(format!("{:?}", NodeError::msg("m")), "Message(\"m\")");
        let inner = e.into_inner();
        assert_eq!(inner.to_string(), "disk");
    }

    #[test]
    fn node_error_survives_boxing_with_its_marking() {
        let b: BoxError = NodeError::msg("flaky").transient().into();
        let back = NodeError::from_boxed(b);
        assert_eq!(back.retryable(), Some(true));
        assert_eq!(back.to_string(), "flaky");
        let plain = NodeError::from_boxed("text".into());
        assert_eq!(plain.retryable(), None);
    }

    #[test]
    fn run_error_messages_say_what_to_do() {
        let e = RunError::RecursionLimit {
            limit: 3,
            next: vec!["a".into()],
        };
        assert!(e.to_string().contains("recursion_limit"));
        let e = RunError::InvalidUpdate {
            channel: "x".into(),
            first: "a".into(),
            second: "b".into(),
            step: 1,
        };
        assert!(e.to_string().contains("reducer"));
        assert!(!e.is_conflict());
        let c = RunError::from(CheckpointError::Conflict {
            thread_id: "t".into(),
            detail: "d".into(),
        });
        assert!(c.is_conflict());
    }
}
