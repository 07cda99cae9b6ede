//! A harness for the scenarios recorded in `reference/` (modules `resume` and `threads`): one
//! value holds a scenario's expected observations and its execution log, so that a step of a
//! test is one line; and the graphs those scenarios share (the same as `reference/_graphs.py`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use langgraph::prelude::*;
use langgraph::{CompiledGraph, FromState};
use serde_json::{Value, json};

use crate::common::{self, Log, at, check, matches};

/// A scenario's expected observations and the log its nodes write to.
pub struct Scenario {
    pub exp: Value,
    pub log: Log,
}

impl Scenario {
    pub fn new(name: &str) -> Self {
        Self {
            exp: common::expected(name),
            log: Log::new(),
        }
    }

    /// The expected observation at `key`.
    pub fn at(&self, key: &str) -> &Value {
        at(&self.exp, key)
    }

    /// Checks `actual` against the observation at `key`.
    #[track_caller]
    pub fn check(&self, key: &str, actual: &Value) {
        check(&self.exp, key, actual);
    }

    /// Invokes, checks the result (or error) and the execution log, and returns them. The log
    /// carries the extra fields nodes logged when the expected one does.
    pub async fn invoke<S, O>(
        &self,
        key: &str,
        g: &CompiledGraph<S, O>,
        input: impl Into<Input<S>>,
        cfg: &RunConfig,
    ) -> Value
    where
        S: State,
        O: FromState<S> + Serialize,
    {
        let extra = self.at(key)["exec"].as_array().is_some_and(|steps| {
            steps.iter().any(|s| {
                s["nodes"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(Value::is_object))
            })
        });
        let r = common::invoke(g, input, cfg, &self.log, extra).await;
        check(&self.exp, key, &r);
        r
    }

    /// Invokes without checking (for a step the test checks in parts).
    pub async fn run<S, O>(
        &self,
        g: &CompiledGraph<S, O>,
        input: impl Into<Input<S>>,
        cfg: &RunConfig,
    ) -> Value
    where
        S: State,
        O: FromState<S> + Serialize,
    {
        common::invoke(g, input, cfg, &self.log, false).await
    }

    /// Checks `get_state` (with its tasks and interrupts when `with_tasks`).
    pub async fn state<S: State, O: FromState<S>>(
        &self,
        key: &str,
        g: &CompiledGraph<S, O>,
        cfg: &RunConfig,
        with_tasks: bool,
    ) {
        check(&self.exp, key, &common::state(g, cfg, with_tasks).await);
    }

    /// Checks the compact history (see [`compact_history`]).
    pub async fn history<S: State, O: FromState<S>>(
        &self,
        key: &str,
        g: &CompiledGraph<S, O>,
        cfg: &RunConfig,
    ) {
        let actual = compact_history(g, cfg).await;
        same_history(self.at(key), actual);
    }
}

/// The reference's compact history, newest first: `[id, parent, step, source, next, path]`.
pub async fn compact_history<S: State, O: FromState<S>>(
    g: &CompiledGraph<S, O>,
    cfg: &RunConfig,
) -> Value {
    json!(
        common::history(g, cfg, false)
            .await
            .iter()
            .map(|h| json!([
                h["id"],
                h["parent"],
                h["step"],
                h["source"],
                h["next"],
                h["values"]["path"]
            ]))
            .collect::<Vec<_>>()
    )
}

/// Compares compact histories; `next` of a parallel superstep is listed in edge order by the
/// reference and by name here.
pub fn same_history(expected: &Value, mut actual: Value) {
    let mut e = expected.clone();
    for h in e
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .chain(actual.as_array_mut().unwrap())
    {
        h[4].as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    }
    if let Err(err) = matches(&e, &actual) {
        panic!("history differs: {err}\n  expected: {e}\n  actual:   {actual}");
    }
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub struct P {
    pub x: i64,
    #[reducer(append)]
    pub path: Vec<String>,
}

/// A node that logs its run and appends its name.
pub fn mk(log: &Log, name: &'static str) -> impl Fn(&P, &Ctx) -> PUpdate + use<> {
    let log = log.clone();
    move |_: &P, ctx: &Ctx| {
        log.add(ctx, name);
        PUpdate::new().path(vec![name.to_string()])
    }
}

/// START -> a -> b -> c -> END.
pub fn linear(log: &Log) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("a", mk(log, "a"))
        .node("b", mk(log, "b"))
        .node("c", mk(log, "c"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
}

/// START -> s1 -> s2 -> END (a subgraph for the parents of the scenarios).
pub fn linear_pair(log: &Log) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("s1", mk(log, "s1"))
        .node("s2", mk(log, "s2"))
        .edge(START, "s1")
        .edge("s1", "s2")
        .edge("s2", END)
}

/// START -> s1 -> ask -> s3 -> END, where ask asks "sub approve?" (a subgraph).
pub fn asking_subgraph(log: &Log) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("s1", mk(log, "s1"))
        .node("ask", asking(log, "ask", "sub approve?"))
        .node("s3", mk(log, "s3"))
        .edge(START, "s1")
        .edge("s1", "ask")
        .edge("ask", "s3")
        .edge("s3", END)
}

