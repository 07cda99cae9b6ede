//! Checkpoint I/O of a run: incremental checkpoints (only changed channels, deltas for
//! append channels), handed to the run's [`WriteQueue`], and loading.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use langgraph_checkpoint::{
    Blob, BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, Checkpointer, Fence,
    PendingWrite, PutCheckpoint, PutWrites, SaveOp, SendRecord, SharedStr, SmallMap, Source,
    next_checkpoint_id,
};
use serde_json::{Map, Value, json};

use super::algo::{Control, PushTask};
use super::plan::{NodeExec, SavedNames, Shape};
use super::write_queue::WriteQueue;
use crate::config::Durability;
use crate::error::RunError;
use crate::state::State;
use crate::write_set::{ChannelChange, StepWrites};

/// Fewest items appended after a full snapshot before the next full snapshot.
const MIN_DELTA_RUN: usize = 64;
/// Longest delta chain (bounds the reads needed to rebuild a value).
const MAX_DELTA_DEPTH: u32 = 256;

/// What `Persist::put` queued.
pub(crate) struct Stored {
    pub(crate) id: SharedStr,
    pub(crate) parent_id: Option<SharedStr>,
    pub(crate) step: i64,
    pub(crate) source: Source,
    /// The nodes that run next; filled only when [`Persist::keep_next`] is set (a checkpoint
    /// event will show them).
    pub(crate) next: Vec<SharedStr>,
}

/// Per-channel bookkeeping for incremental storage.
#[derive(Debug, Clone, Default)]
struct ChannelStore {
    version: Option<SharedStr>,
    /// Items stored at `version` (append channels).
    saved_len: usize,
    /// Deltas since the last full value.
    depth: u32,
    /// Items in the last full value.
    full_len: usize,
    /// Change since the last stored checkpoint.
    dirty: Option<ChannelChange>,
}

/// The checkpoint side of a run.
pub(crate) struct Persist {
    /// The run (what it spent on LLM calls and its budget go into every checkpoint).
    scope: Arc<crate::context::RunScope>,
    pub(crate) saver: Arc<dyn Checkpointer>,
    pub(crate) thread_id: SharedStr,
    pub(crate) ns: String,
    pub(crate) durability: Durability,
    pub(crate) run_id: SharedStr,
    /// Node and channel names as checkpoints store them.
    names: Arc<SavedNames>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) parents: BTreeMap<String, String>,
    /// The epoch read at start; the first write claims `seen_epoch + 1`.
    seen_epoch: i64,
    claimed: bool,
    /// The newest checkpoint of the namespace (expected head of the next write).
    pub(crate) head: Option<SharedStr>,
    /// The checkpoint the in-memory state corresponds to (parent of the next checkpoint).
    /// Usually the same allocation as `head` and the channels' versions.
    pub(crate) current: Option<SharedStr>,
    /// Whether [`Stored::next`] is wanted (checkpoint or debug events are streamed).
    pub(crate) keep_next: bool,
    channels: Vec<ChannelStore>,
    /// Durability `exit`: the id of the superstep's checkpoint, chosen when the superstep
    /// committed in memory (task ids derive from it) and used if it ever has to be stored.
    reserved: Option<SharedStr>,
    pub(crate) queue: WriteQueue,
}

impl Persist {
    /// Checkpoint I/O for a run of `scope` on `thread_id`, which read `seen_epoch` and head
    /// checkpoint `head` at start.
    pub(crate) fn new<S: State>(
        saver: Arc<dyn Checkpointer>,
        scope: &Arc<crate::context::RunScope>,
        names: Arc<SavedNames>,
        thread_id: String,
        seen_epoch: i64,
        head: Option<SharedStr>,
    ) -> Self {
        let queue = WriteQueue::new(saver.clone());
        Self {
            scope: scope.clone(),
            saver,
            thread_id: thread_id.into(),
            ns: scope.ns.clone(),
            durability: scope.config.durability,
            run_id: scope.run_id().into(),
            names,
            metadata: scope.config.metadata.clone(),
            parents: scope.parents.clone(),
            seen_epoch,
            claimed: false,
            head,
            current: None,
            keep_next: false,
            channels: vec![ChannelStore::default(); S::info().channels.len()],
            reserved: None,
            queue,
        }
    }

