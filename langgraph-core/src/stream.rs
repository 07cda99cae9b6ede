//! Streaming: the event types a run emits and the modes that select them.

use std::fmt;
use std::ops::BitOr;

use serde_json::Value;

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
}

impl StreamMode {
    fn bit(self) -> u8 {
        match self {
            Self::Values => 1,
            Self::Updates => 2,
            Self::Custom => 4,
            Self::Checkpoints => 8,
        }
    }
}

/// A set of [`StreamMode`]s: `StreamMode::Values | StreamMode::Updates`, or from an array.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamModes(u8);

impl StreamModes {
    /// No modes.
    pub fn none() -> Self {
        Self(0)
    }
    /// True when `mode` is in the set.
    pub fn contains(self, mode: StreamMode) -> bool {
        self.0 & mode.bit() != 0
    }
    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for StreamModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = [
            StreamMode::Values,
            StreamMode::Updates,
            StreamMode::Custom,
            StreamMode::Checkpoints,
        ];
        f.debug_set()
            .entries(all.iter().filter(|m| self.contains(**m)))
            .finish()
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
    }
}
