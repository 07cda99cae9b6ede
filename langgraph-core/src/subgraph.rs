//! Subgraphs: a compiled graph run from inside a node ([`Ctx::invoke`]), with a state type of
//! its own, or as a node of a graph with the same state type ([`StateGraph::subgraph`]).
//!
//! A subgraph run belongs to the task that called it: it stores its checkpoints in the
//! thread of the parent run under its own namespace (`node:task_id`, nested with `|`; a task's
//! second and later subgraph runs add `#2`, `#3`, …; a subgraph with a history per thread
//! stores under the node's name instead, see [`Persistence`](crate::Persistence)), writes
//! under the parent's fence, and streams into the parent's stream. Its interrupts stop the
//! calling task, so the parent run pauses with them; when the parent is resumed, the task runs
//! again, calls the subgraph again, and the subgraph resumes from its own checkpoint with the
//! answers (its finished nodes do not run again). A subgraph that already finished returns its
//! stored result without running.
//!
//! [`StateGraph::subgraph`]: crate::StateGraph::subgraph

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::compiled::CompiledGraph;
use crate::context::Ctx;
use crate::error::{NodeError, RunError};
use crate::node::{
    ErasedNode, InputKind, NodeFuture, NodeOutput, TaskInput, accepts_state, decode_state_arg,
    state_arg,
};
use crate::persistence::{PerThreadCall, Persistence, parents_of, per_thread_ns};
use crate::pregel::events::EventTx;
use crate::pregel::nested::{SubRun, run_nested};
use crate::state::{FromState, ReducerKind, State};
use crate::stream::{StreamMode, StreamModes};
use crate::types::{Command, Input, SendArg};

/// The namespace of a subgraph run called by task `task_id` of `node`, in a graph whose
/// namespace is `ns`.
pub(crate) fn child_ns(ns: &str, node: &str, task_id: &str) -> String {
    if ns.is_empty() {
        format!("{node}:{task_id}")
    } else {
        format!("{ns}|{node}:{task_id}")
    }
}

/// The namespace of the `k`-th (from 0) subgraph run a task starts in one attempt: the
/// task's namespace `ns` for the first, `ns#2`, `ns#3`, … for the next ones, so that a node
/// calling several subgraphs (or one twice) keeps their checkpoints apart.
pub(crate) fn call_ns(ns: String, k: u32) -> String {
    if k == 0 {
        ns
    } else {
        format!("{ns}#{}", k + 1)
    }
}

impl Ctx {
    /// Runs `graph` as a subgraph of this task and returns its output.
    ///
    /// The subgraph stores its checkpoints in this run's thread (with its own checkpointer, or
    /// this run's), in its own namespace: one per call, or one per thread for a graph built
    /// with [`Persistence::PerThread`] (each call then goes on from the last one's state). Its
    /// interrupts pause this run (the task stops here, like [`interrupt`](Self::interrupt)),
    /// and resuming this run resumes the subgraph where it stopped. Its custom events and LLM
    /// chunks reach this run's stream; with [`StreamModes::with_subgraphs`] its other events
    /// do too.
    ///
    /// A node of the subgraph may return a [`Command::to_parent`]: the subgraph stops and this
    /// task's output becomes that command (its update applies to this graph's state, key by
    /// key). The call returns an error that carries it: pass it on with `?`.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_core::{Ctx, NodeError, StateGraph, START, END};
    ///
    /// // A subgraph with a state of its own (here the same type, for brevity): it counts notes.
    /// let words = StateGraph::<Review>::new()
    ///     .node("count", |s: &Review| ReviewUpdate::new().rounds(s.notes.len() as u32))
    ///     .edge(START, "count")
    ///     .edge("count", END)
    ///     .compile()
    ///     .unwrap();
    /// let g = StateGraph::<Review>::new()
    ///     .node("call", move |s: &Review, ctx: Ctx| {
    ///         let (words, notes) = (words.clone(), s.notes.clone());
    ///         async move {
    ///             let out = ctx.invoke(&words, ReviewUpdate::new().notes(notes)).await?;
    ///             Ok::<_, NodeError>(ReviewUpdate::new().rounds(out.rounds * 10))
    ///         }
    ///     })
    ///     .edge(START, "call")
    ///     .edge("call", END)
    ///     .compile()
    ///     .unwrap();
    /// let input = ReviewUpdate::new().notes(vec!["a".into(), "b".into()]);
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let out = rt.block_on(g.invoke(input, &Default::default())).unwrap();
    /// assert_eq!(out.rounds, 20);
    /// ```
    pub async fn invoke<S2: State, O2: FromState<S2>>(
        &self,
        graph: &CompiledGraph<S2, O2>,
        input: impl Into<Input<S2>>,
    ) -> Result<O2, NodeError> {
        let state = self.invoke_state(graph, input.into()).await?;
        Ok(O2::from_state(state))
    }

