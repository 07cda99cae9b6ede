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

#[tokio::test]
async fn x12_replaying_a_failed_superstep_by_id_reruns_all_its_tasks_on_a_fork() {
    let exp = expected("x12_replay_of_a_failed_superstep");
    let log = Log::new();
    let g = good_and_bad(&log);
    let cfg = RunConfig::thread("t");
    let r = invoke(&g, PUpdate::new(), &cfg, &log, false).await;
    // The reference reports the node's own exception class; ours wraps it in a node error.
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    check(&exp, "run.exec", &r["exec"]);
    let c1 = find(&g, &cfg, |s| s.next.len() == 2).await;
    check(
        &exp,
        "replay_c1",
        &invoke(
            &g,
            Input::Continue,
            &cfg.clone().checkpoint_id(c1),
            &log,
            false,
        )
        .await,
    );
    check_sorted_next(at(&exp, "history"), hist(&g, &cfg).await);
}

#[tokio::test]
async fn x13_naming_the_head_replays_it_on_a_fork_and_a_resume_answers_it_in_place() {
    let exp = expected("x13_named_head_checkpoint");
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
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    check(
        &exp,
        "continue_with_head_id",
        &invoke(
            &g,
            Input::Continue,
            &cfg.clone().checkpoint_id(head),
            &log,
            false,
        )
        .await,
    );
    check(&exp, "history", &hist(&g, &cfg).await);

    let g = StateGraph::new()
        .node("a", mk(&log, "a"))
        .node("ask", asking(&log, "ask", "ok?"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    check(
        &exp,
        "ask_run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    check(
        &exp,
        "resume_with_head_id",
        &invoke(
            &g,
            Command::resume("y"),
            &cfg.clone().checkpoint_id(head),
            &log,
            false,
        )
        .await,
    );
    check(&exp, "ask_history", &hist(&g, &cfg).await);

    // The head written by `update_state`, named again after a run from it failed with a
    // finished sibling: not copied, but both tasks run again.
    let g = good_and_bad(&log);
    let seeded = g
        .update_state(&cfg, PUpdate::new().path(vec!["seed".into()]), None)
        .await
        .unwrap();
    let r = invoke(&g, Input::Continue, &seeded, &log, false).await;
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    check(&exp, "update_head_run.exec", &r["exec"]);
    check(
        &exp,
        "update_head_named_again",
        &invoke(&g, Input::Continue, &seeded, &log, false).await,
    );
    check_sorted_next(at(&exp, "update_head_history"), hist(&g, &cfg).await);
}

/// START -> good, bad -> END; bad fails on its first run, after good finished.
fn good_and_bad(log: &Log) -> CompiledGraph<crate::resume::P> {
    let (lg, lb) = (log.clone(), log.clone());
    let fails = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    StateGraph::new()
        .node("good", move |_: &crate::resume::P, ctx: &Ctx| {
            lg.add(ctx, "good");
            PUpdate::new().path(vec!["good".into()])
        })
        .node("bad", move |_: &crate::resume::P, ctx: Ctx| {
            let (log, fails) = (lb.clone(), fails.clone());
            async move {
                log.add(&ctx, "bad");
                // Let good finish first, so that its write is kept when bad fails.
                tokio::task::yield_now().await;
                if fails.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return Err(NodeError::msg("boom"));
                }
                Ok(PUpdate::new().path(vec!["bad".into()]))
            }
        })
        .edge(START, "good")
        .edge(START, "bad")
        .edge("good", END)
        .edge("bad", END)
        .compile_with(InMemorySaver::new())
        .unwrap()
}

/// Compares compact histories; `next` of a parallel superstep is listed in edge order by the
/// reference and by name here.
fn check_sorted_next(expected: &serde_json::Value, mut actual: serde_json::Value) {
    let mut e = expected.clone();
    for h in e
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .chain(actual.as_array_mut().unwrap())
    {
        h[4].as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    }
    matches(&e, &actual).unwrap();
}

#[tokio::test]
async fn x15_exit_durability_stores_one_checkpoint_per_invoke() {
    let exp = expected("x15_durability_exit_history");
    let log = Log::new();
    for (name, d) in [
        ("exit", Durability::Exit),
        ("async", Durability::Async),
        ("sync", Durability::Sync),
    ] {
        let g = linear(&log).compile_with(InMemorySaver::new()).unwrap();
        let cfg = RunConfig::thread("t").durability(d);
        check(
            &exp,
            &format!("{name}_run"),
            &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
        );
        check(&exp, &format!("{name}_history"), &hist(&g, &cfg).await);
    }
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
    let cfg = RunConfig::thread("t").durability(Durability::Exit);
    check(
        &exp,
        "ask_run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    check(&exp, "ask_state", &state(&g, &cfg, true).await);
    check(&exp, "ask_history", &hist(&g, &cfg).await);
    check(
        &exp,
        "ask_resume",
        &invoke(&g, Command::resume("y"), &cfg, &log, false).await,
    );
    check(&exp, "ask_history2", &hist(&g, &cfg).await);
    check(
        &exp,
        "turn2",
        &invoke(
            &g,
            PUpdate::new().path(vec!["t2".into()]),
            &cfg,
            &log,
            false,
        )
        .await,
    );
    check(&exp, "turn2_history", &hist(&g, &cfg).await);
}

mod x17 {
    use langgraph::prelude::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub items: Vec<i64>,
        #[reducer(append)]
        pub path: Vec<String>,
    }
}

#[tokio::test]
async fn x17_sends_pending_at_a_breakpoint_are_resumed_and_replayed_with_their_arguments() {
    use x17::{S, SUpdate};
    let exp = expected("x17_replay_of_sends");
    let log = Log::new();
    let (lp, lw) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node("plan", move |_: &S, ctx: &Ctx| {
            lp.add(ctx, "plan");
            SUpdate::new().path(vec!["plan".into()])
        })
        .node_with_input("work", move |item: i64, ctx: &Ctx| {
            lw.add_with(ctx, "work", serde_json::json!({"item": item}));
            SUpdate::new().path(vec![format!("w{item}")])
        })
        .edge(START, "plan")
        .route(
            "plan",
            |s: &S| Route::send_all(s.items.iter().map(|&i| SendTo::new("work", i))),
            ["work"],
        )
        .edge("work", END)
        .interrupt_before(["work"])
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let input = SUpdate::new().items(vec![1, 2, 3]);
    check(&exp, "run", &invoke(&g, input, &cfg, &log, false).await);
    check(&exp, "state", &state(&g, &cfg, true).await);
    check(
        &exp,
        "resume",
        &invoke(&g, Input::Continue, &cfg, &log, true).await,
    );
    let compact = |h: Vec<serde_json::Value>| {
        serde_json::json!(
            h.iter()
                .map(|h| serde_json::json!([
                    h["id"],
                    h["parent"],
                    h["step"],
                    h["source"],
                    h["next"],
                    h["values"]["path"]
                ]))
                .collect::<Vec<_>>()
        )
    };
    check(&exp, "history", &compact(history(&g, &cfg, false).await));
    let c2 = find(&g, &cfg, |s| s.next.len() == 3).await;
    check(
        &exp,
        "replay_c2",
        &invoke(
            &g,
            Input::Continue,
            &cfg.clone().checkpoint_id(c2),
            &log,
            true,
        )
        .await,
    );
    check(&exp, "history2", &compact(history(&g, &cfg, false).await));
}
