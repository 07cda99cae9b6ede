//! Streaming: the event types a run emits and the modes that select them.

use std::fmt;
use std::ops::BitOr;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::report::RunReport;
use crate::state::State;
use crate::types::Interrupt;

/// A kind of stream event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamMode {
    /// The whole state after the input and after every superstep that changed it.
    Values,
    /// Each task's update when it finishes (and pending interrupts).
    Updates,
    /// What nodes send with [`Ctx::emit`](crate::Ctx::emit).
    Custom,
    /// Every checkpoint the run stores (needs a checkpointer).
    Checkpoints,
    /// A start event per task before it runs and a result event when it ends.
    Tasks,
    /// Checkpoints and task events wrapped as [`DebugEvent`]s, then the run's report.
    Debug,
    /// LLM output as it is generated (chunks that nodes send with
    /// [`Ctx::emit_message`](crate::Ctx::emit_message); the LLM layer does it for you).
    Messages,
}

impl StreamMode {
    const ALL: [StreamMode; 7] = [
        Self::Values,
        Self::Updates,
        Self::Custom,
        Self::Checkpoints,
        Self::Tasks,
        Self::Debug,
        Self::Messages,
    ];

    fn bit(self) -> u16 {
        match self {
            Self::Values => 1,
            Self::Updates => 2,
            Self::Custom => 4,
            Self::Checkpoints => 8,
            Self::Tasks => 16,
            Self::Debug => 32,
            Self::Messages => 64,
        }
    }

    /// The mode's name, as in LangGraph (`"values"`, `"updates"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Values => "values",
            Self::Updates => "updates",
            Self::Custom => "custom",
            Self::Checkpoints => "checkpoints",
            Self::Tasks => "tasks",
            Self::Debug => "debug",
            Self::Messages => "messages",
        }
    }
}

/// Not a mode: streams the events of subgraphs too (as [`StreamEvent::Subgraph`]).
const SUBGRAPHS: u16 = 1 << 15;

/// A set of [`StreamMode`]s: `StreamMode::Values | StreamMode::Updates`, or from an array.
///
/// [`with_subgraphs`](Self::with_subgraphs) adds the events of subgraphs (each with the
/// namespace of the subgraph run that emitted it).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamModes(u16);

impl StreamModes {
    /// No modes.
    pub fn none() -> Self {
        Self(0)
    }
    /// True when `mode` is in the set.
    pub fn contains(self, mode: StreamMode) -> bool {
        self.0 & mode.bit() != 0
    }
    /// True when the set has no mode.
    pub fn is_empty(self) -> bool {
        self.0 & !SUBGRAPHS == 0
    }
    /// The same modes, for subgraphs too.
    pub fn with_subgraphs(self) -> Self {
        Self(self.0 | SUBGRAPHS)
    }
    /// True when subgraph events are streamed.
    pub fn subgraphs(self) -> bool {
        self.0 & SUBGRAPHS != 0
    }
}

impl fmt::Debug for StreamModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = f.debug_set();
        set.entries(StreamMode::ALL.iter().filter(|m| self.contains(**m)));
        if self.subgraphs() {
            set.entry(&"subgraphs");
        }
        set.finish()
    }
}

impl From<StreamMode> for StreamModes {
    fn from(m: StreamMode) -> Self {
        Self(m.bit())
    }
}

impl<const N: usize> From<[StreamMode; N]> for StreamModes {
    fn from(ms: [StreamMode; N]) -> Self {
        Self(ms.iter().fold(0, |acc, m| acc | m.bit()))
    }
}

impl From<&[StreamMode]> for StreamModes {
    fn from(ms: &[StreamMode]) -> Self {
        Self(ms.iter().fold(0, |acc, m| acc | m.bit()))
    }
}

impl BitOr for StreamMode {
    type Output = StreamModes;
    fn bitor(self, rhs: Self) -> StreamModes {
        StreamModes(self.bit() | rhs.bit())
    }
}

impl BitOr<StreamMode> for StreamModes {
    type Output = StreamModes;
    fn bitor(self, rhs: StreamMode) -> StreamModes {
        StreamModes(self.0 | rhs.bit())
    }
}