    /// Runs `graph` as a subgraph (see [`invoke`](Self::invoke)) and returns its final state.
    pub(crate) async fn invoke_state<S2: State, O2>(
        &self,
        graph: &CompiledGraph<S2, O2>,
        input: Input<S2>,
    ) -> Result<S2, NodeError> {
        Ok(self.invoke_turn(graph, input, false).await?.0)
    }

    /// Runs `graph` as a subgraph and returns its final state and, when `want_turn_start` and
    /// it keeps a history per thread, the state its turn started from (`None` if not stored).
    async fn invoke_turn<S2: State, O2>(
        &self,
        graph: &CompiledGraph<S2, O2>,
        input: Input<S2>,
        want_turn_start: bool,
    ) -> Result<(S2, Option<S2>), NodeError> {
        let scope = &self.step_ctx().scope;
        let per_thread = graph.inner.persistence == Persistence::PerThread;
        let own_ns = if per_thread {
            per_thread_ns(&scope.ns, self.node())
        } else {
            child_ns(&scope.ns, self.node(), self.task_id())
        };
        let ns = call_ns(own_ns, self.next_subgraph_call());
        if per_thread {
            self.claim_per_thread(&ns)
                .map_err(|e| NodeError::new(e).permanent())?;
        }
        let base = self.step_ctx().base.as_deref();
        let saver = graph.inner.saver.clone().or_else(|| scope.saver.clone());
        let mut config = scope.config.clone();
        config.checkpoint_id = None;
        config.checkpoint_ns = None;
        config.interrupt_before = None;
        config.interrupt_after = None;
        let events = scope.sink.clone().map(|sink| {
            let modes = if scope.modes.subgraphs() {
                scope.modes
            } else {
                // Only the JSON events (the root stream filters them by namespace).
                let mut m = StreamModes::none();
                for mode in [StreamMode::Custom, StreamMode::Messages] {
                    if scope.modes.contains(mode) {
                        m = m | mode;
                    }
                }
                m
            };
            EventTx::<S2>::forward(sink, modes, ns.clone())
        });
        let fence = self.step_ctx().journal.as_ref().map(|j| j.fence.clone());
        let resume_by_id = self.task().resume_by_id.clone().unwrap_or_default();
        // An answer kept while nothing was asked goes down to the subgraph's first question,
        // unless the subgraph has answers of its own already.
        let kept = if resume_by_id.is_empty() {
            self.hand_down_kept(&ns)
        } else {
            None
        };
        let sub = SubRun {
            ns,
            fence,
            resume_by_id,
            kept,
            parents: parents_of(&scope.parents, &scope.ns, base),
            per_thread: per_thread.then(|| PerThreadCall {
                caller_ns: scope.ns.clone(),
                base: base.map(str::to_string),
                edited: scope.edited.get().cloned(),
                want_turn_start,
            }),
            replay: scope.replay.get().cloned(),
        };
        match run_nested(&graph.inner.prog, saver, input, config, events, sub).await {
            Ok(Nested::Done(state, turn_start)) => Ok((state, turn_start)),
            Ok(Nested::Paused(interrupts)) => self.raise(interrupts).await,
            Err(RunError::ParentCommand(cmd)) => Err(NodeError::new(*cmd).permanent()),
            Err(e) => Err(NodeError::new(e)),
        }
    }
}

impl Ctx {
    /// Records that this task calls the per-thread subgraph stored under `ns`; an error if
    /// another task of the superstep called it already (both would go on from one head).
    fn claim_per_thread(&self, ns: &str) -> Result<(), RunError> {
        let mut calls = self
            .step_ctx()
            .per_thread_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match calls.iter().find(|(n, _)| n == ns) {
            Some((_, task)) if task != self.task_id() => {
                Err(RunError::SharedSubgraphHistory { ns: ns.to_string() })
            }
            Some(_) => Ok(()),
            None => {
                calls.push((ns.to_string(), self.task_id().to_string()));
                Ok(())
            }
        }
    }
}

/// How a subgraph run ended.
pub(crate) enum Nested<S> {
    /// The final state, and the state its turn started from when asked for and known.
    Done(S, Option<S>),
    Paused(Vec<crate::types::Interrupt>),
}

/// A subgraph's [`Command::to_parent`], on its way to the task that called the subgraph.
#[derive(Debug, Clone)]
pub struct ParentCommand {
    /// The update, as JSON (applied to the parent's state key by key).
    pub update: Value,
    /// Destinations in the parent graph.
    pub goto: Vec<String>,
}

impl std::fmt::Display for ParentCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a subgraph node sent a command to the parent graph (goto {:?}); \
             return the error from the calling node so the parent applies it",
            self.goto
        )
    }
}

