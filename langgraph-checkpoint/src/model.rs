//! The stored shape of a checkpoint: plain data, serialized as JSON.
//!
//! A checkpoint does not hold the state itself. It holds, per channel, the *version* at which
//! the channel last changed; the values live in [`Blob`]s keyed by `(channel, version)`, so a
//! channel that did not change in a superstep costs nothing to store again. Append-style
//! channels may store a [`BlobValue::Delta`] (only the appended items) that points at the
//! previous version; [`crate::resolve`] rebuilds full values from such chains.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::id::{new_checkpoint_id, next_checkpoint_id};
use crate::shared_str::SharedStr;
use crate::small_map::SmallMap;

/// The checkpoint format this build writes, stored in every checkpoint as `"v"`.
pub const FORMAT_VERSION: u32 = 1;

/// Pending-write channel holding a task's output (its update and routing decisions).
pub const WRITES: &str = "__writes__";
/// Pending-write channel holding the interrupts a task raised.
pub const INTERRUPT: &str = "__interrupt__";
/// Pending-write channel holding the resume values supplied for a task's interrupts.
pub const RESUME: &str = "__resume__";
/// Pending-write channel holding the error a task failed with.
pub const ERROR: &str = "__error__";
/// Pending-write channel holding answers to interrupts of subgraphs a task called, by
/// interrupt id (a JSON object).
pub const RESUME_MAP: &str = "__resume_map__";
/// Pending-write channel holding a task's journaled side-effect results, by key (a JSON
/// object).
pub const JOURNAL: &str = "__journal__";

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The input of a run, before it was applied (step `-1` on a new thread).
    Input,
    /// Written by the superstep loop after a superstep (or after the input was applied).
    Loop,
    /// Written by `update_state`.
    Update,
    /// A copy of an older checkpoint, written when a run replays from it.
    Fork,
}

impl Source {
    /// The lowercase name used in storage and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Loop => "loop",
            Self::Update => "update",
            Self::Fork => "fork",
        }
    }
}

/// A pending `Send`: a task for `node` with its own input, to run in the next superstep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendRecord {
    /// The target node.
    pub node: String,
    /// The serialized payload.
    pub arg: Value,
}

/// A snapshot of the run's bookkeeping at a superstep boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version ([`FORMAT_VERSION`] when written by this build).
    pub v: u32,
    /// Unique, time-ordered id.
    pub id: SharedStr,
    /// Creation time.
    #[serde(with = "crate::timestamp")]
    pub ts: chrono::DateTime<chrono::Utc>,
    /// Per channel, the version at which its value last changed. A channel that was never
    /// written has no entry.
    pub channel_versions: SmallMap<SharedStr, SharedStr>,
    /// Per node, the versions of its trigger channels it had consumed when it last ran.
    pub versions_seen: SmallMap<SharedStr, SmallMap<SharedStr, SharedStr>>,
    /// Nodes triggered by edges that run in the next superstep, in execution order.
    pub next: Vec<SharedStr>,
    /// `Send` tasks that run in the next superstep, in emission order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendRecord>,
    /// Join barriers: per barrier, the sources that have completed since its target last ran.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub barriers: BTreeMap<String, Vec<String>>,
    /// Deferred nodes that were triggered and wait until nothing else is runnable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
    /// The version of the user's state struct that wrote the values (for migrations).
    #[serde(default = "one")]
    pub state_version: u32,
    /// Engine data that travels with the run (for example budget spent so far).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

fn one() -> u32 {
    1
}

impl Checkpoint {
    /// An empty checkpoint with a fresh id and the current time.
    pub fn empty() -> Self {
        Self::with_id(new_checkpoint_id())
    }

    /// An empty checkpoint with the given id (see [`next_checkpoint_id`]) and the current time.
    pub fn with_id(id: impl Into<SharedStr>) -> Self {
        Self {
            v: FORMAT_VERSION,
            id: id.into(),
            ts: chrono::Utc::now(),
            channel_versions: SmallMap::new(),
            versions_seen: SmallMap::new(),
            next: Vec::new(),
            sends: Vec::new(),
            barriers: BTreeMap::new(),
            deferred: Vec::new(),
            state_version: 1,
            extra: Map::new(),
        }
    }
}

