//! `CompiledGraph`: the runnable graph and its state API.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use futures::future::BoxFuture;
use langgraph_checkpoint::{Checkpointer, ListOptions};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::RunConfig;
use crate::error::{GraphError, RunError};
use crate::graph::StateGraph;
use crate::graph::compile::lower;
use crate::graph::draw;
use crate::pregel::events::EventTx;
use crate::pregel::plan::Program;
use crate::pregel::run_loop::{Finished, Loop};
use crate::pregel::start::run;
use crate::report::RunReport;
use crate::snapshot::StateSnapshot;
use crate::state::{FromState, State, StateUpdate};
use crate::stream::{StreamEvent, StreamModes};
use crate::types::{Command, Input, Interrupt};

pub(crate) struct Inner<S: State> {
    pub(crate) prog: Program<S>,
    pub(crate) saver: Option<Arc<dyn Checkpointer>>,
    /// How it keeps its state when called as a subgraph.
    pub(crate) persistence: crate::persistence::Persistence,
}

/// A validated, immutable graph: run it with [`invoke`](Self::invoke) or
/// [`stream`](Self::stream), inspect and edit its threads with the state API.
///
/// It is `Send + Sync + 'static` and cheap to clone (an `Arc`); many runs may use it at once.
pub struct CompiledGraph<S: State, O = S> {
    pub(crate) inner: Arc<Inner<S>>,
    _out: PhantomData<fn() -> O>,
}

impl<S: State, O> Clone for CompiledGraph<S, O> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _out: PhantomData,
        }
    }
}

impl<S: State, O> fmt::Debug for CompiledGraph<S, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledGraph")
            .field("name", &self.inner.prog.name)
            .field("nodes", &self.inner.prog.shape.names)
            .field("checkpointer", &self.inner.saver.is_some())
            .finish()
    }
}

/// What a run returned: the output value and, if the run paused, the pending interrupts.
///
/// Derefs to the value, so `out.field` reads the output directly.
#[derive(Debug, Clone)]
pub struct RunOutput<O> {
    /// The output (the state, or the graph's output projection).
    pub value: O,
    /// Pending interrupts, when the run paused on `ctx.interrupt` (empty otherwise).
    pub interrupts: Vec<Interrupt>,
    /// True when the run paused (an interrupt or a static breakpoint) instead of finishing.
    pub paused: bool,
    /// The last checkpoint of the run, with a checkpointer.
    pub checkpoint_id: Option<String>,
    /// What the run did, per node (tasks, latency, retries, errors, LLM usage).
    pub report: RunReport,
}

/// A run's result as an enum, for `match`.
#[derive(Debug, Clone)]
pub enum Outcome<O> {
    /// The graph finished.
    Done(O),
    /// The run paused; resume it with `resume` or `Input::Continue`.
    Interrupted {
        /// The state so far.
        value: O,
        /// The pending interrupts (empty at a static breakpoint).
        interrupts: Vec<Interrupt>,
    },
}

impl<O> RunOutput<O> {
    /// True when the run paused.
    pub fn is_interrupted(&self) -> bool {
        self.paused
    }
    /// The output value.
    pub fn into_value(self) -> O {
        self.value
    }
    /// Converts into an [`Outcome`].
    pub fn into_outcome(self) -> Outcome<O> {
        if self.paused {
            Outcome::Interrupted {
                value: self.value,
                interrupts: self.interrupts,
            }
        } else {
            Outcome::Done(self.value)
        }
    }
}

impl<O> Deref for RunOutput<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.value
    }
}

const STREAM_BUFFER: usize = 64;

impl<S: State, O: FromState<S>> CompiledGraph<S, O> {
    pub(crate) fn build(
        g: StateGraph<S, O>,
        saver: Option<Arc<dyn Checkpointer>>,
    ) -> Result<Self, GraphError> {
        let persistence = g.extras.as_ref().map(|e| e.persistence).unwrap_or_default();
        Ok(Self {
            inner: Arc::new(Inner {
                prog: lower(g)?,
                saver,
                persistence,
            }),
            _out: PhantomData,
        })
    }

