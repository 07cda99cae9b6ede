//! Starting a run: fresh input, new input on a thread, continue, replay (fork), resume, jump;
//! and `update_state`, which shares the machinery.

use std::sync::Arc;

use langgraph_checkpoint::{CheckpointError, CheckpointTuple, Checkpointer, Fence, Source};
use tracing::Instrument;

use super::algo::Resolved;
use super::events::EventTx;
use super::persist::{Persist, load_control, load_state};
use super::plan::{NodeId, Program};
use super::run_loop::{Finished, Loop};
use super::saved::records_of;
use crate::config::{Durability, RunConfig};
use crate::context::RunScope;
use crate::error::RunError;
use crate::persistence::Replay;
use crate::state::{ReducerKind, State};
use crate::stream::{StreamEvent, StreamMode};
use crate::types::{Command, Input, START};
use crate::write_set::INPUT_WRITER;

/// The scope of a run: its stream sink and modes, and its checkpointer (for subgraphs).
pub(super) fn scope_of<S: State>(
    config: RunConfig,
    ns: String,
    events: Option<&EventTx<S>>,
    saver: Option<&Arc<dyn Checkpointer>>,
    fence: Option<Fence>,
) -> RunScope {
    let mut scope = RunScope::new(config, ns, events.and_then(EventTx::sink));
    scope.modes = events.map(EventTx::modes).unwrap_or_default();
    scope.saver = saver.cloned();
    scope.fence = fence;
    scope
}