/// START -> a -> child -> b -> END, where child is the same-state subgraph `sub`.
pub fn with_child(log: &Log, sub: CompiledGraph<P>) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("a", mk(log, "a"))
        .subgraph("child", sub)
        .node("b", mk(log, "b"))
        .edge(START, "a")
        .edge("a", "child")
        .edge("child", "b")
        .edge("b", END)
}

/// The future of a node that asks.
pub type Asking = std::pin::Pin<Box<dyn Future<Output = Result<PUpdate, NodeError>> + Send>>;

/// A node that logs its start, asks `question` and appends `name:answer`.
pub fn asking(
    log: &Log,
    name: &'static str,
    question: &'static str,
) -> impl Fn(&P, Ctx) -> Asking + use<> {
    let log = log.clone();
    move |_: &P, ctx: Ctx| {
        let log = log.clone();
        Box::pin(async move {
            log.add(&ctx, name);
            let v: String = ctx.interrupt(question).await?;
            Ok(PUpdate::new().path(vec![format!("{name}:{v}")]))
        })
    }
}

/// A node that asks q1, logs the answer (`got`), asks q2 and appends `two:a:b`.
pub fn two_questions(log: &Log) -> impl Fn(&P, Ctx) -> Asking + use<> {
    let log = log.clone();
    move |_: &P, ctx: Ctx| {
        let log = log.clone();
        Box::pin(async move {
            log.add(&ctx, "two");
            let a: String = ctx.interrupt("q1").await?;
            log.add_with(&ctx, "two", json!({"got": a}));
            let b: String = ctx.interrupt("q2").await?;
            Ok(PUpdate::new().path(vec![format!("two:{a}:{b}")]))
        })
    }
}

/// START -> a -> ask -> b -> END, where ask asks "ok?".
pub fn asks_between(log: &Log) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("a", mk(log, "a"))
        .node("ask", asking(log, "ask", "ok?"))
        .node("b", mk(log, "b"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", "b")
        .edge("b", END)
}

/// START -> p, q -> END, where p asks "p?" and q asks "q?".
pub fn parallel_askers(log: &Log) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node("p", asking(log, "p", "p?"))
        .node("q", asking(log, "q", "q?"))
        .edge(START, "p")
        .edge(START, "q")
        .edge("p", END)
        .edge("q", END)
}

/// START -> good, bad -> END; bad fails on its first run, after good finished.
pub fn good_and_bad(log: &Log) -> CompiledGraph<P> {
    let (lg, lb) = (log.clone(), log.clone());
    let fails = Arc::new(AtomicUsize::new(0));
    StateGraph::new()
        .node("good", move |_: &P, ctx: &Ctx| {
            lg.add(ctx, "good");
            PUpdate::new().path(vec!["good".into()])
        })
        .node("bad", move |_: &P, ctx: Ctx| {
            let (log, fails) = (lb.clone(), fails.clone());
            async move {
                log.add(&ctx, "bad");
                // Let good finish first, so that its write is kept when bad fails.
                tokio::task::yield_now().await;
                if fails.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(NodeError::msg("boom"));
                }
                Ok(PUpdate::new().path(vec!["bad".into()]))
            }
        })
        .edge(START, "good")
        .edge(START, "bad")
        .edge("good", END)
        .edge("bad", END)
        .saved()
}

/// A node that logs its run and fails on its first run only ("boom").
pub fn flaky(log: &Log) -> impl Fn(&P, &Ctx) -> Result<PUpdate, NodeError> + use<> {
    let (log, fails) = (
        log.clone(),
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    move |_: &P, ctx: &Ctx| {
        log.add(ctx, "flaky");
        if fails.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Err(NodeError::msg("boom"));
        }
        Ok(path("flaky"))
    }
}

/// An append to `path`.
pub fn path(item: &str) -> PUpdate {
    PUpdate::new().path(vec![item.to_string()])
}

/// `compile_with(InMemorySaver::new())` for a graph the scenario knows to be valid.
pub trait Saved<S: State> {
    fn saved(self) -> CompiledGraph<S>;
}

impl<S: State + FromState<S>> Saved<S> for StateGraph<S> {
    fn saved(self) -> CompiledGraph<S> {
        self.compile_with(InMemorySaver::new()).unwrap()
    }
}