    fn output(f: Finished<S>) -> RunOutput<O> {
        RunOutput {
            value: O::from_state(f.state),
            interrupts: f.interrupts,
            paused: f.paused,
            checkpoint_id: f.checkpoint_id,
            report: f.report,
        }
    }

    /// Runs the graph to its end (or pause).
    ///
    /// `input` is the state, its update type, a projection, a [`Command`] or an
    /// [`Input`]. With a checkpointer, `config` must name a thread.
    pub async fn invoke(
        &self,
        input: impl Into<Input<S>>,
        config: &RunConfig,
    ) -> Result<RunOutput<O>, RunError> {
        let f = run(
            &self.inner.prog,
            self.inner.saver.as_ref(),
            input.into(),
            config.clone(),
            String::new(),
            None,
        )
        .await?;
        Ok(Self::output(f))
    }

    /// Resumes the thread's pending interrupt with `answer` (one pending interrupt; use
    /// [`Command::resume_by_id`] for several).
    pub async fn resume(
        &self,
        config: &RunConfig,
        answer: impl Serialize,
    ) -> Result<RunOutput<O>, RunError> {
        let cmd =
            Command::<S>::try_resume(answer).map_err(|e| RunError::serde("the resume value", e))?;
        self.invoke(cmd, config).await
    }

    /// Continues the thread from its checkpoint (past a static breakpoint).
    pub async fn continue_run(&self, config: &RunConfig) -> Result<RunOutput<O>, RunError> {
        self.invoke(Input::Continue, config).await
    }

