//! The superstep loop: `while tick() { execute(); commit() }`.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::Either;
use futures::stream::FuturesUnordered;
use langgraph_checkpoint::{PendingWrite, Source, WRITES};
use std::future::Future;
use tracing::Instrument;
use tracing::instrument::Instrumented;

use super::algo::{Control, Resolved};
use super::emit::tally_task;
use super::events::EventTx;
use super::persist::Persist;
use super::plan::{NodeId, Program};
use super::runner::{TaskOutcome, run_task};
use super::saved::{KEPT_ANSWER, SavedOutput, TaskRecord, breakpoint_mark};
use super::scratch::{Scratch, emptied};
use super::write_queue::ASYNC_BACKLOG;
use crate::config::Durability;
use crate::context::{Ctx, Prior, RunScope, StepCtx, TaskCtx, TaskPath, task_id};
use crate::error::RunError;
use crate::journal::JournalTarget;
use crate::kept_answer::KeptAnswer;
use crate::node::{NodeOutput, TaskInput};
use crate::report::{RunReport, Tally};
use crate::state::State;
use crate::stream::{StreamEvent, StreamMode};
use crate::types::{Interrupt, SendArg};
use crate::write_set::StepWrites;
use std::time::Instant;

/// A task of the current superstep.
pub(crate) struct Task {
    pub(crate) node: NodeId,
    pub(crate) path: TaskPath,
    pub(crate) arg: Option<Arc<dyn SendArg>>,
}

/// How a run ended (without error).
pub(crate) struct Finished<S> {
    pub(crate) state: S,
    pub(crate) interrupts: Vec<Interrupt>,
    pub(crate) checkpoint_id: Option<String>,
    pub(crate) paused: bool,
    pub(crate) report: RunReport,
}

/// True when superstep and task spans (debug level) are recorded. Below debug they are not
/// even created, and futures are not wrapped: with `tracing`'s `log` feature on (sqlx turns it
/// on), a disabled span and its wrapper cost more than a small superstep.
fn traced() -> bool {
    tracing::level_enabled!(tracing::Level::DEBUG)
}

/// `fut`, inside the span of one task when tasks are traced.
fn in_task_span<F: Future>(fut: F, node: &str, step: i64) -> Either<Instrumented<F>, F> {
    if traced() {
        Either::Left(fut.instrument(tracing::debug_span!("langgraph.task", node, step)))
    } else {
        Either::Right(fut)
    }
}

fn task_input<'a, S>(t: &'a Task, state: &'a S) -> TaskInput<'a, S> {
    match &t.arg {
        Some(a) => TaskInput::Arg(a),
        None => TaskInput::State(state),
    }
}

/// One run of a compiled graph.
pub(crate) struct Loop<'g, S: State> {
    pub(crate) prog: &'g Program<S>,
    pub(crate) scope: Arc<RunScope>,
    pub(crate) state: S,
    pub(crate) control: Control,
    pub(crate) writes: StepWrites,
    /// Ephemeral channels written in the previous superstep.
    pub(crate) eph_prev: Vec<usize>,
    /// Step of the checkpoint the state corresponds to.
    pub(crate) step: i64,
    pub(crate) steps_run: usize,
    /// Base of task ids: the current checkpoint id (`None`: the run id).
    pub(crate) base: Option<Arc<str>>,
    pub(crate) persist: Option<Persist>,
    pub(crate) events: Option<EventTx<S>>,
    pub(crate) tasks: Vec<Task>,
    pub(crate) routes: Vec<Vec<Resolved>>,
    /// Records saved against the current checkpoint, by task id.
    pub(crate) saved: HashMap<String, TaskRecord>,
    pub(crate) skip_breakpoint: bool,
    /// Durability `exit`: the in-memory state is ahead of the stored checkpoint.
    pub(crate) unsaved: bool,
    pub(crate) before: Vec<bool>,
    pub(crate) after: Vec<bool>,
    /// Per-node counters for the run's report.
    pub(crate) tally: Tally,
    /// Where tasks journal side effects (with a checkpointer, once the run holds the thread).
    pub(crate) journal: Option<Arc<JournalTarget>>,
    /// Per task of the superstep (empty when unused): the fallback of a failed task whose
    /// error a handler took, and the cache key of a task whose output is to be cached.
    pub(crate) fallback: Vec<Option<NodeId>>,
    pub(crate) cache_keys: Vec<Option<String>>,
    pub(crate) scratch: Scratch<S>,
    /// The input START is due to apply: a loaded checkpoint whose `next` holds START (an
    /// input checkpoint, or a copy of one). It is applied as a task of the next superstep.
    pub(crate) due_input: Option<S::Update>,
}