/// Facts about a checkpoint that are filterable in [`ListOptions::filter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    /// Why it was written.
    pub source: Source,
    /// The superstep counter: `-1` for the first input, then `0`, `1`, ...
    pub step: i64,
    /// Checkpoint ids of the enclosing graphs, by namespace (empty for a root graph).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parents: BTreeMap<String, String>,
    /// The run that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<SharedStr>,
    /// Names of the nodes whose writes produced it (for `update_state`, the `as_node`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writers: Vec<SharedStr>,
    /// User metadata from the run configuration.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CheckpointMetadata {
    /// Metadata with the given source and step and nothing else.
    pub fn new(source: Source, step: i64) -> Self {
        Self {
            source,
            step,
            parents: BTreeMap::new(),
            run_id: None,
            writers: Vec::new(),
            extra: Map::new(),
        }
    }

    /// True when every key of `filter` is present in this metadata with an equal value.
    pub fn matches(&self, filter: &Map<String, Value>) -> bool {
        if filter.is_empty() {
            return true;
        }
        let Ok(Value::Object(me)) = serde_json::to_value(self) else {
            return false;
        };
        filter.iter().all(|(k, v)| me.get(k) == Some(v))
    }
}

/// How a stored channel value is represented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BlobValue {
    /// The complete value.
    Full {
        /// The value.
        value: Value,
    },
    /// Items appended to the value stored at version `base` (a JSON array or string).
    Delta {
        /// The version this delta extends.
        base: SharedStr,
        /// The appended items.
        items: Value,
        /// How many deltas lead back to the last full value (1 for the first delta).
        depth: u32,
    },
}

/// One stored channel value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    /// Channel name.
    pub channel: SharedStr,
    /// Version it was written at (see [`Checkpoint::channel_versions`]).
    pub version: SharedStr,
    /// The value or delta.
    pub value: BlobValue,
}

/// A write of a task that has not been committed by a checkpoint yet (or a record about the
/// task: its interrupts, resume values, error or journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWrite {
    /// Stable id of the task (the same across retries and resumes).
    pub task_id: String,
    /// The node the task runs.
    pub task_name: String,
    /// What the write is (see the `WRITES`, `INTERRUPT`, ... constants).
    pub channel: String,
    /// The payload.
    pub value: Value,
}

/// A checkpoint as read back, with its channel values resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointTuple {
    /// The thread it belongs to.
    pub thread_id: String,
    /// The graph namespace (`""` for the root graph).
    pub ns: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Its metadata.
    pub metadata: CheckpointMetadata,
    /// The checkpoint it follows, if any.
    pub parent_id: Option<String>,
    /// Full channel values, by channel name (only channels that have a version).
    pub values: BTreeMap<String, Value>,
    /// Writes saved against this checkpoint by tasks of the superstep that follows it.
    pub pending_writes: Vec<PendingWrite>,
}

/// The latest state of a thread namespace and the thread's fencing epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The thread's current epoch (0 for a thread that was never claimed).
    pub epoch: i64,
    /// The newest checkpoint of the namespace, if any.
    pub checkpoint: Option<CheckpointTuple>,
}

/// Options for [`crate::Checkpointer::list`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListOptions {
    /// Only checkpoints whose metadata matches every key/value here.
    pub filter: Map<String, Value>,
    /// Only checkpoints strictly older than this checkpoint id.
    pub before: Option<String>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
}

impl ListOptions {
    /// Every checkpoint of the thread namespace, newest first.
    ///
    /// ```
    /// use langgraph_checkpoint::ListOptions;
    /// use serde_json::json;
    ///
    /// // The two newest checkpoints written by the loop, older than checkpoint `c7`.
    /// let o = ListOptions::new().filter("source", "loop").before("c7").limit(2);
    /// assert_eq!(o.filter.get("source"), Some(&json!("loop")));
    /// assert_eq!(o.before.as_deref(), Some("c7"));
    /// assert_eq!(o.limit, Some(2));
    /// assert_eq!(ListOptions::new(), ListOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps only checkpoints whose metadata has `key` equal to `value` (in addition to the
    /// keys already given).
    pub fn filter(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.filter.insert(key.into(), value.into());
        self
    }

    /// Keeps only checkpoints strictly older than `checkpoint_id`.
    pub fn before(mut self, checkpoint_id: impl Into<String>) -> Self {
        self.before = Some(checkpoint_id.into());
        self
    }

    /// Returns at most `n` checkpoints, the newest.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}

/// Proof that a writer owns a thread: every write carries it, and the saver rejects writes whose
/// fence is stale (optimistic concurrency with fencing tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The epoch this writer claimed.
    pub epoch: i64,
    /// When true, this write is also the claim: the saver requires the thread's epoch to be
    /// `epoch - 1` and sets it to `epoch` in the same transaction.
    pub claim: bool,
}

impl Fence {
    /// A fence that claims the thread on its first write, given the epoch read at start.
    pub fn claim_from(seen_epoch: i64) -> Self {
        Self {
            epoch: seen_epoch + 1,
            claim: true,
        }
    }

