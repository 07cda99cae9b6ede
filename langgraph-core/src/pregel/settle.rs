//! Settling a superstep: its tasks' outcomes become a commit, a pause (interrupts, with the
//! finished tasks' writes kept as pending writes) or an error.

use std::sync::Arc;

use langgraph_checkpoint::{ERROR, INTERRUPT, PendingWrite, RESUME, Source, WRITES};
use serde_json::{Value, json};

use super::algo::Control;
use super::run_loop::{Finished, Loop, StepEnd};
use super::runner::TaskOutcome;
use super::saved::{KEPT_ANSWER, SavedOutput, reserved_write};
use super::scratch::emptied;
use crate::context::{Ctx, task_id};
use crate::error::RunError;
use crate::kept_answer::HANDED_DOWN;
use crate::node::NodeOutput;
use crate::state::State;
use crate::stream::{StreamEvent, StreamMode};
use crate::write_set::{INPUT_WRITER, StepWrites};

impl<S: State> Loop<'_, S> {
    /// Turns the superstep's outcomes into a commit, a pause or an error.
    pub(crate) async fn settle(
        &mut self,
        step: i64,
        ctxs: &[Ctx],
        mut outcomes: Vec<Option<TaskOutcome<S>>>,
        reused: &[bool],
    ) -> Result<StepEnd<S>, RunError> {
        let mut done = emptied(&mut self.scratch.done, outcomes.len());
        let mut interrupts = Vec::new();
        let mut paused = false;
        let mut failure: Option<RunError> = None;
        // (task index, channel, value) of records to store if the superstep does not commit.
        let mut records: Vec<(usize, &'static str, Value)> = Vec::new();
        // A kept answer (see `KEPT_ANSWER`) is used up once the task that took it finishes or
        // pauses; a task that failed gets it again when the superstep is retried.
        let kept = ctxs.first().and_then(|c| c.step_ctx().kept.taken());
        let took = |i: usize| kept.as_ref().is_some_and(|(t, _, _)| *t == i);
        for (i, o) in outcomes.drain(..).enumerate() {
            // The node's name, for errors only.
            let node = |l: &Self| l.prog.shape.name(l.tasks[i].node).to_string();
            match o {
                None => {}
                Some(TaskOutcome::Done(out)) => done.push((i, out)),
                Some(TaskOutcome::Interrupted(ints)) => {
                    if let Some((_, q, answer)) = kept.as_ref().filter(|_| took(i))
                        && q & HANDED_DOWN == 0
                    {
                        // The task paused on a later question: the kept answer is its own now.
                        // (One handed down is stored by the subgraph that took it.)
                        let mut own = ctxs[i]
                            .task()
                            .resume
                            .as_deref()
                            .unwrap_or_default()
                            .to_vec();
                        own.push(answer.clone());
                        records.push((i, RESUME, Value::Array(own)));
                    }
                    let v = serde_json::to_value(&ints)
                        .map_err(|e| RunError::serde("an interrupt", e))?;
                    records.push((i, INTERRUPT, v));
                    interrupts.extend(ints);
                    paused = true;
                }
                Some(TaskOutcome::Failed { error, attempts }) => {
                    if let Some(pc) = error.downcast_ref::<crate::subgraph::ParentCommand>() {
                        // A subgraph the node called sent a command to this graph.
                        done.push((i, NodeOutput::Command(pc.clone().into_command::<S>()?)));
                        continue;
                    }
                    if let Some(out) = self.handle_error(i, &error) {
                        done.push((i, out));
                        continue;
                    }
                    let v = json!({"message": error.to_string(), "attempts": attempts});
                    records.push((i, ERROR, v));
                    failure.get_or_insert(RunError::Node {
                        node: node(self),
                        step,
                        attempts,
                        source: error.into_inner(),
                    });
                }
                Some(TaskOutcome::TimedOut { after, attempts }) => {
                    let e = crate::error::NodeError::msg(format!("timed out after {after:?}"));
                    if let Some(out) = self.handle_error(i, &e) {
                        done.push((i, out));
                        continue;
                    }
                    let v = json!({"message": format!("timed out after {after:?}"), "attempts": attempts});
                    records.push((i, ERROR, v));
                    failure.get_or_insert(RunError::Timeout {
                        node: node(self),
                        step,
                        after,
                    });
                }
            }
        }
        self.scratch.outcomes = outcomes;
        // Finished (a handled failure too) or paused: the kept answer is used up.
        let kept_used = kept.as_ref().is_some_and(|(t, _, _)| {
            done.iter().any(|(i, _)| i == t)
                || records.iter().any(|(i, c, _)| i == t && *c == INTERRUPT)
        });
        let mut unsaved_outputs: Vec<(usize, &'static str, Value)> = Vec::new();
        if self.persist.is_some() {
            // Finished tasks whose writes are not stored yet: needed if the superstep does not
            // commit (an interrupt, a failure, or a write conflict found while committing).
            // A lone task can neither conflict nor be paused by a sibling, so skip the work.
            if done.len() > 1 || failure.is_some() || paused {
                for (i, out) in &done {
                    let stored = self
                        .saved
                        .get(ctxs[*i].task_id())
                        .is_some_and(|r| r.stored || r.output.is_some());
                    if !reused[*i] && !stored {
                        unsaved_outputs.push((
                            *i,
                            WRITES,
                            SavedOutput::encode(out, &self.prog.shape)?,
                        ));
                    }
                }
            }
        }
        if failure.is_none() {
            self.store_cached(&done)?;
        }
        if failure.is_none() && !paused {
            // A subgraph runs within one superstep of its caller: an answer handed down to it
            // stays until one of its questions takes it.
            let carried = ctxs
                .first()
                .filter(|_| !self.scope.ns.is_empty())
                .and_then(|c| c.step_ctx().kept.untaken());
            match self.commit(step, done) {
                Ok(()) => {
                    if let Some(answer) = carried {
                        self.keep_answer(answer);
                    }
                    return Ok(StepEnd::Committed);
                }
                Err(e) => {
                    // The in-memory state is half-applied: never store it as a checkpoint.
                    if self.unsaved {
                        return Err(e);
                    }
                    failure = Some(e);
                    done = Vec::new();
                }
            }
        }
        // Not committed: keep the finished tasks' writes as pending writes of the current
        // checkpoint so that resuming never re-runs them.
        if self.persist.is_some() {
            records.extend(unsaved_outputs);
            let control = self.control_for_tasks();
            let ns = self.scope.ns.clone();
            let names = self.task_names();
            let unsaved = std::mem::take(&mut self.unsaved);
            let mut exit_stored = None;
            if let Some(p) = &mut self.persist {
                let mut base: Arc<str> = match &self.base {
                    Some(b) => b.clone(),
                    None => Arc::from(self.scope.run_id()),
                };
                if unsaved || p.current.is_none() {
                    // Durability `exit`: store the checkpoint these tasks run from.
                    let st = p.put(
                        &self.state,
                        &control,
                        &self.prog.shape,
                        Source::Loop,
                        self.step,
                        Vec::new(),
                        langgraph_checkpoint::SmallMap::new(),
                        None,
                        Vec::new(),
                    )?;
                    base = st.id.clone().into();
                    exit_stored = Some(st);
                }
                let mut writes: Vec<PendingWrite> = records
                    .into_iter()
                    .map(|(i, channel, value)| PendingWrite {
                        task_id: task_id(&base, &ns, step, &names[i], self.tasks[i].path),
                        task_name: names[i].clone(),
                        channel: channel.to_string(),
                        value,
                    })
                    .collect();
                if kept_used {
                    let used = Value::Array(Vec::new());
                    writes.push(reserved_write(KEPT_ANSWER, RESUME, used));
                }
                p.put_writes(writes);
                p.queue.flush().await?;
                self.base = Some(base);
            }
            // Streamed already when it was the unstored checkpoint of a superstep (same id).
            if let Some(st) = exit_stored.filter(|_| !unsaved) {
                self.checkpoint_event(&st);
                self.flush_events().await;
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        // Present the state as it will be once the paused tasks finish: with the finished
        // tasks' writes applied.
        let mut view = self.state.clone();
        let mut scratch = StepWrites::new(S::info().channels.len());
        for update in self.resume_updates()? {
            scratch.set_writer(INPUT_WRITER);
            let _ = view.apply(update, &mut scratch);
        }
        if let Some(input) = &self.due_input {
            scratch.set_writer(INPUT_WRITER);
            let _ = view.apply(input.clone(), &mut scratch);
        }
        for (i, out) in done {
            scratch.set_writer(i as u32);
            let _ = view.apply(out.into_parts().0, &mut scratch);
        }
        let checkpoint_id = self
            .persist
            .as_ref()
            .and_then(|p| p.current.as_deref().map(str::to_string));
        if let Some(ev) = &self.events
            && ev.wants(StreamMode::Updates)
        {
            ev.send(StreamEvent::Interrupt(interrupts.clone())).await;
        }
        let report = self.report();
        self.report_event(&report).await;
        Ok(StepEnd::Paused(Finished {
            state: view,
            interrupts,
            checkpoint_id,
            paused: true,
            report,
        }))
    }

    pub(crate) fn task_names(&self) -> Vec<String> {
        self.tasks
            .iter()
            .map(|t| self.prog.shape.name(t.node).to_string())
            .collect()
    }

    /// The control as it was before this superstep took its tasks (for exit durability).
    fn control_for_tasks(&self) -> Control {
        let mut c = self.control.clone();
        c.clear_scheduled();
        for t in &self.tasks {
            match &t.arg {
                None => c.pull.push(t.node),
                Some(a) => c.push.push(super::algo::PushTask {
                    node: t.node,
                    arg: a.clone(),
                }),
            }
        }
        c
    }
}