pub(crate) enum StepEnd<S: State> {
    Committed,
    Paused(Finished<S>),
}

impl<'g, S: State> Loop<'g, S> {
    pub(crate) fn new(
        prog: &'g Program<S>,
        scope: Arc<RunScope>,
        persist: Option<Persist>,
        events: Option<EventTx<S>>,
    ) -> Self {
        let n = prog.shape.names.len();
        let pick = |over: &Option<Vec<String>>, compiled: &[NodeId]| {
            let mut v = vec![false; n];
            match over {
                Some(names) if names.iter().any(|x| x == crate::types::ALL_NODES) => v.fill(true),
                Some(names) => names
                    .iter()
                    .filter_map(|x| prog.shape.id(x))
                    .for_each(|i| v[i as usize] = true),
                None => compiled.iter().for_each(|&i| v[i as usize] = true),
            }
            v
        };
        let before = pick(&scope.config.interrupt_before, &prog.interrupt_before);
        let after = pick(&scope.config.interrupt_after, &prog.interrupt_after);
        Self {
            prog,
            state: S::default(),
            control: Control::new(&prog.shape),
            writes: StepWrites::new(S::info().channels.len()),
            eph_prev: Vec::new(),
            step: -1,
            steps_run: 0,
            base: None,
            persist,
            events,
            tasks: Vec::new(),
            routes: Vec::new(),
            saved: HashMap::new(),
            skip_breakpoint: false,
            unsaved: false,
            before,
            after,
            tally: Tally::new(n),
            journal: None,
            fallback: Vec::new(),
            cache_keys: Vec::new(),
            scratch: Scratch::default(),
            due_input: None,
            scope,
        }
    }

    /// Runs supersteps until the graph finishes, pauses or fails.
    pub(crate) async fn drive(&mut self) -> Result<Finished<S>, RunError> {
        loop {
            if self.control.pull.is_empty() && self.control.push.is_empty() {
                return self.finish(Vec::new(), false).await;
            }
            if self.steps_run >= self.scope.config.recursion_limit {
                let next = self.next_names();
                self.flush().await?;
                return Err(RunError::RecursionLimit {
                    limit: self.scope.config.recursion_limit,
                    next,
                });
            }
            let skip = std::mem::take(&mut self.skip_breakpoint);
            if !skip && self.hits(&self.before) {
                return self.finish(Vec::new(), true).await;
            }
            let end = if traced() {
                let span = tracing::debug_span!("langgraph.superstep", step = self.step + 1);
                self.superstep().instrument(span).await?
            } else {
                self.superstep().await?
            };
            match end {
                StepEnd::Paused(f) => return Ok(f),
                StepEnd::Committed => self.flush_events().await,
            }
            self.settle_writes().await?;
            let ran_after = self.tasks.iter().any(|t| self.after[t.node as usize]);
            if ran_after && !(self.control.pull.is_empty() && self.control.push.is_empty()) {
                return self.finish(Vec::new(), true).await;
            }
        }
    }

    fn hits(&self, set: &[bool]) -> bool {
        self.control.pull.iter().any(|&n| set[n as usize])
            || self.control.push.iter().any(|p| set[p.node as usize])
    }

    pub(crate) fn next_names(&self) -> Vec<String> {
        let shape = &self.prog.shape;
        self.control
            .pull
            .iter()
            .map(|&n| shape.name(n).to_string())
            .chain(
                self.control
                    .push
                    .iter()
                    .map(|p| shape.name(p.node).to_string()),
            )
            .collect()
    }

    pub(crate) async fn flush_events(&mut self) {
        if let Some(ev) = &mut self.events {
            ev.flush().await;
        }
    }