/// One event of a run's stream.
#[non_exhaustive]
pub enum StreamEvent<S: State> {
    /// The whole state (mode `Values`).
    Values(S),
    /// A task's update (mode `Updates`).
    Updates {
        /// The node.
        node: String,
        /// What it wrote.
        update: S::Update,
    },
    /// The run paused: the pending interrupts (empty for a static breakpoint) (mode
    /// `Updates`).
    Interrupt(Vec<Interrupt>),
    /// A payload a node emitted (mode `Custom`).
    Custom {
        /// Namespace of the graph the node belongs to.
        ns: String,
        /// The node.
        node: String,
        /// The payload.
        payload: Value,
    },
    /// A checkpoint was stored (mode `Checkpoints`).
    Checkpoint(CheckpointEvent<S>),
    /// A task is about to run (mode `Tasks`).
    TaskStart(TaskStart),
    /// A task ended (mode `Tasks`).
    TaskEnd(TaskEnd),
    /// A checkpoint or task event, wrapped (mode `Debug`).
    Debug(DebugEvent),
    /// A chunk of LLM output (mode `Messages`).
    Message {
        /// Namespace of the graph the node belongs to.
        ns: String,
        /// The node that made the LLM call.
        node: String,
        /// The chunk (the LLM layer's message chunk as JSON).
        chunk: Value,
    },
    /// An event of a subgraph run (with [`StreamModes::with_subgraphs`]); the subgraph's state
    /// type differs from this graph's, so its event comes as JSON.
    Subgraph {
        /// Namespace of the subgraph run (`node:task_id`, nested with `|`).
        ns: String,
        /// The event's mode.
        mode: StreamMode,
        /// The event as JSON.
        payload: Value,
    },
    /// What the run did (mode `Debug`, the last event of a run that ended or paused).
    Report(RunReport),
}

/// A task about to run.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStart {
    /// Namespace of the graph.
    pub ns: String,
    /// The superstep.
    pub step: i64,
    /// The task's stable id.
    pub id: String,
    /// The node.
    pub node: String,
    /// What the task receives: the state, or its `SendTo` payload.
    pub input: Value,
}

/// A task that ended.
#[derive(Debug, Clone, Serialize)]
pub struct TaskEnd {
    /// Namespace of the graph.
    pub ns: String,
    /// The superstep.
    pub step: i64,
    /// The task's stable id.
    pub id: String,
    /// The node.
    pub node: String,
    /// Its writes (the update), when it succeeded.
    pub result: Option<Value>,
    /// Its error, when it failed.
    pub error: Option<String>,
    /// The interrupt it stopped on.
    pub interrupts: Vec<Interrupt>,
    /// Attempts made.
    pub attempts: u32,
    /// Wall time of the task.
    #[serde(serialize_with = "micros")]
    pub elapsed: Duration,
    /// True when the output came from the node cache (or from writes saved earlier).
    pub cached: bool,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

/// What a debug event wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DebugKind {
    /// A stored checkpoint.
    Checkpoint,
    /// A task start.
    Task,
    /// A task end.
    TaskResult,
}

/// A debug event: `{type, step, payload}`.
#[derive(Debug, Clone, Serialize)]
pub struct DebugEvent {
    /// What it wraps.
    #[serde(rename = "type")]
    pub kind: DebugKind,
    /// The superstep.
    pub step: i64,
    /// The wrapped event as JSON.
    pub payload: Value,
}

/// A stored checkpoint, as streamed.
#[derive(Debug, Clone)]
pub struct CheckpointEvent<S> {
    /// Namespace of the graph (`""` for the root graph).
    pub ns: String,
    /// The checkpoint id.
    pub id: String,
    /// The checkpoint it follows.
    pub parent_id: Option<String>,
    /// The superstep counter.
    pub step: i64,
    /// Why it was written.
    pub source: langgraph_checkpoint::Source,
    /// The nodes that run next.
    pub next: Vec<String>,
    /// The state.
    pub values: S,
}

impl<S: State> StreamEvent<S> {
    /// The mode this event belongs to.
    pub fn mode(&self) -> StreamMode {
        match self {
            Self::Values(_) => StreamMode::Values,
            Self::Updates { .. } | Self::Interrupt(_) => StreamMode::Updates,
            Self::Custom { .. } => StreamMode::Custom,
            Self::Checkpoint(_) => StreamMode::Checkpoints,
            Self::TaskStart(_) | Self::TaskEnd(_) => StreamMode::Tasks,
            Self::Debug(_) | Self::Report(_) => StreamMode::Debug,
            Self::Message { .. } => StreamMode::Messages,
            Self::Subgraph { mode, .. } => *mode,
        }
    }