    fn next_fence(&mut self) -> Fence {
        let f = Fence::claim_from(self.seen_epoch);
        if self.claimed {
            f.held()
        } else {
            self.claimed = true;
            f
        }
    }

    /// Writes under a fence someone else holds (a subgraph run writes under its parent's).
    pub(crate) fn inherit(&mut self, fence: &Fence) {
        self.seen_epoch = fence.epoch - 1;
        self.claimed = true;
    }

    /// The fence the run holds, once it claimed the thread.
    pub(crate) fn held_fence(&self) -> Option<Fence> {
        self.claimed
            .then(|| Fence::claim_from(self.seen_epoch).held())
    }

    /// Claims the thread now (for runs whose first write comes after nodes ran).
    pub(crate) async fn claim(&mut self) -> Result<(), RunError> {
        if !self.claimed {
            let f = self.saver.claim(&self.thread_id, self.seen_epoch).await?;
            self.seen_epoch = f.epoch - 1;
            self.claimed = true;
        }
        Ok(())
    }

    /// Adopts the versions of a loaded checkpoint.
    pub(crate) fn load_versions<S: State>(&mut self, tuple: &CheckpointTuple, state: &S) {
        let info = S::info();
        let deltas = tuple
            .checkpoint
            .extra
            .get("deltas")
            .and_then(Value::as_object);
        for (i, c) in info.channels.iter().enumerate() {
            let store = &mut self.channels[i];
            *store = ChannelStore::default();
            store.version = tuple.checkpoint.channel_versions.get(c.name).cloned();
            if c.delta {
                store.saved_len = state.channel_len(i);
                let d = deltas.and_then(|d| d.get(c.name));
                store.depth = d
                    .and_then(|d| d.get("depth"))
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::from(MAX_DELTA_DEPTH)) as u32;
                store.full_len = d
                    .and_then(|d| d.get("full_len"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
            }
        }
        if tuple.checkpoint.state_version != info.version {
            // The values were migrated: the next checkpoint must not point at blobs written
            // in the old format, so every channel is stored again.
            for store in &mut self.channels {
                store.dirty = Some(ChannelChange::Replaced);
            }
        }
        self.current = Some(tuple.checkpoint.id.clone());
    }

    /// Accumulates the changes of a superstep (or of the input).
    pub(crate) fn record(&mut self, writes: &StepWrites) {
        for &ch in writes.touched() {
            let Some(change) = writes.change(ch) else {
                continue;
            };
            let store = &mut self.channels[ch];
            store.dirty = Some(match (store.dirty, change) {
                (None, c) => c,
                (Some(ChannelChange::Appended { from }), ChannelChange::Appended { .. }) => {
                    ChannelChange::Appended { from }
                }
                _ => ChannelChange::Replaced,
            });
        }
    }

    /// Builds the next checkpoint from the state and control, with blobs for the changed
    /// channels, and queues it. Returns what was stored.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put<S: State>(
        &mut self,
        state: &S,
        control: &Control,
        shape: &Shape,
        source: Source,
        step: i64,
        writers: Vec<SharedStr>,
        versions_seen: SmallMap<SharedStr, SmallMap<SharedStr, SharedStr>>,
        next_override: Option<Vec<SharedStr>>,
        parent_writes: Vec<PendingWrite>,
    ) -> Result<Stored, RunError> {
        let info = S::info();
        let id = self
            .reserved
            .take()
            .unwrap_or_else(|| next_checkpoint_id(self.head.as_deref()));
        // One allocation of the id, shared by the checkpoint, its blobs' versions and the run.
        let mut blobs = Vec::new();
        let mut deltas = Map::new();
        for (i, c) in info.channels.iter().enumerate() {
            let store = &mut self.channels[i];
            if let Some(change) = store.dirty.take() {
                let len = if c.delta { state.channel_len(i) } else { 0 };
                let value = match (change, &store.version) {
                    (ChannelChange::Appended { from }, Some(base))
                        if c.delta
                            && from == store.saved_len
                            && store.depth < MAX_DELTA_DEPTH
                            && len.saturating_sub(store.full_len)
                                <= MIN_DELTA_RUN.max(store.full_len) =>
                    {
                        store.depth += 1;
                        BlobValue::Delta {
                            base: base.clone(),
                            items: state
                                .channel_tail_to_json(i, from)
                                .map_err(|e| RunError::serde(format!("channel `{}`", c.name), e))?,
                            depth: store.depth,
                        }
                    }
                    _ => {
                        store.depth = 0;
                        store.full_len = len;
                        BlobValue::Full {
                            value: state
                                .channel_to_json(i)
                                .map_err(|e| RunError::serde(format!("channel `{}`", c.name), e))?,
                        }
                    }
                };
                store.saved_len = len;
                store.version = Some(id.clone());
                blobs.push(Blob {
                    channel: self.names.channels[i].clone(),
                    version: id.clone(),
                    value,
                });
            }
            if c.delta && store.version.is_some() {
                deltas.insert(
                    c.name.to_string(),
                    json!({"depth": store.depth, "full_len": store.full_len}),
                );
            }
        }
        let mut cp = Checkpoint::with_id(id.clone());
        cp.state_version = info.version;
        cp.channel_versions = self.versions();
        cp.versions_seen = versions_seen;
        cp.next = match next_override {
            Some(n) => n,
            None => control
                .pull
                .iter()
                .map(|&n| self.names.nodes[n as usize].clone())
                .collect(),
        };
        for p in &control.push {
            cp.sends.push(SendRecord {
                node: shape.name(p.node).to_string(),
                arg: p
                    .arg
                    .to_json()
                    .map_err(|e| RunError::serde("a SendTo payload", e))?,
            });
        }
        for (j, seen) in control.barriers.iter().enumerate() {
            if !seen.is_empty()
                && let Some(join) = shape.joins.get(j)
            {
                cp.barriers.insert(
                    join.name.clone(),
                    seen.iter().map(|&n| shape.name(n).to_string()).collect(),
                );
            }
        }
        cp.deferred = control
            .deferred
            .iter()
            .map(|&n| shape.name(n).to_string())
            .collect();
        if !deltas.is_empty() {
            cp.extra.insert("deltas".into(), Value::Object(deltas));
        }
        let spent = self.scope.spent();
        if !spent.is_empty() {
            cp.extra.insert("usage".into(), json!(spent));
        }
        if let Some(b) = self.scope.budget_override() {
            cp.extra.insert("budget".into(), json!(b));
        }
        if self.scope.budget().is_some() {
            let ms = self.scope.elapsed().as_millis() as u64;
            cp.extra.insert("wall_ms".into(), json!(ms));
        }
        let mut meta = CheckpointMetadata::new(source, step);
        meta.parents = self.parents.clone();
        meta.run_id = Some(self.run_id.clone());
        meta.writers = writers;
        meta.extra = self.metadata.clone();
        let stored = Stored {
            id: id.clone(),
            parent_id: self.current.clone(),
            step,
            source,
            next: if self.keep_next {
                cp.next.clone()
            } else {
                Vec::new()
            },
        };
        let put = PutCheckpoint {
            thread_id: self.thread_id.clone(),
            ns: self.ns.clone(),
            checkpoint: cp,
            metadata: meta,
            parent_id: self.current.clone(),
            expected_head: self.head.clone(),
            blobs,
            parent_writes,
            fence: self.next_fence(),
        };
        self.queue.push(SaveOp::Checkpoint(put));
        self.head = Some(id.clone());
        self.current = Some(id);
        Ok(stored)
    }