    /// Runs the graph and streams events of the given modes. Dropping the stream cancels the
    /// run (checkpoints already queued are not half-written: each is one transaction).
    pub fn stream(
        &self,
        input: impl Into<Input<S>>,
        config: &RunConfig,
        modes: impl Into<StreamModes>,
    ) -> RunStream<S> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let inner = self.inner.clone();
        let input = input.into();
        let config = config.clone();
        let events = EventTx::new(tx, modes.into());
        let fut = async move {
            run(
                &inner.prog,
                inner.saver.as_ref(),
                input,
                config,
                String::new(),
                Some(events),
            )
            .await
        };
        RunStream {
            rx,
            run: Some(Box::pin(fut)),
            error: None,
        }
    }

    fn saver(&self, op: &'static str) -> Result<&Arc<dyn Checkpointer>, RunError> {
        self.inner
            .saver
            .as_ref()
            .ok_or(RunError::NoCheckpointer(op))
    }

    /// The thread's state at its latest checkpoint (or at `config.checkpoint_id`). On the
    /// latest checkpoint, writes of tasks that finished in an interrupted or failed superstep
    /// are shown applied. A thread without checkpoints gives an empty snapshot.
    pub async fn get_state(&self, config: &RunConfig) -> Result<StateSnapshot<S>, RunError> {
        let saver = self.saver("get_state")?;
        let thread = config
            .thread_id
            .as_deref()
            .ok_or(RunError::NoThread("get_state"))?;
        let ns = config.checkpoint_ns.as_deref().unwrap_or("");
        let head = saver.head(thread, ns).await?;
        let head_id = head.checkpoint.as_ref().map(|c| c.checkpoint.id.clone());
        let tuple = match &config.checkpoint_id {
            Some(id) if Some(id.as_str()) != head_id.as_deref() => {
                saver.get(thread, ns, id).await?
            }
            _ => head.checkpoint,
        };
        match tuple {
            None => Ok(StateSnapshot::empty()),
            Some(t) => {
                let is_head = Some(&t.checkpoint.id) == head_id.as_ref();
                StateSnapshot::from_tuple(t, is_head)
            }
        }
    }

    /// The thread's checkpoints, newest first, as stored, narrowed by `options`: for example
    /// `ListOptions::new().filter("source", "loop").before(id).limit(5)`.
    pub async fn state_history(
        &self,
        config: &RunConfig,
        options: &ListOptions,
    ) -> Result<Vec<StateSnapshot<S>>, RunError> {
        let saver = self.saver("state_history")?;
        let thread = config
            .thread_id
            .as_deref()
            .ok_or(RunError::NoThread("state_history"))?;
        saver
            .list(
                thread,
                config.checkpoint_ns.as_deref().unwrap_or(""),
                options,
            )
            .await?
            .into_iter()
            .map(|t| StateSnapshot::from_tuple(t, false))
            .collect()
    }

    /// Applies `update` to the thread as if node `as_node` had written it (its edges fire),
    /// writing a checkpoint with source `update` on top of the latest checkpoint, or of
    /// `config.checkpoint_id` (a fork). Without `as_node`, the node that wrote the base
    /// checkpoint is used. Returns the configuration of the new checkpoint.
    ///
    /// Three `as_node` values name edits that are not a node's write, with an update alone in
    /// its call: [`END`](crate::END) (with an empty update) drops the tasks due
    /// ([`clear_tasks`](Self::clear_tasks)), [`INPUT`](crate::INPUT) stages the update as a
    /// run's input ([`stage_input`](Self::stage_input)) and [`COPY`](crate::COPY) (with an
    /// empty update) copies the checkpoint ([`copy_checkpoint`](Self::copy_checkpoint)).
    ///
    /// With `config.checkpoint_ns`, this graph's checkpoints in that namespace are edited: a
    /// subgraph paused inside a parent's task is edited through the subgraph's compiled graph
    /// and the namespace the parent's [`TaskSnapshot::subgraph_ns`](crate::TaskSnapshot) names;
    /// resuming the parent then goes on from the edit.
    pub async fn update_state(
        &self,
        config: &RunConfig,
        update: impl Into<S::Update>,
        as_node: Option<&str>,
    ) -> Result<RunConfig, RunError> {
        self.edit_state("update_state", config, vec![vec![(update.into(), as_node)]])
            .await
    }

    /// Applies several supersteps of edits at once, one checkpoint (source `update`) each:
    /// the edits of one superstep count as written side by side by their nodes (`None`: the
    /// node that wrote the checkpoint before), so a last-value key written twice in one
    /// superstep is an error, and their edges fire together. Nothing is stored unless every
    /// superstep applies. Returns the configuration of the last checkpoint.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_checkpoint::InMemorySaver;
    /// use langgraph_core::{END, RunConfig, START, StateGraph};
    ///
    /// let g = StateGraph::<Review>::new()
    ///     .node("draft", |_: &Review| ReviewUpdate::new().draft("v1".to_string()))
    ///     .node("review", |_: &Review| ReviewUpdate::new().notes(vec!["ok".into()]))
    ///     .edge(START, "draft")
    ///     .edge("draft", "review")
    ///     .edge("review", END)
    ///     .compile_with(InMemorySaver::new())
    ///     .unwrap();
    /// let cfg = RunConfig::thread("imported");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     // A thread brought in from elsewhere: a draft, then a review with a counted round.
    ///     let draft = vec![(ReviewUpdate::new().draft("v0".to_string()), Some("draft"))];
    ///     let review = vec![
    ///         (ReviewUpdate::new().notes(vec!["late".into()]), Some("review")),
    ///         (ReviewUpdate::new().rounds(1), Some("draft")),
    ///     ];
    ///     g.bulk_update_state(&cfg, vec![draft, review]).await.unwrap();
    ///     let st = g.get_state(&cfg).await.unwrap();
    ///     assert_eq!((st.values.draft.as_str(), st.values.rounds), ("v0", 1));
    ///     assert_eq!(st.next, ["review"]); // draft's edge fired in the second superstep
    ///     assert_eq!(g.state_history(&cfg, &Default::default()).await.unwrap().len(), 2);
    /// });
    /// ```
    pub async fn bulk_update_state(
        &self,
        config: &RunConfig,
        supersteps: Vec<Vec<(S::Update, Option<&str>)>>,
    ) -> Result<RunConfig, RunError> {
        self.edit_state("bulk_update_state", config, supersteps)
            .await
    }

    /// The edits of `update_state` and `bulk_update_state`, in the namespace `config` names.
    async fn edit_state(
        &self,
        op: &'static str,
        config: &RunConfig,
        supersteps: Vec<Vec<(S::Update, Option<&str>)>>,
    ) -> Result<RunConfig, RunError> {
        let saver = self.saver(op)?.clone();
        let scope = Arc::new(crate::context::RunScope::new(
            config.clone(),
            config.checkpoint_ns.clone().unwrap_or_default(),
            None,
        ));
        let mut lp = Loop::new(&self.inner.prog, scope, None, None);
        let supersteps = supersteps
            .into_iter()
            .map(|edits| {
                edits
                    .into_iter()
                    .map(|(u, n)| (u, n.map(str::to_string)))
                    .collect()
            })
            .collect();
        let id = lp.update_state(saver, supersteps).await?;
        Ok(config.clone().checkpoint_id(id))
    }

    /// Like [`update_state`](Self::update_state) with a JSON update (from a UI or an API);
    /// unknown keys are an error, and `null` is the empty update (what a client sends with
    /// `as_node` [`END`](crate::END) or [`COPY`](crate::COPY)).
    pub async fn update_state_json(
        &self,
        config: &RunConfig,
        update: serde_json::Value,
        as_node: Option<&str>,
    ) -> Result<RunConfig, RunError> {
        let update: S::Update = if update.is_null() {
            S::Update::default()
        } else {
            serde_json::from_value(update).map_err(|e| RunError::serde("the update", e))?
        };
        self.update_state(config, update, as_node).await
    }

    /// Mermaid source of the graph (edges, dotted conditional routes, joins, command targets).
    pub fn draw_mermaid(&self) -> String {
        draw::mermaid(&self.inner.prog.shape, &self.inner.prog.name)
    }

    /// A plain-text listing of the graph's edges.
    pub fn draw_ascii(&self) -> String {
        draw::ascii(&self.inner.prog.shape)
    }

    /// The node names, in insertion order.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.inner.prog.shape.names.iter().map(|n| &**n)
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.inner.prog.name
    }

    /// The checkpointer, if the graph has one.
    pub fn checkpointer(&self) -> Option<&Arc<dyn Checkpointer>> {
        self.inner.saver.as_ref()
    }

    /// JSON schema of the state.
    pub fn state_schema(&self) -> serde_json::Value {
        S::state_schema()
    }

    /// JSON schema of the update type (what nodes, inputs and `update_state_json` accept).
    pub fn update_schema(&self) -> serde_json::Value {
        <S::Update as StateUpdate>::update_schema()
    }
}

