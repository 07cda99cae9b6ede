//! `Input`: how a run starts.

use std::fmt;

use super::command::Command;
use crate::state::State;

/// The input of a run.
///
/// `From` conversions exist for the state, its update type, projection types and
/// [`Command`], so `graph.invoke(state, &cfg)` and `graph.invoke(update, &cfg)` both work.
pub enum Input<S: State> {
    /// Apply this update as input and start from `START` (on an existing thread, the pending
    /// tasks of the last checkpoint are dropped).
    Update(S::Update),
    /// Continue the thread from its checkpoint (LangGraph's `invoke(None)`): run the pending
    /// tasks, past a static breakpoint the run stopped at.
    Continue,
    /// Resume interrupts, or apply an update and jump to nodes of an existing thread.
    Command(Command<S>),
}

impl<S: State> From<Command<S>> for Input<S> {
    fn from(c: Command<S>) -> Self {
        Self::Command(c)
    }
}

impl<S: State> Clone for Input<S> {
    fn clone(&self) -> Self {
        match self {
            Self::Update(u) => Self::Update(u.clone()),
            Self::Continue => Self::Continue,
            Self::Command(c) => Self::Command(c.clone()),
        }
    }
}

impl<S: State> fmt::Debug for Input<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Update(u) => f.debug_tuple("Update").field(u).finish(),
            Self::Continue => f.write_str("Continue"),
            Self::Command(c) => f.debug_tuple("Command").field(c).finish(),
        }
    }
}
