//! Scenarios recorded in `reference/` (x03, x04, x06, x07): a thread's life across invokes:
//! turns, new input on a paused thread, replay without interrupts, edits at a breakpoint.

use langgraph::prelude::*;
use langgraph::{CompiledGraph, ListOptions};

use crate::common::*;
use crate::resume::{PUpdate, asking, hist, linear, mk};

#[tokio::test]
async fn x03_replay_without_interrupt_reruns_the_later_nodes_on_a_fork() {
    let exp = expected("x03_replay_without_interrupt");
    let log = Log::new();
    let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    let c2 = find(&g, &cfg, |s| s.next == ["b"]).await;
    check(
        &exp,
        "replay_c2",
        &invoke(
            &g,
            Input::Continue,
            &cfg.clone().checkpoint_id(c2),
            &log,
            false,
        )
        .await,
    );
    check(&exp, "history", &hist(&g, &cfg).await);
    check(&exp, "state", &state(&g, &cfg, true).await);
}

#[tokio::test]
async fn x04_new_input_on_a_paused_thread_starts_a_new_turn() {
    let exp = expected("x04_new_input_on_paused_thread");
    let log = Log::new();
    let g = StateGraph::new()
        .node("a", mk(&log, "a"))
        .node("ask", asking(&log, "ask", "ok?"))
        .node("b", mk(&log, "b"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let input = |p: &str| PUpdate::new().path(vec![p.to_string()]);
    check(
        &exp,
        "run",
        &invoke(&g, input("in"), &cfg, &log, false).await,
    );
    check(
        &exp,
        "new_input",
        &invoke(&g, input("in2"), &cfg, &log, false).await,
    );
    check(&exp, "state", &state(&g, &cfg, true).await);
    check(&exp, "history", &hist(&g, &cfg).await);

    let g = linear(&log)
        .interrupt_before(["b"])
        .compile_with(InMemorySaver::new())
        .unwrap();
    check(
        &exp,
        "static_run",
        &invoke(&g, input("in"), &cfg, &log, false).await,
    );
    check(
        &exp,
        "static_new_input",
        &invoke(&g, input("in2"), &cfg, &log, false).await,
    );
    check(&exp, "static_state", &state(&g, &cfg, true).await);
    check(&exp, "static_history", &hist(&g, &cfg).await);
}

#[tokio::test]
async fn x06_a_thread_keeps_its_state_and_step_counter_across_turns() {
    let exp = expected("x06_multi_turn_thread");
    let log = Log::new();
    let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
    let cfg = RunConfig::thread("t");
    let input = |p: &str| PUpdate::new().path(vec![p.to_string()]);
    check(
        &exp,
        "turn1",
        &invoke(&g, input("u1"), &cfg, &log, false).await,
    );
    check(
        &exp,
        "turn2",
        &invoke(&g, input("u2"), &cfg, &log, false).await,
    );
    check(&exp, "history", &hist(&g, &cfg).await);
}

#[tokio::test]
async fn x07_an_edit_at_a_breakpoint_is_seen_by_the_resumed_run() {
    let exp = expected("x07_edit_at_breakpoint");
    let log = Log::new();
    let g = linear(&log)
        .interrupt_before(["b"])
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    g.update_state(&cfg, PUpdate::new().path(vec!["edit".into()]), None)
        .await
        .unwrap();
    check(&exp, "state_after_update", &state(&g, &cfg, true).await);
    check(
        &exp,
        "resume",
        &invoke(&g, Input::Continue, &cfg, &log, false).await,
    );
    check(&exp, "history", &hist(&g, &cfg).await);
}

#[tokio::test]
async fn x08_update_state_seeds_a_fresh_thread_and_extends_a_finished_one() {
    let exp = expected("x08_update_state_on_a_fresh_or_finished_thread");
    let log = Log::new();
    let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
    let cfg = RunConfig::thread("t");
    let seed = || PUpdate::new().path(vec!["seed".into()]);
    g.update_state(&cfg, seed(), None).await.unwrap();
    check(&exp, "state_fresh", &state(&g, &cfg, true).await);
    check(
        &exp,
        "run_after",
        &invoke(&g, Input::Continue, &cfg, &log, false).await,
    );
    check(&exp, "history", &hist(&g, &cfg).await);
    let u = RunConfig::thread("u");
    g.update_state(&u, seed(), Some("a")).await.unwrap();
    check(&exp, "state_as_a", &state(&g, &u, true).await);
    check(
        &exp,
        "run_after_as_a",
        &invoke(&g, Input::Continue, &u, &log, false).await,
    );
    check(&exp, "history_u", &hist(&g, &u).await);

    let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
    check(
        &exp,
        "finished_run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    g.update_state(&cfg, PUpdate::new().path(vec!["late".into()]), None)
        .await
        .unwrap();
    check(&exp, "finished_state", &state(&g, &cfg, true).await);
    check(
        &exp,
        "finished_run_none",
        &invoke(&g, Input::Continue, &cfg, &log, false).await,
    );
    check(&exp, "finished_history", &hist(&g, &cfg).await);
}

fn asks_between(log: &Log) -> CompiledGraph<crate::resume::P> {
    StateGraph::new()
        .node("a", mk(log, "a"))
        .node("ask", asking(log, "ask", "ok?"))
        .node("b", mk(log, "b"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap()
}

#[tokio::test]
async fn x09_update_state_while_a_node_waits_at_an_interrupt() {
    let exp = expected("x09_update_state_at_a_dynamic_interrupt");
    let log = Log::new();
    let cfg = RunConfig::thread("t");
    let g = asks_between(&log);
    check(
        &exp,
        "run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    g.update_state(&cfg, PUpdate::new().path(vec!["edit".into()]), None)
        .await
        .unwrap();
    check(&exp, "state_after_edit", &state(&g, &cfg, true).await);
    check(
        &exp,
        "resume",
        &invoke(&g, Command::resume("y"), &cfg, &log, false).await,
    );
    check(&exp, "state_final", &state(&g, &cfg, true).await);
    check(&exp, "history", &hist(&g, &cfg).await);

    let g = asks_between(&log);
    check(
        &exp,
        "run2",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    g.update_state(
        &cfg,
        PUpdate::new().path(vec!["ask:manual".into()]),
        Some("ask"),
    )
    .await
    .unwrap();
    check(&exp, "state_as_ask", &state(&g, &cfg, true).await);
    check(
        &exp,
        "continue",
        &invoke(&g, Input::Continue, &cfg, &log, false).await,
    );
    check(&exp, "history2", &hist(&g, &cfg).await);
}

#[tokio::test]
async fn x10_history_filters_match_run_metadata_step_and_source() {
    let exp = expected("x10_history_filters");
    let log = Log::new();
    let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "run",
        &invoke(
            &g,
            PUpdate::new(),
            &cfg.clone().metadata("user", "ann"),
            &log,
            false,
        )
        .await,
    );
    let lab = labels(&g, &cfg).await;
    let ids = |opts: ListOptions| {
        let (g, cfg, lab) = (g.clone(), cfg.clone(), lab.clone());
        async move {
            serde_json::json!(
                g.state_history(&cfg, &opts)
                    .await
                    .unwrap()
                    .iter()
                    .map(|s| lab[s.checkpoint_id.as_ref().unwrap()].clone())
                    .collect::<Vec<_>>()
            )
        }
    };
    check(
        &exp,
        "filter_step_2",
        &ids(ListOptions::new().filter("step", 2)).await,
    );
    check(
        &exp,
        "filter_user",
        &ids(ListOptions::new().filter("user", "ann")).await,
    );
    check(
        &exp,
        "filter_user_loop_limit_2",
        &ids(ListOptions::new()
            .filter("user", "ann")
            .filter("source", "loop")
            .limit(2))
        .await,
    );
    check(
        &exp,
        "filter_other_user",
        &ids(ListOptions::new().filter("user", "bob")).await,
    );
    let head = g.get_state(&cfg).await.unwrap();
    check(
        &exp,
        "head_metadata_user",
        &head.metadata.unwrap().extra["user"],
    );
}
