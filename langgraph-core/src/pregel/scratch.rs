//! Buffers a run reuses from one superstep to the next (emptied, never shrunk), so that a
//! superstep allocates only what outlives it.

use std::sync::Arc;

use super::runner::TaskOutcome;
use crate::context::{Ctx, StepCtx};
use crate::node::NodeOutput;
use crate::state::State;

pub(crate) struct Scratch<S: State> {
    /// Per task: its writes were saved by an earlier attempt of the superstep.
    pub(crate) reused: Vec<bool>,
    /// Per task: how it ended.
    pub(crate) outcomes: Vec<Option<TaskOutcome<S>>>,
    /// The finished tasks' outputs, in task order.
    pub(crate) done: Vec<(usize, NodeOutput<S>)>,
    /// The finished tasks' updates, in task order.
    pub(crate) updates: Vec<(usize, S::Update)>,
    /// The last superstep's context and its tasks' handles: reused when no node kept a
    /// handle past its task.
    pub(crate) step_ctx: Option<Arc<StepCtx>>,
    pub(crate) ctxs: Vec<Ctx>,
}

impl<S: State> Default for Scratch<S> {
    fn default() -> Self {
        Self {
            reused: Vec::new(),
            outcomes: Vec::new(),
            done: Vec::new(),
            updates: Vec::new(),
            step_ctx: None,
            ctxs: Vec::new(),
        }
    }
}

/// Takes `buf` out of the scratch space, emptied, with room for `n` items.
pub(crate) fn emptied<T>(buf: &mut Vec<T>, n: usize) -> Vec<T> {
    let mut taken = std::mem::take(buf);
    taken.clear();
    taken.reserve(n);
    taken
}