    /// The same fence for follow-up writes (no longer claiming).
    pub fn held(&self) -> Self {
        Self {
            epoch: self.epoch,
            claim: false,
        }
    }
}

/// A checkpoint to store, with the blobs of the channels that changed and the final writes of
/// the superstep that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct PutCheckpoint {
    /// The thread.
    pub thread_id: SharedStr,
    /// The graph namespace (`""` for the root graph).
    pub ns: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Its metadata.
    pub metadata: CheckpointMetadata,
    /// The checkpoint it follows.
    pub parent_id: Option<SharedStr>,
    /// The newest checkpoint of the namespace that the writer saw; the write is rejected with
    /// a conflict if the namespace's head is another checkpoint.
    pub expected_head: Option<SharedStr>,
    /// Values of the channels whose version changed in this checkpoint.
    pub blobs: Vec<Blob>,
    /// Writes to record against `parent_id` in the same transaction (tasks that finished last
    /// in the superstep).
    pub parent_writes: Vec<PendingWrite>,
    /// The writer's fence.
    pub fence: Fence,
}

/// Writes of tasks to record against an existing checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct PutWrites {
    /// The thread.
    pub thread_id: SharedStr,
    /// The graph namespace.
    pub ns: String,
    /// The checkpoint the writes belong to.
    pub checkpoint_id: SharedStr,
    /// The writes. A write with the same `(task_id, channel)` as a stored one replaces it.
    pub writes: Vec<PendingWrite>,
    /// The writer's fence.
    pub fence: Fence,
}

/// One write of a batch ([`Checkpointer::put_batch`](crate::Checkpointer::put_batch)).
#[derive(Debug, Clone, PartialEq)]
// Built once per write and moved into a queue: boxing the checkpoint would only add an
// allocation per superstep.
#[allow(clippy::large_enum_variant)]
pub enum SaveOp {
    /// A checkpoint ([`Checkpointer::put`](crate::Checkpointer::put)).
    Checkpoint(PutCheckpoint),
    /// Pending writes ([`Checkpointer::put_writes`](crate::Checkpointer::put_writes)).
    Writes(PutWrites),
}

/// The answer of [`Checkpointer::put_now`](crate::Checkpointer::put_now).
#[derive(Debug)]
// Built once per checkpoint and matched at once: boxing the checkpoint would only add an
// allocation per superstep.
#[allow(clippy::large_enum_variant)]
pub enum PutNow {
    /// The saver finished the write: stored, or refused with this error.
    Done(Result<(), crate::CheckpointError>),
    /// The saver cannot store without waiting: await
    /// [`Checkpointer::put`](crate::Checkpointer::put) with this checkpoint.
    Later(PutCheckpoint),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn with_id_keeps_the_id_and_empty_draws_a_fresh_one() {
        let a = Checkpoint::empty();
        let b = Checkpoint::with_id(next_checkpoint_id(Some(&a.id)));
        assert!(b.id > a.id, "{} then {}", a.id, b.id);
        assert_eq!(Checkpoint::with_id("c-1").id, "c-1");
    }

    #[test]
    fn checkpoint_json_round_trip() {
        let mut c = Checkpoint::empty();
        c.channel_versions.insert("x".into(), "v1".into());
        c.next.push("a".into());
        c.sends.push(SendRecord {
            node: "w".into(),
            arg: json!(3),
        });
        let s = serde_json::to_string(&c).unwrap();
        let back: Checkpoint = serde_json::from_str(&s).unwrap();
        assert_eq!(back, c);
        assert!(s.contains("\"v\":1"));
    }

    #[test]
    fn metadata_filter_matches_keys() {
        let mut m = CheckpointMetadata::new(Source::Input, -1);
        m.extra.insert("user".into(), json!("ann"));
        let f = |v: Value| v.as_object().cloned().unwrap();
        assert!(m.matches(&f(json!({"source": "input"}))));
        assert!(m.matches(&f(json!({"source": "input", "step": -1, "user": "ann"}))));
        assert!(!m.matches(&f(json!({"source": "loop"}))));
        assert!(!m.matches(&f(json!({"user": "bob"}))));
        assert!(m.matches(&Map::new()));
        assert_eq!(Source::Fork.as_str(), "fork");
    }

    #[test]
    fn fence_claims_once() {
        let f = Fence::claim_from(4);
        assert_eq!(f.epoch, 5);
        assert!(f.claim);
        assert_eq!(
            f.held(),
            Fence {
                epoch: 5,
                claim: false
            }
        );
    }

    #[test]
    fn blob_value_is_tagged() {
        let d = BlobValue::Delta {
            base: "v1".into(),
            items: json!([1]),
            depth: 1,
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["kind"], "delta");
        let back: BlobValue = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
    }
}