    /// The event as JSON (what a subgraph's event looks like in its parent's stream).
    pub fn to_json(&self) -> Value {
        let err = |e: serde_json::Error| json!({"error": e.to_string()});
        match self {
            Self::Values(s) => s.to_json().unwrap_or_else(err),
            Self::Updates { node, update } => {
                json!({ node.as_str(): serde_json::to_value(update).unwrap_or_else(err) })
            }
            Self::Interrupt(i) => json!({"__interrupt__": i}),
            Self::Custom { payload, .. } => payload.clone(),
            Self::Checkpoint(c) => json!({
                "id": c.id,
                "parent_id": c.parent_id,
                "step": c.step,
                "source": c.source,
                "next": c.next,
                "values": c.values.to_json().unwrap_or_else(err),
            }),
            Self::TaskStart(t) => serde_json::to_value(t).unwrap_or_else(err),
            Self::TaskEnd(t) => serde_json::to_value(t).unwrap_or_else(err),
            Self::Debug(d) => serde_json::to_value(d).unwrap_or_else(err),
            Self::Message { node, chunk, .. } => json!({"node": node, "chunk": chunk}),
            Self::Subgraph { payload, .. } => payload.clone(),
            Self::Report(r) => serde_json::to_value(r).unwrap_or_else(err),
        }
    }
}

impl<S: State + fmt::Debug> fmt::Debug for StreamEvent<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Values(s) => f.debug_tuple("Values").field(s).finish(),
            Self::Updates { node, update } => f
                .debug_struct("Updates")
                .field("node", node)
                .field("update", update)
                .finish(),
            Self::Interrupt(i) => f.debug_tuple("Interrupt").field(i).finish(),
            Self::Custom { ns, node, payload } => f
                .debug_struct("Custom")
                .field("ns", ns)
                .field("node", node)
                .field("payload", payload)
                .finish(),
            Self::Checkpoint(c) => f
                .debug_struct("Checkpoint")
                .field("id", &c.id)
                .field("step", &c.step)
                .field("source", &c.source)
                .field("next", &c.next)
                .field("values", &c.values)
                .finish(),
            Self::TaskStart(t) => f.debug_tuple("TaskStart").field(t).finish(),
            Self::TaskEnd(t) => f.debug_tuple("TaskEnd").field(t).finish(),
            Self::Debug(d) => f.debug_tuple("Debug").field(d).finish(),
            Self::Message { ns, node, chunk } => f
                .debug_struct("Message")
                .field("ns", ns)
                .field("node", node)
                .field("chunk", chunk)
                .finish(),
            Self::Subgraph { ns, mode, payload } => f
                .debug_struct("Subgraph")
                .field("ns", ns)
                .field("mode", mode)
                .field("payload", payload)
                .finish(),
            Self::Report(r) => f.debug_tuple("Report").field(r).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_sets() {
        let m = StreamMode::Values | StreamMode::Updates;
        assert!(m.contains(StreamMode::Values) && m.contains(StreamMode::Updates));
        assert!(!m.contains(StreamMode::Custom));
        let all: StreamModes = [StreamMode::Custom].into();
        assert!(all.contains(StreamMode::Custom));
        assert!(StreamModes::none().is_empty());
        assert_eq!(format!("{m:?}"), "{Values, Updates}");
        let s: StreamModes = (&[StreamMode::Values][..]).into();
        assert_eq!(
            (s | StreamMode::Custom),
            [StreamMode::Values, StreamMode::Custom].into()
        );
        let sub = (StreamMode::Tasks | StreamMode::Debug).with_subgraphs();
        assert!(sub.subgraphs() && !m.subgraphs());
        assert!(!sub.is_empty() && StreamModes::none().with_subgraphs().is_empty());
        assert_eq!(format!("{sub:?}"), "{Tasks, Debug, \"subgraphs\"}");
        assert_eq!(StreamMode::Messages.as_str(), "messages");
    }
}