/// The events of a running graph; see [`CompiledGraph::stream`].
///
/// Yields `Ok(event)` items, then `Err(e)` once if the run failed. The run makes progress only
/// while the stream is polled; a slow consumer slows the run down (backpressure).
pub struct RunStream<S: State> {
    rx: mpsc::Receiver<StreamEvent<S>>,
    run: Option<BoxFuture<'static, Result<Finished<S>, RunError>>>,
    error: Option<RunError>,
}

impl<S: State> Stream for RunStream<S> {
    type Item = Result<StreamEvent<S>, RunError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Poll::Ready(Some(ev)) = this.rx.poll_recv(cx) {
                return Poll::Ready(Some(Ok(ev)));
            }
            match &mut this.run {
                Some(fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        this.run = None;
                        this.rx.close();
                        if let Err(e) = result {
                            this.error = Some(e);
                        }
                    }
                    Poll::Pending => return Poll::Pending,
                },
                None => {
                    // The channel is closed: drain it. `Pending` only means the runtime's
                    // cooperative budget ran out; we are woken to continue.
                    return match this.rx.poll_recv(cx) {
                        Poll::Ready(Some(ev)) => Poll::Ready(Some(Ok(ev))),
                        Poll::Ready(None) => Poll::Ready(this.error.take().map(Err)),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}
