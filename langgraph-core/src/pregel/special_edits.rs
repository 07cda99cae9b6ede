//! The edits of `update_state` that are not a node's write: `as_node` [`END`] (the tasks due
//! are dropped), [`INPUT`] (an input staged for a run to start from) and [`COPY`] (a copy of
//! a checkpoint to run again from).

use langgraph_checkpoint::{CheckpointTuple, SmallMap, Source};

use super::run_loop::Loop;
use crate::context::task_id;
use crate::error::RunError;
use crate::state::{State, StateUpdate};
use crate::types::{COPY, END, INPUT};

/// An edit that is not a node's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// `as_node = END`: the tasks due at the checkpoint count as run with no writes; those that
    /// had finished keep theirs.
    ClearTasks,
    /// `as_node = INPUT`: an input checkpoint whose START task applies the update.
    Input,
    /// `as_node = COPY`: a `fork` copy of the checkpoint, a sibling of it.
    Copy,
}

impl Special {
    /// The special edit `as_node` names, if any.
    pub(crate) fn of(as_node: Option<&str>) -> Option<Self> {
        match as_node? {
            END => Some(Self::ClearTasks),
            INPUT => Some(Self::Input),
            COPY => Some(Self::Copy),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::ClearTasks => END,
            Self::Input => INPUT,
            Self::Copy => COPY,
        }
    }

    /// Checks the edit's update: only an input carries values.
    pub(crate) fn check<U: StateUpdate>(self, update: &U) -> Result<(), RunError> {
        if self != Self::Input && !update.is_empty() {
            return Err(RunError::InvalidStateUpdate(format!(
                "as_node `{}` takes an empty update; to change values, call update_state \
                 again on the checkpoint it returns",
                self.name()
            )));
        }
        Ok(())
    }

    /// The error for a special edit among other edits.
    pub(crate) fn not_alone(self) -> RunError {
        RunError::InvalidStateUpdate(format!(
            "as_node `{}` must be the only edit of a one-superstep update",
            self.name()
        ))
    }
}

impl<S: State> Loop<'_, S> {
    /// Stores the special edit `kind` (with `update` for an input) on the loaded checkpoint
    /// `base` (`None`: the thread has none). Returns the stored checkpoint's id.
    pub(crate) fn special_edit(
        &mut self,
        kind: Special,
        update: S::Update,
        base: Option<&CheckpointTuple>,
    ) -> Result<String, RunError> {
        kind.check(&update)?;
        match kind {
            Special::Input => self.stage_input(update, base.is_some()),
            Special::Copy => {
                let Some(b) = base else {
                    return Err(RunError::InvalidStateUpdate(
                        "the thread has no checkpoint to copy".into(),
                    ));
                };
                self.copy_of(b)
            }
            Special::ClearTasks => self.clear_tasks(),
        }
    }

    /// An input checkpoint on top of the loaded state: START applies `update` when a run goes
    /// on from it; the tasks due at the base stay due (they run in START's superstep).
    fn stage_input(&mut self, update: S::Update, existing: bool) -> Result<String, RunError> {
        let step = if existing { self.step + 1 } else { -1 };
        self.due_input = Some(update);
        let next = self.next_with_start();
        let Some(p) = &mut self.persist else {
            return Err(RunError::NoCheckpointer("update_state"));
        };
        let st = p.put(
            &self.state,
            &self.control,
            &self.prog.shape,
            Source::Input,
            step,
            Vec::new(),
            SmallMap::new(),
            next,
            Vec::new(),
        )?;
        self.carry_start_input(&st.id, step)?;
        Ok(st.id.to_string())
    }

    /// A `fork` copy of checkpoint `b`: its values, tasks and writers, one step on, with `b`'s
    /// parent as its own.
    fn copy_of(&mut self, b: &CheckpointTuple) -> Result<String, RunError> {
        let step = self.step + 1;
        let next = self.next_with_start();
        let Some(p) = &mut self.persist else {
            return Err(RunError::NoCheckpointer("update_state"));
        };
        p.current = b.parent_id.as_deref().map(Into::into);
        let st = p.put(
            &self.state,
            &self.control,
            &self.prog.shape,
            Source::Fork,
            step,
            b.metadata.writers.clone(),
            b.checkpoint.versions_seen.clone(),
            next,
            Vec::new(),
        )?;
        self.carry_start_input(&st.id, step)?;
        Ok(st.id.to_string())
    }

    /// Drops the tasks due at the loaded checkpoint: those that finished (their writes are
    /// stored) are committed with their writes and edges, the others as if they ran and wrote
    /// nothing (their edges do not fire). A pending input is dropped too.
    fn clear_tasks(&mut self) -> Result<String, RunError> {
        self.due_input = None;
        let step = self.step + 1;
        let shape = &self.prog.shape;
        let base = self.base.clone();
        let ns = self.scope.ns.clone();
        // The tasks that finished keep their place in the superstep; the others are dropped.
        self.tasks.clear();
        self.take_due_tasks();
        let due = std::mem::take(&mut self.tasks);
        let mut done = Vec::new();
        for t in due {
            let output = match &base {
                Some(b) => {
                    let id = task_id(b, &ns, step, shape.name(t.node), t.path);
                    self.saved.get(&id).and_then(|r| r.output.clone())
                }
                None => None,
            };
            if let Some(out) = output {
                done.push((self.tasks.len(), self.decode_saved(&out)?));
                self.tasks.push(t);
            }
        }
        self.commit_as(step, done, Source::Update)?;
        self.persist
            .as_ref()
            .and_then(|p| p.current.as_deref().map(str::to_string))
            .ok_or(RunError::NoCheckpointer("update_state"))
    }
}
