//! What a run tells the outside while it goes: stream events for checkpoints and tasks,
//! tracing events, and the per-node tally that becomes the [`RunReport`].
//!
//! [`RunReport`]: crate::RunReport

use std::time::Duration;

use langgraph_checkpoint::{SharedStr, Source};
use serde_json::{Value, json};

use super::events::EventTx;
use super::persist::Stored;
use super::run_loop::{Loop, Task};
use super::runner::TaskOutcome;
use crate::context::Ctx;
use crate::node::NodeOutput;
use crate::report::Tally;
use crate::state::State;
use crate::stream::{
    CheckpointEvent, DebugEvent, DebugKind, StreamEvent, StreamMode, TaskEnd, TaskStart,
};

impl<S: State> Loop<'_, S> {
    fn wants_tasks(&self) -> (bool, bool) {
        match &self.events {
            Some(ev) => (ev.wants(StreamMode::Tasks), ev.wants(StreamMode::Debug)),
            None => (false, false),
        }
    }

    /// Whether checkpoint events are streamed (in `checkpoints` or `debug` mode).
    pub(crate) fn wants_checkpoint_events(&self) -> bool {
        self.events
            .as_ref()
            .is_some_and(|ev| ev.wants(StreamMode::Checkpoints) || ev.wants(StreamMode::Debug))
    }

    /// Streams the checkpoint of a superstep that durability `exit` does not store, so that a
    /// stream shows every superstep whatever the durability. Its id is `id` (reserved, never
    /// written) and it has no parent.
    pub(crate) fn unstored_checkpoint_event(
        &mut self,
        id: SharedStr,
        source: Source,
        step: i64,
        next: Option<Vec<SharedStr>>,
    ) {
        if !self.wants_checkpoint_events() {
            return;
        }
        let next =
            next.unwrap_or_else(|| self.next_names().into_iter().map(SharedStr::from).collect());
        let unstored = Stored {
            id,
            parent_id: None,
            step,
            source,
            next,
        };
        self.checkpoint_event(&unstored);
    }

    /// Streams a stored checkpoint (modes `Checkpoints` and `Debug`).
    pub(crate) fn checkpoint_event(&mut self, stored: &Stored) {
        let Some(ev) = &mut self.events else {
            return;
        };
        let (plain, debug) = (
            ev.wants(StreamMode::Checkpoints),
            ev.wants(StreamMode::Debug),
        );
        if !plain && !debug {
            return;
        }
        let event = StreamEvent::Checkpoint(CheckpointEvent {
            ns: self.scope.ns.clone(),
            id: stored.id.to_string(),
            parent_id: stored.parent_id.as_deref().map(str::to_string),
            step: stored.step,
            source: stored.source,
            next: stored.next.iter().map(|n| n.to_string()).collect(),
            values: self.state.clone(),
        });
        if debug {
            ev.push_now(StreamEvent::Debug(DebugEvent {
                kind: DebugKind::Checkpoint,
                step: stored.step,
                payload: event.to_json(),
            }));
        }
        if plain {
            ev.push_now(event);
        }
    }

    /// Streams the start of the tasks that will run (modes `Tasks` and `Debug`).
    pub(crate) async fn task_starts(&mut self, step: i64, ctxs: &[Ctx], reused: &[bool]) {
        let (plain, debug) = self.wants_tasks();
        if !plain && !debug {
            return;
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if reused[i] {
                continue;
            }
            let start = TaskStart {
                ns: self.scope.ns.clone(),
                step,
                id: ctxs[i].task_id().to_string(),
                node: self.prog.shape.name(t.node).to_string(),
                input: self.task_input_json(t),
            };
            if let Some(ev) = &self.events {
                send_task_event(
                    ev,
                    step,
                    StreamEvent::TaskStart(start),
                    DebugKind::Task,
                    plain,
                    debug,
                )
                .await;
            }
        }
    }

    pub(crate) fn task_input_json(&self, t: &Task) -> Value {
        let v = match &t.arg {
            Some(a) => a.to_json(),
            None => self.state.to_json(),
        };
        v.unwrap_or_else(|e| json!({"error": e.to_string()}))
    }

    /// Streams a task's end (modes `Tasks` and `Debug`) and traces it. (An associated
    /// function: the loop calls it while other fields are borrowed by running tasks.)
    pub(crate) async fn task_end(
        events: Option<&EventTx<S>>,
        ns: &str,
        node: &str,
        step: i64,
        ctx: &Ctx,
        outcome: &TaskOutcome<S>,
        elapsed: Duration,
    ) {
        match outcome {
            TaskOutcome::Failed { error, attempts } => {
                tracing::warn!(node, step, attempts, error = %error, "task failed");
            }
            TaskOutcome::TimedOut { after, attempts } => {
                tracing::warn!(node, step, attempts, ?after, "task timed out");
            }
            _ => {
                tracing::debug!(node, step, attempts = ctx.attempt(), ?elapsed, "task ended");
            }
        }
        let Some(ev) = events else {
            return;
        };
        let (plain, debug) = (ev.wants(StreamMode::Tasks), ev.wants(StreamMode::Debug));
        if !plain && !debug {
            return;
        }
        let mut end = TaskEnd {
            ns: ns.to_string(),
            step,
            id: ctx.task_id().to_string(),
            node: node.to_string(),
            result: None,
            error: None,
            interrupts: Vec::new(),
            attempts: ctx.attempt(),
            elapsed,
            cached: false,
        };
        match outcome {
            TaskOutcome::Done(out) => {
                let update = match out {
                    NodeOutput::Update(u) => serde_json::to_value(u),
                    NodeOutput::Command(c) => serde_json::to_value(&c.update),
                };
                end.result = Some(update.unwrap_or_else(|e| json!({"error": e.to_string()})));
            }
            TaskOutcome::Failed { error, attempts } => {
                end.error = Some(error.to_string());
                end.attempts = *attempts;
            }
            TaskOutcome::TimedOut { after, attempts } => {
                end.error = Some(format!("timed out after {after:?}"));
                end.attempts = *attempts;
            }
            TaskOutcome::Interrupted(ints) => end.interrupts = ints.clone(),
        }
        send_task_event(
            ev,
            step,
            StreamEvent::TaskEnd(end),
            DebugKind::TaskResult,
            plain,
            debug,
        )
        .await;
    }

    /// Streams the run's report last (mode `Debug`).
    pub(crate) async fn report_event(&mut self, report: &crate::report::RunReport) {
        if let Some(ev) = &self.events
            && ev.wants(StreamMode::Debug)
        {
            ev.send(StreamEvent::Report(report.clone())).await;
        }
    }
}

async fn send_task_event<S: State>(
    ev: &EventTx<S>,
    step: i64,
    event: StreamEvent<S>,
    kind: DebugKind,
    plain: bool,
    debug: bool,
) {
    if debug {
        let payload = event.to_json();
        ev.send(StreamEvent::Debug(DebugEvent {
            kind,
            step,
            payload,
        }))
        .await;
    }
    if plain {
        ev.send(event).await;
    }
}

/// Counts a task's outcome in the run's tally.
pub(crate) fn tally_task<S: State>(
    tally: &mut Tally,
    node: u32,
    ctx: &Ctx,
    outcome: &TaskOutcome<S>,
    elapsed: Duration,
) {
    let usage = ctx.take_usage();
    tally.task(node, elapsed);
    if let Some(n) = tally.node(node) {
        n.usage += usage;
        match outcome {
            TaskOutcome::Done(_) => n.retries += u64::from(ctx.attempt().saturating_sub(1)),
            TaskOutcome::Failed { attempts, .. } | TaskOutcome::TimedOut { attempts, .. } => {
                n.retries += u64::from(attempts.saturating_sub(1));
                n.errors += 1;
            }
            TaskOutcome::Interrupted(_) => n.interrupts += 1,
        }
    }
}