    /// Chooses the id of a checkpoint that is not stored now (durability `exit`).
    pub(crate) fn reserve_id(&mut self) -> SharedStr {
        let id = next_checkpoint_id(self.head.as_deref());
        self.reserved = Some(id.clone());
        id
    }

    /// Queues task writes against the current checkpoint.
    pub(crate) fn put_writes(&mut self, writes: Vec<PendingWrite>) {
        let Some(checkpoint_id) = self.current.clone() else {
            return;
        };
        if writes.is_empty() {
            return;
        }
        let put = PutWrites {
            thread_id: self.thread_id.clone(),
            ns: self.ns.clone(),
            checkpoint_id,
            writes,
            fence: self.next_fence(),
        };
        self.queue.push(SaveOp::Writes(put));
    }

    /// The version of each channel, by name (for `versions_seen`).
    pub(crate) fn versions(&self) -> SmallMap<SharedStr, SharedStr> {
        let mut out = SmallMap::with_capacity(self.channels.len());
        for (name, s) in self.names.channels.iter().zip(&self.channels) {
            if let Some(v) = &s.version {
                out.insert(name.clone(), v.clone());
            }
        }
        out
    }

    /// The name checkpoints give node `id`.
    pub(crate) fn node_name(&self, id: super::plan::NodeId) -> SharedStr {
        self.names.nodes[id as usize].clone()
    }
}