    /// After a committed superstep: with durability `sync`, waits until its checkpoint is
    /// stored; with `async`, lets it be stored while the next superstep runs, but waits when
    /// more than [`ASYNC_BACKLOG`] writes are unstored (so a slow store slows the run instead
    /// of piling up unsaved steps in memory). Older writes still queued go to the saver with
    /// it, as one batch.
    async fn settle_writes(&mut self) -> Result<(), RunError> {
        if let Some(p) = &mut self.persist {
            match p.durability {
                Durability::Sync => p.queue.flush().await?,
                Durability::Async => p.queue.flush_to(ASYNC_BACKLOG).await?,
                Durability::Exit => {}
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), RunError> {
        if let Some(p) = &mut self.persist {
            p.queue.flush().await?;
        }
        Ok(())
    }

    /// Ends the run: stores what the durability mode still owes and returns the state.
    pub(crate) async fn finish(
        &mut self,
        interrupts: Vec<Interrupt>,
        paused: bool,
    ) -> Result<Finished<S>, RunError> {
        if paused
            && let Some(ev) = &self.events
            && ev.wants(StreamMode::Updates)
        {
            ev.send(StreamEvent::Interrupt(interrupts.clone())).await;
        }
        let owes_exit_checkpoint = self.persist.as_ref().is_some_and(|p| {
            p.durability == Durability::Exit && (self.unsaved || p.head.is_none())
        });
        if owes_exit_checkpoint && let Some(p) = &mut self.persist {
            // A superstep's unstored checkpoint was streamed when it committed (same id).
            let announced = std::mem::take(&mut self.unsaved);
            let stored = p.put(
                &self.state,
                &self.control,
                &self.prog.shape,
                Source::Loop,
                self.step,
                Vec::new(),
                langgraph_checkpoint::SmallMap::new(),
                None,
                Vec::new(),
            )?;
            if !announced {
                self.checkpoint_event(&stored);
            }
        }
        self.flush_events().await;
        let mut checkpoint_id = None;
        if let Some(p) = &mut self.persist {
            if paused && interrupts.is_empty() {
                // A static breakpoint: the thread waits for a human as after a question.
                p.put_writes(vec![breakpoint_mark()]);
            }
            p.queue.flush().await?;
            checkpoint_id = p.current.as_deref().map(str::to_string);
        }
        let report = self.report();
        self.report_event(&report).await;
        Ok(Finished {
            state: std::mem::take(&mut self.state),
            interrupts,
            checkpoint_id,
            paused,
            report,
        })
    }

    pub(crate) fn report(&mut self) -> RunReport {
        let names = self.prog.shape.names.clone();
        let (elapsed, spent) = (self.scope.started.elapsed(), self.scope.spent());
        self.tally.take_report(names, elapsed, spent)
    }

    /// The context of superstep `step`'s tasks: `last` refilled when nothing else holds it
    /// (the run's scope stays the same), else a new one.
    fn step_ctx(
        &self,
        last: Option<Arc<StepCtx>>,
        step: i64,
        journal: Option<Arc<JournalTarget>>,
    ) -> Arc<StepCtx> {
        let tasks = self.tasks.iter().map(|t| self.task_ctx(t, step));
        let kept = KeptAnswer::new(if self.saved.is_empty() {
            None
        } else {
            self.saved
                .get(KEPT_ANSWER)
                .and_then(|r| r.resume.first().cloned())
        });
        if let Some(mut last) = last
            && let Some(c) = Arc::get_mut(&mut last)
        {
            c.step = step;
            c.base.clone_from(&self.base);
            c.journal = journal;
            c.kept = kept;
            c.tasks.clear();
            c.tasks.extend(tasks);
            return last;
        }
        Arc::new(StepCtx {
            scope: self.scope.clone(),
            step,
            base: self.base.clone(),
            tasks: tasks.collect(),
            journal,
            kept,
            per_thread_calls: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn task_ctx(&self, task: &Task, step: i64) -> TaskCtx {
        let node = self.prog.shape.names[task.node as usize].clone();
        let mut prior = Prior::default();
        if !self.saved.is_empty() {
            let base = self.base.as_deref().unwrap_or_else(|| self.scope.run_id());
            let id = task_id(base, &self.scope.ns, step, &node, task.path);
            if let Some(r) = self.saved.get(&id) {
                prior.resume = (!r.resume.is_empty()).then(|| Arc::from(r.resume.clone()));
                prior.resume_by_id = (!r.resume_by_id.is_empty()).then(|| r.resume_by_id.clone());
                prior.journal = (!r.journal.is_empty()).then(|| r.journal.clone());
            }
        }
        TaskCtx::new(node, task.path, prior)
    }

    /// The journal target, once the run holds the thread.
    fn journal_target(&mut self) -> Option<Arc<JournalTarget>> {
        if self.journal.is_none()
            && let Some(p) = &self.persist
            && let Some(fence) = p.held_fence()
        {
            self.journal = Some(Arc::new(JournalTarget {
                saver: p.saver.clone(),
                thread_id: p.thread_id.clone(),
                ns: p.ns.clone(),
                fence,
            }));
        }
        self.journal.clone()
    }

    /// Moves the tasks due (pulled nodes, then sends in order) into `self.tasks`.
    pub(crate) fn take_due_tasks(&mut self) {
        for n in self.control.pull.drain(..) {
            self.tasks.push(Task {
                node: n,
                path: TaskPath::Pull,
                arg: None,
            });
        }
        for (i, p) in self.control.push.drain(..).enumerate() {
            self.tasks.push(Task {
                node: p.node,
                path: TaskPath::Push(i as u32),
                arg: Some(p.arg),
            });
        }
    }

    /// Runs one superstep.
    async fn superstep(&mut self) -> Result<StepEnd<S>, RunError> {
        let step = self.step + 1;
        self.tasks.clear();
        self.take_due_tasks();
        for t in &self.tasks {
            let input = match &t.arg {
                Some(a) => TaskInput::Arg(a),
                None => TaskInput::State(&self.state),
            };
            if let Err(got) = self.prog.exec[t.node as usize].node.accepts(&input) {
                let expected = match self.prog.exec[t.node as usize].node.input_kind() {
                    crate::node::InputKind::Payload(ty) => ty,
                    _ => std::any::type_name::<S>(),
                };
                return Err(RunError::InputType {
                    node: self.prog.shape.name(t.node).to_string(),
                    expected,
                    got,
                });
            }
        }
        let journal = self.journal_target();
        // The handles of the last superstep go first, so that its context is free for reuse
        // unless a node kept a handle.
        let mut ctxs = emptied(&mut self.scratch.ctxs, self.tasks.len());
        let last = self.scratch.step_ctx.take();
        let step_ctx = self.step_ctx(last, step, journal);
        step_ctx.handles_into(&mut ctxs);
        // Tasks whose writes were saved in an earlier attempt of this superstep are reused.
        let mut outcomes = emptied(&mut self.scratch.outcomes, self.tasks.len());
        let mut reused = emptied(&mut self.scratch.reused, self.tasks.len());
        reused.resize(self.tasks.len(), false);
        for (i, ctx) in ctxs.iter().enumerate() {
            let record = if self.saved.is_empty() {
                None
            } else {
                self.saved.get(ctx.task_id())
            };
            match record.and_then(|r| r.output.as_ref()) {
                Some(out) => {
                    let output = self.decode_saved(out)?;
                    outcomes.push(Some(TaskOutcome::Done(output)));
                    reused[i] = true;
                }
                None => outcomes.push(None),
            }
        }
        self.fallback.clear();
        self.cache_keys.clear();
        if self.prog.cache.is_some() {
            self.cached_outputs(&mut outcomes, &mut reused)?;
        }
        self.task_starts(step, &ctxs, &reused).await;
        self.execute(step, &ctxs, &mut outcomes, &reused).await?;
        let end = self.settle(step, &ctxs, outcomes, &reused).await;
        self.scratch.reused = reused;
        self.scratch.ctxs = ctxs;
        self.scratch.step_ctx = Some(step_ctx);
        end
    }

    /// Runs the tasks that were not reused, concurrently, saving writes as tasks finish.
    async fn execute(
        &mut self,
        step: i64,
        ctxs: &[Ctx],
        outcomes: &mut [Option<TaskOutcome<S>>],
        reused: &[bool],
    ) -> Result<(), RunError> {
        let prog = self.prog;
        let state = &self.state;
        let tasks = &self.tasks;
        let todo = reused.iter().filter(|r| !**r).count();
        if todo == 0 {
            return Ok(());
        }
        // Fast path: one task, nothing to stream while it runs; the previous checkpoint (if
        // any is still in flight) is stored meanwhile.
        if todo == 1 && self.events.is_none() {
            if let Some(i) = reused.iter().position(|r| !*r) {
                let t = &tasks[i];
                let fut = run_task(&prog.exec[t.node as usize], task_input(t, state), &ctxs[i]);
                let mut fut = pin!(in_task_span(fut, prog.shape.name(t.node), step));
                let persist = &mut self.persist;
                let t0 = Instant::now();
                // The task first: a task that finishes at once leaves the queue to be stored
                // with the superstep's checkpoint, in one batch.
                let outcome = poll_fn(|cx| {
                    let r = fut.as_mut().poll(cx);
                    if r.is_pending()
                        && let Some(p) = persist.as_mut()
                    {
                        let _ = p.queue.poll_drive(cx);
                    }
                    r
                })
                .await;
                let elapsed = t0.elapsed();
                if !matches!(outcome, TaskOutcome::Done(_))
                    || tracing::enabled!(tracing::Level::DEBUG)
                {
                    Self::task_end(
                        None,
                        &self.scope.ns,
                        prog.shape.name(t.node),
                        step,
                        &ctxs[i],
                        &outcome,
                        elapsed,
                    )
                    .await;
                }
                tally_task(&mut self.tally, t.node, &ctxs[i], &outcome, elapsed);
                outcomes[i] = Some(outcome);
            }
            return Ok(());
        }
        let save_early = self
            .persist
            .as_ref()
            .is_some_and(|p| p.durability != Durability::Exit);
        let limit = self.scope.config.max_concurrency.unwrap_or(usize::MAX);
        let mut running = FuturesUnordered::new();
        let start = |i: usize| {
            let t = &tasks[i];
            let fut = run_task(&prog.exec[t.node as usize], task_input(t, state), &ctxs[i]);
            let fut = in_task_span(fut, prog.shape.name(t.node), step);
            let t0 = Instant::now();
            async move { (i, fut.await, t0.elapsed()) }
        };
        let mut next = 0;
        let mut remaining = todo;
        loop {
            while running.len() < limit && next < tasks.len() {
                if !reused[next] {
                    running.push(start(next));
                }
                next += 1;
            }
            let persist = &mut self.persist;
            let done = poll_fn(|cx| {
                let r = running.poll_next_unpin(cx);
                if r.is_pending()
                    && let Some(p) = persist.as_mut()
                {
                    let _ = p.queue.poll_drive(cx);
                }
                r
            })
            .await;
            let Some((i, outcome, elapsed)) = done else {
                break;
            };
            remaining -= 1;
            let node_id = tasks[i].node;
            tally_task(&mut self.tally, node_id, &ctxs[i], &outcome, elapsed);
            let name = prog.shape.name(node_id);
            let ns = &self.scope.ns;
            Self::task_end(
                self.events.as_ref(),
                ns,
                name,
                step,
                &ctxs[i],
                &outcome,
                elapsed,
            )
            .await;
            let failed = matches!(
                outcome,
                TaskOutcome::Failed { .. } | TaskOutcome::TimedOut { .. }
            );
            if let TaskOutcome::Done(out) = &outcome {
                let node = prog.shape.name(tasks[i].node);
                if let Some(ev) = &self.events
                    && ev.wants(StreamMode::Updates)
                {
                    let update = match out {
                        NodeOutput::Update(u) => u.clone(),
                        NodeOutput::Command(c) => c.update.clone().unwrap_or_default(),
                    };
                    ev.send(StreamEvent::Updates {
                        node: node.to_string(),
                        update,
                    })
                    .await;
                }
                if save_early
                    && remaining > 0
                    && let Some(p) = &mut self.persist
                {
                    let w = SavedOutput::encode(out, &prog.shape)?;
                    p.put_writes(vec![PendingWrite {
                        task_id: ctxs[i].task_id().to_string(),
                        task_name: node.to_string(),
                        channel: WRITES.to_string(),
                        value: w,
                    }]);
                    self.saved
                        .entry(ctxs[i].task_id().to_string())
                        .or_default()
                        .stored = true;
                }
            }
            outcomes[i] = Some(outcome);
            if failed {
                // Siblings still running are cancelled (dropped); their writes were not saved,
                // so they will run again when the thread is resumed.
                break;
            }
        }
        Ok(())
    }
}
