//! `RunConfig`: the typed configuration of one run.

use serde_json::{Map, Value};

/// The default bound on supersteps per run (see [`RunConfig::recursion_limit`]).
pub const DEFAULT_RECURSION_LIMIT: usize = 10_000;

/// When checkpoints are persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Each superstep's checkpoint is stored before the next superstep starts.
    Sync,
    /// Each superstep's checkpoint is stored while the next superstep runs: it goes out as
    /// soon as that superstep's task awaits anything, and writes that queued up meanwhile
    /// are stored as one batch, one commit. A run is never more than two writes ahead of its
    /// saver, and it waits for the last one before it returns. The checkpoint is serialized
    /// at the barrier, so it is exactly the state of that superstep.
    #[default]
    Async,
    /// Only the final checkpoint is stored (and, on an interrupt or failure, the checkpoint
    /// and pending writes needed to resume): one checkpoint per invoke, the child of the
    /// thread's previous one. Nothing of a run is stored before it ends or pauses, so a crash
    /// mid-run loses its input and steps; the thread stays as it was.
    Exit,
}

/// Configuration of one run: the thread, limits, breakpoints and metadata.
///
/// Fields are public for reading; build with the methods of the same name.
///
/// ```
/// use langgraph_core::{Durability, RunConfig};
/// let cfg = RunConfig::thread("doc-42")
///     .recursion_limit(50)
///     .max_concurrency(4)
///     .durability(Durability::Sync)
///     .tag("nightly");
/// assert_eq!(cfg.thread_id.as_deref(), Some("doc-42"));
/// assert_eq!(cfg.recursion_limit, 50);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunConfig {
    /// The thread whose checkpoints this run reads and writes (needed with a checkpointer).
    pub thread_id: Option<String>,
    /// Run from this checkpoint of the thread instead of its latest (time travel: the run
    /// continues as a fork of that checkpoint).
    pub checkpoint_id: Option<String>,
    /// The namespace the state API reads (`get_state`, `state_history`): a subgraph's, to
    /// inspect the subgraph run a task called (see
    /// [`TaskSnapshot::subgraph_ns`](crate::TaskSnapshot::subgraph_ns)). Runs ignore it.
    pub checkpoint_ns: Option<String>,
    /// The most supersteps this run may execute. A run that still has work after that many
    /// supersteps stops with [`RunError::RecursionLimit`](crate::RunError); the supersteps
    /// it completed are checkpointed. The input step does not count. Default
    /// [`DEFAULT_RECURSION_LIMIT`].
    pub recursion_limit: usize,
    /// The most tasks of one superstep that run at the same time (default: unbounded).
    pub max_concurrency: Option<usize>,
    /// When checkpoints are stored.
    pub durability: Durability,
    /// Static breakpoints for this run, replacing the compiled ones: pause before these nodes.
    pub interrupt_before: Option<Vec<String>>,
    /// Static breakpoints for this run, replacing the compiled ones: pause after these nodes.
    pub interrupt_after: Option<Vec<String>>,
    /// Tags, copied into tracing spans.
    pub tags: Vec<String>,
    /// Metadata, stored in every checkpoint's metadata (filterable in history).
    pub metadata: Map<String, Value>,
    /// A name for the run (tracing).
    pub run_name: Option<String>,
    /// The run id (default: a fresh UUID per run).
    pub run_id: Option<String>,
    /// Ceilings on LLM spending (enforced by the LLM layer before every call).
    pub budget: Option<crate::report::Budget>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            thread_id: None,
            checkpoint_id: None,
            checkpoint_ns: None,
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            max_concurrency: None,
            durability: Durability::default(),
            interrupt_before: None,
            interrupt_after: None,
            tags: Vec::new(),
            metadata: Map::new(),
            run_name: None,
            run_id: None,
            budget: None,
        }
    }
}

impl RunConfig {
    /// A configuration with defaults and no thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// A configuration for thread `id`.
    pub fn thread(id: impl Into<String>) -> Self {
        Self::new().thread_id(id)
    }

    /// Sets the thread.
    pub fn thread_id(mut self, id: impl Into<String>) -> Self {
        self.thread_id = Some(id.into());
        self
    }

    /// Runs from checkpoint `id` of the thread (time travel).
    ///
    /// Invoked with [`Input::Continue`](crate::Input::Continue), a named checkpoint is
    /// replayed: a `fork` copy of it starts a new branch and its tasks run again (later nodes
    /// repeat their side effects, interrupts ask again). This holds for the thread's head too;
    /// leave the id out to go on from the head, reusing what its tasks stored. A checkpoint
    /// written by `update_state` that is still the head is not copied, but its tasks run
    /// again. A [`Command::resume`](crate::Command::resume) may name the head only.
    pub fn checkpoint_id(mut self, id: impl Into<String>) -> Self {
        self.checkpoint_id = Some(id.into());
        self
    }

    /// Sets ceilings on LLM spending for the run.
    pub fn budget(mut self, budget: crate::report::Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Reads namespace `ns` with the state API (a subgraph's).
    pub fn checkpoint_ns(mut self, ns: impl Into<String>) -> Self {
        self.checkpoint_ns = Some(ns.into());
        self
    }

    /// Sets the superstep bound.
    pub fn recursion_limit(mut self, n: usize) -> Self {
        self.recursion_limit = n;
        self
    }

    /// Bounds how many tasks of one superstep run at once (at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n.max(1));
        self
    }

    /// Sets when checkpoints are stored.
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Pauses before these nodes in this run (replaces the compiled breakpoints).
    /// [`ALL_NODES`](crate::ALL_NODES) names every node; a name that is not a node of the
    /// graph fails the run before anything runs ([`RunError::UnknownNode`](crate::RunError)).
    pub fn interrupt_before<N: Into<String>>(mut self, nodes: impl IntoIterator<Item = N>) -> Self {
        self.interrupt_before = Some(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// Pauses after these nodes in this run (replaces the compiled breakpoints).
    /// Names are checked as for [`interrupt_before`](Self::interrupt_before).
    pub fn interrupt_after<N: Into<String>>(mut self, nodes: impl IntoIterator<Item = N>) -> Self {
        self.interrupt_after = Some(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Names the run.
    pub fn run_name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }

    /// Sets the run id.
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_builders() {
        let c = RunConfig::default();
        assert_eq!(c.recursion_limit, DEFAULT_RECURSION_LIMIT);
        assert_eq!(c.durability, Durability::Async);
        let c = RunConfig::thread("t")
            .checkpoint_id("c1")
            .max_concurrency(0)
            .interrupt_before(["a"])
            .interrupt_after(vec!["b".to_string()])
            .metadata("user", "ann")
            .run_name("r")
            .run_id("id");
        assert_eq!(c.max_concurrency, Some(1));
        assert_eq!(c.interrupt_before.as_deref(), Some(&["a".to_string()][..]));
        assert_eq!(c.interrupt_after.as_deref(), Some(&["b".to_string()][..]));
        assert_eq!(c.metadata["user"], "ann");
        assert_eq!(c.checkpoint_id.as_deref(), Some("c1"));
        assert_eq!(c.run_name.as_deref(), Some("r"));
        assert_eq!(c.run_id.as_deref(), Some("id"));
    }
}
