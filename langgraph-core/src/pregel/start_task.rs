//! START as a task: the input of a run, stored with the input checkpoint as the write of a
//! task named START, is applied in the superstep after that checkpoint.
//!
//! A new input is applied at once (`start.rs`). A run that goes on from a checkpoint whose
//! `next` holds START applies the stored input then: a replay of an input checkpoint, a copy
//! of one, or an input staged with [`stage_input`](crate::CompiledGraph::stage_input). When
//! other tasks are due there too (an input staged on a paused thread), START runs in their
//! superstep: its update is applied first, as the input's, and its edges fire with theirs.

use langgraph_checkpoint::{CheckpointTuple, PendingWrite, SharedStr, Source, WRITES};
use serde_json::json;

use super::run_loop::Loop;
use super::saved::named_if_unreadable;
use crate::config::Durability;
use crate::context::{TaskPath, task_id};
use crate::error::RunError;
use crate::state::State;
use crate::types::START;

impl<S: State> Loop<'_, S> {
    /// The input START is due to apply at checkpoint `t`: its stored write, or an empty
    /// update when the write is missing; `None` when START is not due there.
    pub(super) fn stored_start_input(
        &self,
        t: &CheckpointTuple,
    ) -> Result<Option<S::Update>, RunError> {
        if !t.checkpoint.next.iter().any(|n| n == START) {
            return Ok(None);
        }
        let id = task_id(
            &t.checkpoint.id,
            &self.scope.ns,
            t.metadata.step + 1,
            START,
            TaskPath::Pull,
        );
        let Some(out) = self.saved.get(&id).and_then(|r| r.output.as_ref()) else {
            return Ok(Some(S::Update::default()));
        };
        let update = serde_json::from_value(out.update_json().clone())
            .map_err(|e| RunError::serde("a stored run input", e));
        named_if_unreadable(update, &t.thread_id, &t.checkpoint.id).map(Some)
    }

    /// The write that keeps `input` as START's task at checkpoint `id` of step `step`.
    pub(super) fn start_write(
        &self,
        id: &str,
        step: i64,
        input: &S::Update,
    ) -> Result<PendingWrite, RunError> {
        let update =
            serde_json::to_value(input).map_err(|e| RunError::serde("the run input", e))?;
        Ok(PendingWrite {
            task_id: task_id(id, &self.scope.ns, step + 1, START, TaskPath::Pull),
            task_name: START.to_string(),
            channel: WRITES.to_string(),
            value: json!({ "update": update }),
        })
    }

    /// The `next` of a checkpoint stored while START is due: START, then the due nodes;
    /// `None` (the due nodes only) otherwise.
    pub(super) fn next_with_start(&self) -> Option<Vec<SharedStr>> {
        self.due_input.as_ref()?;
        let shape = &self.prog.shape;
        let mut next: Vec<SharedStr> = vec![START.into()];
        next.extend(self.control.pull.iter().map(|&n| shape.name(n).into()));
        Some(next)
    }

    /// Keeps the due input with the checkpoint just stored as `id` at `step` (a copy of the
    /// checkpoint that holds it), so that the copy can be run from on its own.
    pub(super) fn carry_start_input(&mut self, id: &str, step: i64) -> Result<(), RunError> {
        let Some(input) = &self.due_input else {
            return Ok(());
        };
        let w = self.start_write(id, step, input)?;
        if let Some(p) = &mut self.persist {
            p.put_writes(vec![w]);
        }
        Ok(())
    }

    /// The superstep of START alone: applies `input`, fires START's edges and checkpoints the
    /// result (`start_write`, START's write, goes with it as a write of the checkpoint before,
    /// when that one does not hold it yet). Under durability `exit` the checkpoint is not
    /// stored: the run claims the thread instead.
    pub(super) async fn run_start(
        &mut self,
        input: S::Update,
        start_write: Option<PendingWrite>,
    ) -> Result<(), RunError> {
        self.apply_input(input)?;
        self.route_from(self.prog.shape.start(), &[])?;
        self.step += 1;
        self.values_event();
        let Some(p) = &mut self.persist else {
            return Ok(());
        };
        p.record(&self.writes);
        if p.durability == Durability::Exit {
            self.unsaved = true;
            let id = p.reserve_id();
            self.base = Some(id.as_ref().into());
            p.claim().await?;
            self.unstored_checkpoint_event(id, Source::Loop, self.step, None);
        } else {
            let st = p.put(
                &self.state,
                &self.control,
                &self.prog.shape,
                Source::Loop,
                self.step,
                vec![START.into()],
                langgraph_checkpoint::SmallMap::new(),
                None,
                start_write.into_iter().collect(),
            )?;
            self.base = Some(st.id.clone().into());
            self.checkpoint_event(&st);
        }
        Ok(())
    }

    /// A run going on from a checkpoint where START alone is due runs START's superstep
    /// first. A breakpoint before the nodes it leads to applies: the run did not stop there.
    pub(super) async fn run_due_start_alone(&mut self) -> Result<(), RunError> {
        let alone = self.control.pull.is_empty() && self.control.push.is_empty();
        if alone && let Some(input) = self.due_input.take() {
            self.run_start(input, None).await?;
            self.skip_breakpoint = false;
        }
        Ok(())
    }
}