/// Per-run breakpoints must name nodes of the graph (or [`ALL_NODES`]): a misspelled name
/// would otherwise let the run go past the point where a human meant to look.
///
/// [`ALL_NODES`]: crate::types::ALL_NODES
fn check_breakpoints<S: State>(prog: &Program<S>, config: &RunConfig) -> Result<(), RunError> {
    let lists = [
        ("interrupt_before", &config.interrupt_before),
        ("interrupt_after", &config.interrupt_after),
    ];
    for (context, names) in lists {
        for name in names.iter().flatten() {
            if name != crate::types::ALL_NODES && prog.shape.id(name).is_none() {
                return Err(RunError::UnknownNode {
                    context: format!("the run's {context}"),
                    name: name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Runs a compiled program to its end, pause or error.
pub(crate) async fn run<S: State>(
    prog: &Program<S>,
    saver: Option<&Arc<dyn Checkpointer>>,
    input: Input<S>,
    config: RunConfig,
    ns: String,
    events: Option<EventTx<S>>,
) -> Result<Finished<S>, RunError> {
    check_breakpoints(prog, &config)?;
    let span = run_span(prog, &config, &ns);
    let scope = Arc::new(scope_of(config, ns, events.as_ref(), saver, None));
    let body = async move {
        let mut lp = Loop::new(prog, scope, None, events);
        let out = async {
            match saver {
                None => lp.start_fresh(input)?,
                Some(s) => lp.start_durable(s.clone(), input).await?,
            }
            lp.flush_events().await;
            lp.drive().await
        }
        .await;
        // Whatever the outcome, what the run stored is durable when it returns.
        let synced = match &mut lp.persist {
            Some(p) => p.queue.sync().await,
            None => Ok(()),
        };
        let out = out?;
        synced?;
        Ok(out)
    };
    match span {
        Some(span) => body.instrument(span).await,
        None => body.await,
    }
}

/// The span of a run (info level): graph, thread, namespace and run id; `None` when info is
/// not traced (the future is then not wrapped at all: see `run_loop::traced`).
pub(super) fn run_span<S: State>(
    prog: &Program<S>,
    config: &RunConfig,
    ns: &str,
) -> Option<tracing::Span> {
    tracing::level_enabled!(tracing::Level::INFO).then(|| {
        tracing::info_span!(
            "langgraph.run",
            graph = %prog.name,
            thread_id = config.thread_id.as_deref().unwrap_or(""),
            ns,
            run_id = config.run_id.as_deref().unwrap_or(""),
        )
    })
}

/// How a run without new input goes on from the checkpoint it loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GoOn {
    /// The thread's head, not named in the configuration: tasks that finished or were
    /// answered keep their stored writes and answers.
    Continue,
    /// A named checkpoint that starts a branch already (the head, written by `update_state`
    /// or by a replay): its tasks run again from it, without its stored writes and answers.
    Rerun,
    /// Any other named checkpoint (time travel): a `fork` copy of it starts a new branch, and
    /// its tasks run again from that copy. This holds for the head too, so that what a call
    /// does does not depend on whether another run moved the thread meanwhile.
    Fork,
}

impl<S: State> Loop<'_, S> {
    pub(super) fn apply_input(&mut self, update: S::Update) -> Result<(), RunError> {
        self.writes.clear();
        self.writes.set_writer(INPUT_WRITER);
        self.state
            .apply(update, &mut self.writes)
            .map_err(|c| RunError::InvalidStateUpdate(format!("conflicting input write: {c:?}")))
    }

    pub(super) fn route_from(&mut self, from: usize, extra: &[Resolved]) -> Result<(), RunError> {
        let mut routes: Vec<Resolved> = extra.to_vec();
        routes.extend(self.routes_of(from)?);
        let shape = &self.prog.shape;
        self.control.begin_step();
        self.control.finished(shape, from, &routes);
        self.control.end_step(shape);
        Ok(())
    }

    /// Where the routers of `from` (a node, or START) send the current state.
    fn routes_of(&self, from: usize) -> Result<Vec<Resolved>, RunError> {
        let shape = &self.prog.shape;
        let mut routes: Vec<Resolved> = Vec::new();
        {
            for &r in shape.out(from).routers {
                let route = (self.prog.router_fns[r as usize])(&self.state);
                super::algo::resolve_route(shape, r as usize, route.targets(), &mut routes)
                    .map_err(|e| match e {
                        super::algo::RouteError::Undeclared { target, declared } => {
                            RunError::UndeclaredTarget {
                                from: if from == shape.start() {
                                    START.to_string()
                                } else {
                                    shape.name(from as NodeId).to_string()
                                },
                                target,
                                declared,
                            }
                        }
                        super::algo::RouteError::Unknown { target } => RunError::UnknownNode {
                            context: "a route".into(),
                            name: target,
                        },
                    })?;
            }
        }
        Ok(routes)
    }

    /// Like [`route_from`](Self::route_from) for several sources that finished side by side.
    pub(super) fn route_from_all(&mut self, froms: &[usize]) -> Result<(), RunError> {
        let mut per_source = Vec::with_capacity(froms.len());
        for &from in froms {
            per_source.push(self.routes_of(from)?);
        }
        let shape = &self.prog.shape;
        self.control.begin_step();
        for (&from, routes) in froms.iter().zip(&per_source) {
            self.control.finished(shape, from, routes);
        }
        self.control.end_step(shape);
        Ok(())
    }

    pub(super) fn values_event(&mut self) {
        if let Some(ev) = &mut self.events
            && ev.wants(StreamMode::Values)
        {
            ev.push_now(StreamEvent::Values(self.state.clone()));
        }
    }

    /// A run without a checkpointer: only a fresh input makes sense.
    pub(crate) fn start_fresh(&mut self, input: Input<S>) -> Result<(), RunError> {
        match input {
            Input::Update(u) => {
                self.apply_input(u)?;
                let start = self.prog.shape.start();
                self.route_from(start, &[])?;
                self.step = 0;
                self.values_event();
                Ok(())
            }
            Input::Continue | Input::Command(_) => {
                Err(RunError::NoCheckpointer("continuing or resuming a run"))
            }
        }
    }

    /// Loads the run's state from `t`, whose values move into it (see [`load_state`]).
    pub(super) fn load(&mut self, t: &mut CheckpointTuple) -> Result<(), RunError> {
        self.state = load_state::<S>(t)?;
        self.control = load_control(&self.prog.shape, &self.prog.exec, t)?;
        self.step = t.metadata.step;
        self.base = Some(Arc::from(t.checkpoint.id.as_str()));
        self.saved = records_of(t)?;
        self.due_input = self.stored_start_input(t)?;
        let info = S::info();
        self.eph_prev = info
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| c.reducer == ReducerKind::Ephemeral)
            .filter(|(_, c)| t.checkpoint.channel_versions.get(c.name) == Some(&t.checkpoint.id))
            .map(|(i, _)| i)
            .collect();
        if let Some(p) = &mut self.persist {
            p.load_versions(t, &self.state);
        }
        Ok(())
    }

    /// Reads the thread, then starts according to the input.
    pub(crate) async fn start_durable(
        &mut self,
        saver: Arc<dyn Checkpointer>,
        input: Input<S>,
    ) -> Result<(), RunError> {
        let cfg = &self.scope.config;
        let thread = cfg.thread_id.clone().ok_or(RunError::NoThread(
            "running a graph that has a checkpointer",
        ))?;
        let ns = self.scope.ns.clone();
        let head = saver.head(&thread, &ns).await?;
        let head_id = head.checkpoint.as_ref().map(|c| c.checkpoint.id.clone());
        let mut base = match &cfg.checkpoint_id {
            _ if self.scope.start_empty => None,
            Some(id) if Some(id.as_str()) != head_id.as_deref() => {
                Some(saver.get(&thread, &ns, id).await?.ok_or_else(|| {
                    CheckpointError::NotFound {
                        thread_id: thread.clone(),
                        checkpoint_id: id.clone(),
                    }
                })?)
            }
            _ => head.checkpoint,
        };
        // A named checkpoint the thread has moved past.
        let superseded = cfg.checkpoint_id.is_some()
            && base.as_ref().map(|b| &b.checkpoint.id) != head_id.as_ref();
        let go_on = match &base {
            _ if cfg.checkpoint_id.is_none() => GoOn::Continue,
            Some(b)
                if !superseded && matches!(b.metadata.source, Source::Update | Source::Fork) =>
            {
                GoOn::Rerun
            }
            _ => GoOn::Fork,
        };
        let mut persist = Persist::new::<S>(
            saver,
            &self.scope,
            self.prog.saved_names(),
            thread.clone(),
            head.epoch,
            head_id,
        );
        if let Some(f) = &self.scope.fence {
            persist.inherit(f);
        }
        persist.keep_next = self.wants_checkpoint_events();
        self.persist = Some(persist);
        if let Some(b) = &mut base {
            self.note_start(b, go_on, &input);
            self.load(b)?;
            // A run that goes on (not a new input) keeps what it spent and its budget.
            if !matches!(input, Input::Update(_)) {
                self.scope.restore(&b.checkpoint.extra);
            }
        }
        match input {
            Input::Update(u) => self.start_input(u, base.is_some()).await,
            Input::Continue => {
                if base.is_none() {
                    return Err(RunError::EmptyInput(format!(
                        "thread `{thread}` has no checkpoint"
                    )));
                }
                self.start_continue(go_on).await
            }
            Input::Command(cmd) => {
                if base.is_none() {
                    return Err(RunError::EmptyInput(format!(
                        "a Command needs an existing thread, and thread `{thread}` has no checkpoint"
                    )));
                }
                match cmd.resume.clone() {
                    Some(resume) => {
                        if superseded {
                            return Err(RunError::InvalidResume(
                                "resume the thread's latest checkpoint; to answer an older one, replay it first".into(),
                            ));
                        }
                        let idle = self.control.pull.is_empty()
                            && self.control.push.is_empty()
                            && self.due_input.is_none();
                        if cmd.update.is_some() && cmd.goto.is_empty() && idle {
                            return Err(RunError::InvalidResume(format!(
                                "thread `{thread}` has nothing left to run, so an update given \
                                 with a resume would never be applied; use update_state"
                            )));
                        }
                        self.apply_resume(resume).await?;
                        if cmd.update.is_some() || !cmd.goto.is_empty() {
                            self.stash_resume_command(cmd.update, cmd.goto)?;
                        }
                        self.start_continue(GoOn::Continue).await
                    }
                    None => self.start_jump(cmd).await,
                }
            }
        }
    }

    /// Stores the commit a run starts with: its claim, with the input checkpoints or the
    /// answers to interrupts. Other runs must see it before any node runs. Under durability
    /// `sync` it is durable; under `async` and `exit`, which let a crash of the machine lose
    /// a run's newest steps, a root run's need not reach the disk first
    /// ([`Checkpointer::put_batch_unsynced`]): the run's next durable write, or
    /// [`WriteQueue::sync`](super::write_queue::WriteQueue::sync) before it returns, makes it
    /// durable.
    async fn flush_persist(&mut self) -> Result<(), RunError> {
        let root = self.scope.ns.is_empty();
        if let Some(p) = &mut self.persist {
            if root && p.durability != Durability::Sync {
                p.queue.flush_unsynced().await?;
            } else {
                p.queue.flush().await?;
            }
        }
        Ok(())
    }

    /// New input: an input checkpoint, the input applied, a loop checkpoint. Under durability
    /// `exit` neither is stored: the run claims the thread and stores only the checkpoint it
    /// ends or pauses on.
    async fn start_input(&mut self, update: S::Update, existing: bool) -> Result<(), RunError> {
        self.control.clear_scheduled();
        self.saved.clear();
        self.due_input = None;
        let step_in = if existing { self.step + 1 } else { -1 };
        let Some(p) = &mut self.persist else {
            return Ok(());
        };
        let mut start_write = None;
        if p.durability != Durability::Exit {
            let input = p.put(
                &self.state,
                &self.control,
                &self.prog.shape,
                Source::Input,
                step_in,
                Vec::new(),
                langgraph_checkpoint::SmallMap::new(),
                Some(vec![START.into()]),
                Vec::new(),
            )?;
            start_write = Some(self.start_write(&input.id, step_in, &update)?);
            self.checkpoint_event(&input);
        } else {
            let id = p.reserve_id();
            let next = Some(vec![START.into()]);
            self.unstored_checkpoint_event(id, Source::Input, step_in, next);
        }
        self.step = step_in;
        self.run_start(update, start_write).await?;
        // The first write claims the thread: nothing runs unless the claim held.
        self.flush_persist().await
    }

    /// Records what the per-thread subgraphs this run's tasks call need to know about where
    /// it starts: a checkpoint `update_state` wrote that it goes on from, or the checkpoint a
    /// replay (or new input on an older checkpoint) starts from.
    fn note_start(&self, b: &CheckpointTuple, go_on: GoOn, input: &Input<S>) {
        let id = || b.checkpoint.id.to_string();
        let bound = match (input, go_on) {
            (Input::Command(_), _) => None,
            (_, GoOn::Fork) => Some(id()),
            (Input::Continue, GoOn::Rerun) => b.parent_id.clone(),
            _ => None,
        };
        if let Some(bound) = bound {
            // A subgraph run keeps the replay of the run that called it.
            let _ = self.scope.replay.set(Arc::new(Replay::new(bound)));
        } else if !matches!(input, Input::Update(_)) && b.metadata.source == Source::Update {
            let _ = self.scope.edited.set((id(), b.parent_id.clone()));
        }
    }

    /// Continue from the loaded checkpoint, or replay it (see [`GoOn`]).
    async fn start_continue(&mut self, go_on: GoOn) -> Result<(), RunError> {
        self.skip_breakpoint = true;
        if self.persist.is_none() {
            return Ok(());
        }
        if go_on == GoOn::Fork {
            let step = self.step + 1;
            let next = self.next_with_start();
            let Some(p) = &mut self.persist else {
                return Ok(());
            };
            let st = p.put(
                &self.state,
                &self.control,
                &self.prog.shape,
                Source::Fork,
                step,
                Vec::new(),
                langgraph_checkpoint::SmallMap::new(),
                next,
                Vec::new(),
            )?;
            self.step = step;
            self.base = Some(st.id.clone().into());
            self.saved.clear();
            self.checkpoint_event(&st);
            self.carry_start_input(&st.id, step)?;
        } else {
            if go_on == GoOn::Rerun {
                self.saved.clear();
            }
            if let Some(p) = &mut self.persist {
                p.claim().await?;
            }
            self.schedule_resume_gotos()?;
        }
        self.run_due_start_alone().await?;
        self.flush_persist().await
    }

    /// `Command(update, goto)` as input: apply the update and schedule the destinations
    /// instead of the pending tasks.
    async fn start_jump(&mut self, cmd: Command<S>) -> Result<(), RunError> {
        if let Some(u) = cmd.update {
            self.apply_input(u)?;
        } else {
            self.writes.clear();
        }
        let mut routes = Vec::new();
        super::algo::resolve_goto(&self.prog.shape, None, &cmd.goto, &mut routes).map_err(|e| {
            match e {
                super::algo::RouteError::Unknown { target }
                | super::algo::RouteError::Undeclared { target, .. } => RunError::UnknownNode {
                    context: "Command input goto".into(),
                    name: target,
                },
            }
        })?;
        self.control.clear_scheduled();
        self.saved.clear();
        self.due_input = None;
        self.control.begin_step();
        self.control.finished(&self.prog.shape, usize::MAX, &routes);
        self.control.end_step(&self.prog.shape);
        if let Some(p) = &mut self.persist {
            p.record(&self.writes);
            p.claim().await?;
        }
        Ok(())
    }
}