impl std::error::Error for ParentCommand {}

impl ParentCommand {
    /// The command for the parent graph.
    pub(crate) fn into_command<S: State>(self) -> Result<Command<S>, RunError> {
        let update: S::Update = serde_json::from_value(self.update)
            .map_err(|e| RunError::serde("a subgraph's command to the parent", e))?;
        let mut cmd = Command::<S>::new().update(update);
        for g in self.goto {
            cmd = cmd.and_goto(g);
        }
        Ok(cmd)
    }
}

/// The update that turns `before` into `after`, channel by channel: appended items for
/// append channels whose old items are unchanged, new values for changed channels (as an
/// overwrite where a reducer would otherwise combine them), nothing for unchanged channels.
///
/// A subgraph with the parent's state type hands back only what it changed. (LangGraph
/// hands back its whole final state, so a list shared with the parent gets the parent's
/// items appended a second time; we do not.)
pub(crate) fn delta_update<S: State>(before: &S, after: &S) -> Result<S::Update, RunError> {
    let err = |e: serde_json::Error| RunError::serde("a subgraph's changes", e);
    let mut obj = Map::new();
    let mut overwrite: Vec<Value> = Vec::new();
    for (i, c) in S::info().channels.iter().enumerate() {
        let old = before.channel_to_json(i).map_err(err)?;
        let new = after.channel_to_json(i).map_err(err)?;
        if old == new {
            continue;
        }
        let name = c.name.to_string();
        match c.reducer {
            ReducerKind::LastValue | ReducerKind::Ephemeral => {
                obj.insert(name, new);
            }
            ReducerKind::Append | ReducerKind::AddMessages => match (&old, &new) {
                (Value::Array(o), Value::Array(n))
                    if n.len() >= o.len() && n[..o.len()] == o[..] =>
                {
                    obj.insert(name, Value::Array(n[o.len()..].to_vec()));
                }
                (Value::String(o), Value::String(n)) if n.starts_with(o.as_str()) => {
                    obj.insert(name, Value::String(n[o.len()..].to_string()));
                }
                _ => {
                    obj.insert(name.clone(), new);
                    overwrite.push(Value::String(name));
                }
            },
            ReducerKind::Merge | ReducerKind::Custom => {
                obj.insert(name.clone(), new);
                overwrite.push(Value::String(name));
            }
        }
    }
    if !overwrite.is_empty() {
        obj.insert("__overwrite__".into(), Value::Array(overwrite));
    }
    serde_json::from_value(Value::Object(obj)).map_err(err)
}

/// A compiled graph with the parent's state type, run as a node: it starts from the parent's
/// state and hands back what it changed ([`delta_update`]).
pub(crate) struct SubgraphNode<S: State> {
    pub(crate) graph: CompiledGraph<S, S>,
}

impl<S: State> SubgraphNode<S> {
    async fn run(&self, state: &S, ctx: &Ctx) -> Result<S::Update, NodeError> {
        // The whole state, as an update of the subgraph's empty state.
        let json = state.to_json().map_err(NodeError::new)?;
        let input = Input::Update(serde_json::from_value(json).map_err(NodeError::new)?);
        // A per-thread subgraph hands back what its nodes changed in this turn; its history
        // holds earlier turns the caller's state does not show.
        let per_thread = self.graph.inner.persistence == Persistence::PerThread;
        let (after, turn_start) = ctx.invoke_turn(&self.graph, input, per_thread).await?;
        delta_update(turn_start.as_ref().unwrap_or(state), &after).map_err(NodeError::new)
    }
}

impl<S: State> ErasedNode<S> for SubgraphNode<S> {
    fn call<'a>(&'a self, input: TaskInput<'a, S>, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        NodeFuture::boxed(async move {
            let state = match input {
                TaskInput::State(s) => s,
                TaskInput::Arg(a) => state_arg::<S>(a).ok_or_else(|| {
                    NodeError::msg("payload type mismatch (checked before the call)")
                })?,
            };
            self.run(state, ctx).await.map(NodeOutput::Update)
        })
    }
    fn input_kind(&self) -> InputKind {
        InputKind::State
    }
    fn accepts(&self, input: &TaskInput<'_, S>) -> Result<(), String> {
        accepts_state(input)
    }
    fn decode_arg(&self, value: Value) -> Result<Arc<dyn SendArg>, serde_json::Error> {
        decode_state_arg::<S>(value)
    }
}

/// Answers to a subgraph's pending interrupts among `answers` (by interrupt id).
pub(crate) fn answers_for(
    pending: &[crate::types::Interrupt],
    answers: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    pending
        .iter()
        .filter_map(|i| answers.get(&i.id).map(|v| (i.id.clone(), v.clone())))
        .collect()
}