/// Loads a state value from a checkpoint (migrating old state versions). The tuple's values
/// move into the state (a long list is not copied): `t.values` is empty afterwards.
pub(crate) fn load_state<S: State>(t: &mut CheckpointTuple) -> Result<S, RunError> {
    let err = |reason: String| RunError::StateLoad {
        thread_id: t.thread_id.clone(),
        checkpoint_id: t.checkpoint.id.to_string(),
        reason,
    };
    let values: Map<String, Value> = std::mem::take(&mut t.values).into_iter().collect();
    let values = S::migrate(t.checkpoint.state_version, values).map_err(err)?;
    let info = S::info();
    let mut state = S::default();
    for (name, v) in values {
        match info.index_of(&name) {
            Some(i) => state.channel_from_json(i, v).map_err(|e| {
                err(format!(
                    "stored channel `{name}` does not fit the field's type in {}: {e} (if the \
                     struct changed, bump `#[state(version = N)]` and add a migration)",
                    info.name
                ))
            })?,
            None => tracing::warn!(
                channel = %name,
                state = info.name,
                "stored channel has no field in the state type; ignored"
            ),
        }
    }
    Ok(state)
}

/// Loads the scheduled tasks, barriers and deferred nodes of a checkpoint.
pub(crate) fn load_control<S: State>(
    shape: &Shape,
    exec: &[NodeExec<S>],
    t: &CheckpointTuple,
) -> Result<Control, RunError> {
    let err = |reason: String| RunError::StateLoad {
        thread_id: t.thread_id.clone(),
        checkpoint_id: t.checkpoint.id.to_string(),
        reason,
    };
    let node = |name: &str| {
        shape.id(name).ok_or_else(|| {
            err(format!(
                "it schedules node `{name}`, which this graph no longer has"
            ))
        })
    };
    let mut c = Control::new(shape);
    c.begin_step();
    for n in &t.checkpoint.next {
        if n == crate::types::START {
            continue;
        }
        c.pull.push(node(n)?);
    }
    for s in &t.checkpoint.sends {
        let id = node(&s.node)?;
        let arg = exec[id as usize]
            .node
            .decode_arg(s.arg.clone())
            .map_err(|e| {
                err(format!(
                    "a SendTo payload for `{}` does not decode: {e}",
                    s.node
                ))
            })?;
        c.push.push(PushTask { node: id, arg });
    }
    let by_join: HashMap<&str, usize> = shape
        .joins
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    for (name, seen) in &t.checkpoint.barriers {
        let Some(&j) = by_join.get(name.as_str()) else {
            return Err(err(format!(
                "it has barrier `{name}`, which this graph no longer has"
            )));
        };
        for s in seen {
            c.barriers[j].push(node(s)?);
        }
    }
    for d in &t.checkpoint.deferred {
        c.deferred.push(node(d)?);
    }
    Ok(c)
}
