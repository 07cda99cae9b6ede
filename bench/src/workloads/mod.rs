//! The workloads, one module per group, and the states they share.

pub(crate) mod core;
pub(crate) mod floors;
pub(crate) mod probe;
pub(crate) mod storage;

use langgraph::prelude::*;

/// `counter: int` (last value): W1, W2, W7, W8, W10.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Counter {
    pub(crate) counter: i64,
}

pub(crate) async fn ainc(s: &Counter) -> CounterUpdate {
    CounterUpdate::new().counter(s.counter + 1)
}

pub(crate) fn inc(s: &Counter) -> CounterUpdate {
    CounterUpdate::new().counter(s.counter + 1)
}

/// Supersteps of the W2 loop.
pub(crate) const LOOP_STEPS: i64 = 100;

/// W2: `START -> step`, route back to `step` while `counter < 100`.
pub(crate) fn build_loop(async_nodes: bool) -> StateGraph<Counter> {
    let g = StateGraph::<Counter>::new();
    let g = if async_nodes {
        g.node("step", ainc)
    } else {
        g.node("step", inc)
    };
    g.edge(START, "step").route(
        "step",
        |s: &Counter| if s.counter < LOOP_STEPS { "step" } else { END },
        ["step", END],
    )
}

/// W1: `START -> n1 -> n2 -> n3 -> END`.
pub(crate) fn build_linear(async_nodes: bool) -> CompiledGraph<Counter> {
    let mut g = StateGraph::<Counter>::new();
    for n in ["n1", "n2", "n3"] {
        g = if async_nodes {
            g.node(n, ainc)
        } else {
            g.node(n, inc)
        };
    }
    let g = g
        .edge(START, "n1")
        .edge("n1", "n2")
        .edge("n2", "n3")
        .edge("n3", END)
        .compile();
    g.unwrap_or_else(|e| panic!("W1 graph: {e}"))
}

/// Benchmark options.
#[derive(Clone, Debug)]
pub(crate) struct Opts {
    pub(crate) reps: usize,
    pub(crate) warmup: usize,
    pub(crate) quick: bool,
}

impl Opts {
    pub(crate) fn n(&self, n: usize) -> usize {
        if self.quick { (n / 10).max(1) } else { n }
    }
}

/// A single-threaded runtime, like one Python event loop.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}
