//! A counting state and a graph that loops over it, shared by the durability tests.

use langgraph::prelude::*;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub counter: i64,
    #[reducer(append)]
    pub log: Vec<String>,
}

/// START -> step (repeated while the counter is below `steps`) -> END.
pub fn looping(steps: i64) -> StateGraph<Counter> {
    StateGraph::<Counter>::new()
        .node("step", |s: &Counter| {
            CounterUpdate::new()
                .counter(s.counter + 1)
                .log(vec![format!("s{}", s.counter)])
        })
        .edge(START, "step")
        .route(
            "step",
            move |s: &Counter| if s.counter < steps { "step" } else { END },
            ["step", END],
        )
}

/// The thread's checkpoints, newest first.
pub async fn checkpoints(g: &CompiledGraph<Counter>, thread: &str) -> Vec<StateSnapshot<Counter>> {
    g.state_history(&RunConfig::thread(thread), &ListOptions::default())
        .await
        .unwrap()
}
