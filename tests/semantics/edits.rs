//! Scenarios recorded in `reference/` about the edits of `update_state` that are not a node's
//! write: dropping the tasks due (x51, `as_node = END`, [`CompiledGraph::clear_tasks`]),
//! staging an input for a run to start from (x52, `as_node = INPUT`,
//! [`CompiledGraph::stage_input`], and a replay of an input checkpoint) and copying a
//! checkpoint to run again from (x53, `as_node = COPY`, [`CompiledGraph::copy_checkpoint`]).

use langgraph::prelude::*;
use langgraph::{COPY, CompiledGraph, INPUT};
use serde_json::Value;

use crate::common::{self, find, labels};
use crate::scenario::*;

/// START -> p (asks "p?") -> END; START -> q -> r -> END.
fn asks_beside_a_chain(log: &crate::common::Log) -> CompiledGraph<P> {
    StateGraph::<P>::new()
        .node("p", asking(log, "p", "p?"))
        .node("q", mk(log, "q"))
        .node("r", mk(log, "r"))
        .edge(START, "p")
        .edge(START, "q")
        .edge("q", "r")
        .edge("p", END)
        .edge("r", END)
        .saved()
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fan {
    pub items: Vec<i64>,
    #[reducer(append)]
    pub path: Vec<String>,
}

/// START -> plan -(a send to work per item)-> work -> END, paused before work.
fn fan_out(log: &crate::common::Log) -> CompiledGraph<Fan> {
    let (lp, lw) = (log.clone(), log.clone());
    StateGraph::<Fan>::new()
        .node("plan", move |_: &Fan, ctx: &Ctx| {
            lp.add(ctx, "plan");
            FanUpdate::new().path(vec!["plan".into()])
        })
        .node_with_input("work", move |item: i64, ctx: &Ctx| {
            lw.add_with(ctx, "work", serde_json::json!({"item": item}));
            FanUpdate::new().path(vec![format!("w{item}")])
        })
        .edge(START, "plan")
        .route(
            "plan",
            |s: &Fan| Route::send_all(s.items.iter().map(|&i| SendTo::new("work", i))),
            ["work"],
        )
        .edge("work", END)
        .interrupt_before(["work"])
        .compile_with(InMemorySaver::new())
        .unwrap()
}

#[tokio::test]
async fn x51_clearing_the_tasks_ends_the_thread_and_keeps_finished_writes() {
    let sc = Scenario::new("x51_update_as_end_clears_tasks");
    let cfg = RunConfig::thread("t");
    let g = asks_between(&sc.log).saved();
    sc.invoke("asked", &g, PUpdate::new(), &cfg).await;
    g.clear_tasks(&cfg).await.unwrap();
    sc.state("after_end", &g, &cfg, true).await;
    sc.invoke("resumed", &g, Input::Continue, &cfg).await;
    sc.history("history", &g, &cfg).await;

    let g = linear(&sc.log).interrupt_before(["b"]).saved();
    sc.invoke("paused", &g, PUpdate::new(), &cfg).await;
    // The LangGraph spelling: `update_state(None, as_node=END)`.
    g.update_state(&cfg, PUpdate::new(), Some(END))
        .await
        .unwrap();
    sc.state("breakpoint_after_end", &g, &cfg, true).await;
    sc.invoke("breakpoint_resumed", &g, Input::Continue, &cfg)
        .await;

    // q finished beside p, which asked: q's write is kept and its edge to r fires.
    let g = asks_beside_a_chain(&sc.log);
    sc.invoke("parallel_asked", &g, PUpdate::new(), &cfg).await;
    g.clear_tasks(&cfg).await.unwrap();
    sc.state("parallel_after_end", &g, &cfg, true).await;
    sc.invoke("parallel_resumed", &g, Input::Continue, &cfg)
        .await;

    let g = linear(&sc.log).saved();
    g.clear_tasks(&cfg).await.unwrap();
    sc.state("fresh_after_end", &g, &cfg, true).await;
    sc.history("fresh_history", &g, &cfg).await;

    let g = asks_between(&sc.log).saved();
    sc.run(&g, PUpdate::new(), &cfg).await;
    let e = g
        .update_state(&cfg, path("x"), Some(END))
        .await
        .unwrap_err();
    // The reference says END is not a node; ours says what END takes.
    assert!(matches!(e, RunError::InvalidStateUpdate(_)), "{e}");
    assert!(e.to_string().contains("empty update"), "{e}");
    sc.state("with_values_state", &g, &cfg, true).await;
}

#[tokio::test]
async fn x52_a_staged_input_is_applied_by_the_run_that_goes_on_from_it() {
    let sc = Scenario::new("x52_update_as_input");
    let cfg = RunConfig::thread("t");
    let g = linear(&sc.log).saved();
    g.stage_input(&cfg, path("in")).await.unwrap();
    sc.state("fresh_state", &g, &cfg, true).await;
    sc.invoke("fresh_run", &g, Input::Continue, &cfg).await;
    sc.history("fresh_history", &g, &cfg).await;

    // The LangGraph spelling: `update_state(values, as_node="__input__")`.
    g.update_state(&cfg, path("again").x(2), Some(INPUT))
        .await
        .unwrap();
    sc.state("finished_state", &g, &cfg, true).await;
    sc.invoke("finished_run", &g, Input::Continue, &cfg).await;

    // Staged on a paused thread: START and the node that asked run in one superstep.
    let g = asks_between(&sc.log).saved();
    sc.run(&g, PUpdate::new(), &cfg).await;
    g.stage_input(&cfg, path("new")).await.unwrap();
    sc.state("paused_state", &g, &cfg, true).await;
    sc.invoke("paused_run", &g, Input::Continue, &cfg).await;

    // An empty input is an input too.
    let g = linear(&sc.log).saved();
    g.stage_input(&cfg, PUpdate::new()).await.unwrap();
    sc.history("empty_history", &g, &cfg).await;

    // An edit as a node on top of a staged input replaces it.
    let g = linear(&sc.log).saved();
    g.stage_input(&cfg, path("in")).await.unwrap();
    g.update_state(&cfg, path("edit"), Some("a")).await.unwrap();
    sc.state("edited_state", &g, &cfg, true).await;
    sc.invoke("edited_run", &g, Input::Continue, &cfg).await;

    // A run on the returned configuration (it names the staged checkpoint) forks it first.
    let g = linear(&sc.log).saved();
    let named = g.stage_input(&cfg, path("in")).await.unwrap();
    sc.invoke("named_run", &g, Input::Continue, &named).await;
    sc.history("named_history", &g, &cfg).await;
}

#[tokio::test]
async fn x52_replay_of_an_input_checkpoint_runs_start_again() {
    let sc = Scenario::new("x52_update_as_input");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    sc.run(&g, path("in"), &cfg).await;
    let c0 = find(&g, &cfg, |s| s.next == ["__start__"]).await;
    sc.invoke(
        "replay_input",
        &g,
        Input::Continue,
        &cfg.clone().checkpoint_id(c0),
    )
    .await;
    sc.history("replay_history", &g, &cfg).await;
}

#[tokio::test]
async fn x53_a_copy_of_a_checkpoint_runs_its_tasks_again_on_a_new_branch() {
    let sc = Scenario::new("x53_copy_a_checkpoint");
    let cfg = RunConfig::thread("t");
    let g = linear(&sc.log).saved();
    sc.run(&g, PUpdate::new(), &cfg).await;
    let c2 = find(&g, &cfg, |s| s.next == ["b"]).await;
    let copy = g
        .copy_checkpoint(&cfg.clone().checkpoint_id(c2))
        .await
        .unwrap();
    let lab = labels(&g, &cfg).await;
    let id = copy.checkpoint_id.clone().unwrap();
    sc.check("copy_label", &Value::String(lab[&id].clone()));
    sc.state("copy_state", &g, &copy, true).await;
    sc.invoke("copy_run", &g, Input::Continue, &copy).await;
    sc.history("history", &g, &cfg).await;

    let g = asks_between(&sc.log).saved();
    sc.run(&g, PUpdate::new(), &cfg).await;
    // The LangGraph spelling, as a JSON client sends it: `null` values, `as_node="__copy__"`.
    let copy = g
        .update_state_json(&cfg, Value::Null, Some(COPY))
        .await
        .unwrap();
    sc.state("asked_copy_state", &g, &copy, true).await;
    sc.invoke("asked_copy_run", &g, Input::Continue, &copy)
        .await;

    // Pending sends: a copy keeps them with their arguments; dropping the tasks drops them.
    let g = fan_out(&sc.log);
    sc.run(&g, FanUpdate::new().items(vec![1, 2, 3]), &cfg)
        .await;
    let copy = g.copy_checkpoint(&cfg).await.unwrap();
    sc.state("sends_copy_state", &g, &copy, true).await;
    sc.invoke("sends_copy_run", &g, Input::Continue, &copy)
        .await;
    let g = fan_out(&sc.log);
    sc.run(&g, FanUpdate::new().items(vec![1, 2, 3]), &cfg)
        .await;
    g.clear_tasks(&cfg).await.unwrap();
    sc.state("sends_cleared_state", &g, &cfg, true).await;
    sc.invoke("sends_cleared_run", &g, Input::Continue, &cfg)
        .await;

    let g = linear(&sc.log).saved();
    let e = g.copy_checkpoint(&cfg).await.unwrap_err();
    assert_eq!(
        common::error_type(&e),
        sc.at("fresh.error_type").as_str().unwrap()
    );
    assert!(e.to_string().contains("no checkpoint to copy"), "{e}");
}

#[tokio::test]
async fn a_special_edit_must_be_alone_and_only_an_input_carries_values() {
    let log = crate::common::Log::new();
    let g = linear(&log).saved();
    let cfg = RunConfig::thread("t");
    g.invoke(PUpdate::new(), &cfg).await.unwrap();
    let before = g.get_state(&cfg).await.unwrap().checkpoint_id;
    for bad in [
        vec![vec![(PUpdate::new(), Some(COPY)), (path("x"), Some("a"))]],
        vec![vec![(path("x"), Some(INPUT))], vec![(path("y"), Some("a"))]],
    ] {
        let e = g.bulk_update_state(&cfg, bad).await.unwrap_err();
        assert!(e.to_string().contains("only edit"), "{e}");
    }
    let e = g
        .update_state(&cfg, path("x"), Some(COPY))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("empty update"), "{e}");
    // Nothing was stored.
    assert_eq!(g.get_state(&cfg).await.unwrap().checkpoint_id, before);
    // A node cannot take these names.
    for name in [INPUT, COPY] {
        let e = StateGraph::<P>::new()
            .node(name, mk(&log, "n"))
            .edge(START, name)
            .edge(name, END)
            .compile()
            .unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }
}
