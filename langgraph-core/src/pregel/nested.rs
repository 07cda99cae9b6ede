//! Starting a subgraph run: fresh, resumed from its own checkpoint, a new turn of a
//! per-thread subgraph, or (when it already finished) not at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use langgraph_checkpoint::{Checkpointer, Fence};
use serde_json::Value;
use tracing::Instrument;

use super::events::EventTx;
use super::persist::load_state;
use super::plan::Program;
use super::run_loop::Loop;
use super::start::{run_span, scope_of};
use crate::config::RunConfig;
use crate::error::RunError;
use crate::persistence::{
    PerThreadCall, Replay, Start, per_thread_start, turn_start as turn_start_of,
};
use crate::snapshot::StateSnapshot;
use crate::state::State;
use crate::subgraph::{Nested, answers_for};
use crate::types::{Command, Input};

/// Where a subgraph run stores and what it knows from its calling task.
pub(crate) struct SubRun {
    /// Its namespace.
    pub(crate) ns: String,
    /// The parent run's fence (the subgraph writes under it).
    pub(crate) fence: Option<Fence>,
    /// Answers the parent received for the subgraph's interrupts, by id.
    pub(crate) resume_by_id: BTreeMap<String, Value>,
    /// An answer the parent kept while nothing was asked, for the subgraph's next question.
    pub(crate) kept: Option<Value>,
    /// The checkpoints of the enclosing graphs, by namespace (the caller's among them).
    pub(crate) parents: BTreeMap<String, String>,
    /// For a per-thread subgraph: the call (see [`per_thread_start`]).
    pub(crate) per_thread: Option<PerThreadCall>,
    /// The replay the caller is part of, if any.
    pub(crate) replay: Option<Arc<Replay>>,
}

/// Runs a program as a subgraph: fresh, resumed from its own checkpoint, or (when it already
/// finished) not at all.
pub(crate) async fn run_nested<S: State>(
    prog: &Program<S>,
    saver: Option<Arc<dyn Checkpointer>>,
    input: Input<S>,
    config: RunConfig,
    events: Option<EventTx<S>>,
    sub: SubRun,
) -> Result<Nested<S>, RunError> {
    let mut config = config;
    let mut start_empty = false;
    // The state the turn started from, when wanted and the run goes on with a started turn.
    let mut turn_start: Option<S> = None;
    let thread_id = config.thread_id.clone();
    let input = match (&saver, &thread_id) {
        (Some(s), Some(thread)) => {
            let head = s.head(thread, &sub.ns).await?.checkpoint;
            let start = match &sub.per_thread {
                Some(call) => {
                    let replay = sub.replay.as_deref();
                    per_thread_start(&**s, thread, &sub.ns, head.as_ref(), call, replay).await?
                }
                None => Start::GoOn,
            };
            match (start, head) {
                (_, None) | (Start::NewTurn, _) => input,
                (Start::From(then), Some(_)) => {
                    start_empty = then.is_none();
                    config.checkpoint_id = then;
                    input
                }
                (Start::GoOn, Some(mut t)) => {
                    if let Some(call) = sub.per_thread.as_ref().filter(|c| c.want_turn_start) {
                        let from = turn_start_of(&**s, thread, &sub.ns, &call.caller_ns, &t);
                        turn_start = from.await?.map(|mut f| load_state(&mut f)).transpose()?;
                    }
                    if t.checkpoint.next.is_empty() && t.checkpoint.sends.is_empty() {
                        return Ok(Nested::Done(load_state(&mut t)?, turn_start));
                    }
                    let snap = StateSnapshot::<S>::from_tuple(t, true)?;
                    let answers = answers_for(&snap.interrupts, &sub.resume_by_id);
                    if answers.is_empty() {
                        Input::Continue
                    } else {
                        Input::Command(Command::resume_by_id(answers))
                    }
                }
            }
        }
        _ => input,
    };
    let span = run_span(prog, &config, &sub.ns);
    let mut scope = scope_of(config, sub.ns, events.as_ref(), saver.as_ref(), sub.fence);
    scope.parents = sub.parents;
    scope.start_empty = start_empty;
    if let Some(r) = sub.replay {
        let _ = scope.replay.set(r);
    }
    let scope = Arc::new(scope);
    let want_turn_start = sub.per_thread.as_ref().is_some_and(|c| c.want_turn_start);
    let body = async move {
        let mut lp = Loop::new(prog, scope, None, events);
        let new_input = matches!(input, Input::Update(_));
        match saver {
            None => lp.start_fresh(input)?,
            Some(s) => lp.start_durable(s, input).await?,
        }
        if want_turn_start && new_input {
            turn_start = Some(lp.state.clone());
        }
        if let Some(answer) = sub.kept {
            lp.keep_answer(answer);
        }
        lp.flush_events().await;
        let f = lp.drive().await?;
        Ok::<_, RunError>((f, turn_start))
    };
    let (f, turn_start) = match span {
        Some(span) => body.instrument(span).await?,
        None => body.await?,
    };
    Ok(if f.paused {
        Nested::Paused(f.interrupts)
    } else {
        Nested::Done(f.state, turn_start)
    })
}
