//! Scenarios recorded in `reference/` about a thread's life across invokes: replay (x03, x12,
//! x13, x17), new input on a paused thread (x04), turns (x06), edits with `update_state` (x07,
//! x08, x09), history filters (x10), durability `exit` (x15), replay from before a subgraph
//! ran (x27), a resume naming an older checkpoint (x36), `update_state` as a node whose route
//! sends (x39).

use langgraph::ListOptions;
use langgraph::prelude::*;
use serde_json::json;

use crate::common::{find, labels};
use crate::scenario::*;

#[tokio::test]
async fn x03_replay_without_interrupt_reruns_the_later_nodes_on_a_fork() {
    let sc = Scenario::new("x03_replay_without_interrupt");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    let c2 = find(&g, &cfg, |s| s.next == ["b"]).await;
    let at_c2 = cfg.clone().checkpoint_id(c2);
    sc.invoke("replay_c2", &g, Input::Continue, &at_c2).await;
    sc.history("history", &g, &cfg).await;
    sc.state("state", &g, &cfg, true).await;
}

#[tokio::test]
async fn x04_new_input_on_a_paused_thread_starts_a_new_turn() {
    let sc = Scenario::new("x04_new_input_on_paused_thread");
    let g = asks_between(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, path("in"), &cfg).await;
    sc.invoke("new_input", &g, path("in2"), &cfg).await;
    sc.state("state", &g, &cfg, true).await;
    sc.history("history", &g, &cfg).await;

    let g = linear(&sc.log).interrupt_before(["b"]).saved();
    sc.invoke("static_run", &g, path("in"), &cfg).await;
    sc.invoke("static_new_input", &g, path("in2"), &cfg).await;
    sc.state("static_state", &g, &cfg, true).await;
    sc.history("static_history", &g, &cfg).await;
}

#[tokio::test]
async fn x06_a_thread_keeps_its_state_and_step_counter_across_turns() {
    let sc = Scenario::new("x06_multi_turn_thread");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("turn1", &g, path("u1"), &cfg).await;
    sc.invoke("turn2", &g, path("u2"), &cfg).await;
    sc.history("history", &g, &cfg).await;
}

#[tokio::test]
async fn x07_an_edit_at_a_breakpoint_is_seen_by_the_resumed_run() {
    let sc = Scenario::new("x07_edit_at_breakpoint");
    let g = linear(&sc.log).interrupt_before(["b"]).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    g.update_state(&cfg, path("edit"), None).await.unwrap();
    sc.state("state_after_update", &g, &cfg, true).await;
    sc.invoke("resume", &g, Input::Continue, &cfg).await;
    sc.history("history", &g, &cfg).await;
}

#[tokio::test]
async fn x08_update_state_seeds_a_fresh_thread_and_extends_a_finished_one() {
    let sc = Scenario::new("x08_update_state_on_a_fresh_or_finished_thread");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    g.update_state(&cfg, path("seed"), None).await.unwrap();
    sc.state("state_fresh", &g, &cfg, true).await;
    sc.invoke("run_after", &g, Input::Continue, &cfg).await;
    sc.history("history", &g, &cfg).await;
    let u = RunConfig::thread("u");
    g.update_state(&u, path("seed"), Some("a")).await.unwrap();
    sc.state("state_as_a", &g, &u, true).await;
    sc.invoke("run_after_as_a", &g, Input::Continue, &u).await;
    sc.history("history_u", &g, &u).await;

    let g = linear(&sc.log).saved();
    sc.invoke("finished_run", &g, PUpdate::new(), &cfg).await;
    g.update_state(&cfg, path("late"), None).await.unwrap();
    sc.state("finished_state", &g, &cfg, true).await;
    sc.invoke("finished_run_none", &g, Input::Continue, &cfg)
        .await;
    sc.history("finished_history", &g, &cfg).await;
}

#[tokio::test]
async fn x09_update_state_while_a_node_waits_at_an_interrupt() {
    let sc = Scenario::new("x09_update_state_at_a_dynamic_interrupt");
    let cfg = RunConfig::thread("t");
    let g = asks_between(&sc.log).saved();
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    g.update_state(&cfg, path("edit"), None).await.unwrap();
    sc.state("state_after_edit", &g, &cfg, true).await;
    sc.invoke("resume", &g, Command::resume("y"), &cfg).await;
    sc.state("state_final", &g, &cfg, true).await;
    sc.history("history", &g, &cfg).await;

    let g = asks_between(&sc.log).saved();
    sc.invoke("run2", &g, PUpdate::new(), &cfg).await;
    g.update_state(&cfg, path("ask:manual"), Some("ask"))
        .await
        .unwrap();
    sc.state("state_as_ask", &g, &cfg, true).await;
    sc.invoke("continue", &g, Input::Continue, &cfg).await;
    sc.history("history2", &g, &cfg).await;
}

#[tokio::test]
async fn x10_history_filters_match_run_metadata_step_and_source() {
    let sc = Scenario::new("x10_history_filters");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    let with_user = cfg.clone().metadata("user", "ann");
    sc.invoke("run", &g, PUpdate::new(), &with_user).await;
    let lab = labels(&g, &cfg).await;
    let ids = async |opts: ListOptions| {
        let found = g.state_history(&cfg, &opts).await.unwrap();
        json!(
            found
                .iter()
                .map(|s| lab[s.checkpoint_id.as_ref().unwrap()].clone())
                .collect::<Vec<_>>()
        )
    };
    let step_2 = ListOptions::new().filter("step", 2);
    sc.check("filter_step_2", &ids(step_2).await);
    let user = ListOptions::new().filter("user", "ann");
    sc.check("filter_user", &ids(user).await);
    let loops = ListOptions::new()
        .filter("user", "ann")
        .filter("source", "loop")
        .limit(2);
    sc.check("filter_user_loop_limit_2", &ids(loops).await);
    let other = ListOptions::new().filter("user", "bob");
    sc.check("filter_other_user", &ids(other).await);
    let head = g.get_state(&cfg).await.unwrap();
    sc.check("head_metadata_user", &head.metadata.unwrap().extra["user"]);
}

#[tokio::test]
async fn x12_replaying_a_failed_superstep_by_id_reruns_all_its_tasks_on_a_fork() {
    let sc = Scenario::new("x12_replay_of_a_failed_superstep");
    let g = good_and_bad(&sc.log);
    let cfg = RunConfig::thread("t");
    let r = sc.run(&g, PUpdate::new(), &cfg).await;
    // The reference reports the node's own exception class; ours wraps it in a node error.
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    sc.check("run.exec", &r["exec"]);
    let c1 = find(&g, &cfg, |s| s.next.len() == 2).await;
    let at_c1 = cfg.clone().checkpoint_id(c1);
    sc.invoke("replay_c1", &g, Input::Continue, &at_c1).await;
    sc.history("history", &g, &cfg).await;
}

#[tokio::test]
async fn x13_naming_the_head_replays_it_on_a_fork_and_a_resume_answers_it_in_place() {
    let sc = Scenario::new("x13_named_head_checkpoint");
    let g = linear(&sc.log).interrupt_before(["b"]).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    let at_head = cfg.clone().checkpoint_id(head);
    sc.invoke("continue_with_head_id", &g, Input::Continue, &at_head)
        .await;
    sc.history("history", &g, &cfg).await;

    let g = StateGraph::new()
        .node("a", mk(&sc.log, "a"))
        .node("ask", asking(&sc.log, "ask", "ok?"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", END)
        .saved();
    sc.invoke("ask_run", &g, PUpdate::new(), &cfg).await;
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    let at_head = cfg.clone().checkpoint_id(head);
    sc.invoke("resume_with_head_id", &g, Command::resume("y"), &at_head)
        .await;
    sc.history("ask_history", &g, &cfg).await;

    // The head written by `update_state`, named again after a run from it failed with a
    // finished sibling: not copied, but both tasks run again.
    let g = good_and_bad(&sc.log);
    let seeded = g.update_state(&cfg, path("seed"), None).await.unwrap();
    let r = sc.run(&g, Input::Continue, &seeded).await;
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    sc.check("update_head_run.exec", &r["exec"]);
    sc.invoke("update_head_named_again", &g, Input::Continue, &seeded)
        .await;
    sc.history("update_head_history", &g, &cfg).await;
}

#[tokio::test]
async fn x15_exit_durability_stores_one_checkpoint_per_invoke() {
    let sc = Scenario::new("x15_durability_exit_history");
    for (name, d) in [
        ("exit", Durability::Exit),
        ("async", Durability::Async),
        ("sync", Durability::Sync),
    ] {
        let g = linear(&sc.log).saved();
        let cfg = RunConfig::thread("t").durability(d);
        sc.invoke(&format!("{name}_run"), &g, PUpdate::new(), &cfg)
            .await;
        sc.history(&format!("{name}_history"), &g, &cfg).await;
    }
    let g = asks_between(&sc.log).saved();
    let cfg = RunConfig::thread("t").durability(Durability::Exit);
    sc.invoke("ask_run", &g, PUpdate::new(), &cfg).await;
    sc.state("ask_state", &g, &cfg, true).await;
    sc.history("ask_history", &g, &cfg).await;
    sc.invoke("ask_resume", &g, Command::resume("y"), &cfg)
        .await;
    sc.history("ask_history2", &g, &cfg).await;
    sc.invoke("turn2", &g, path("t2"), &cfg).await;
    sc.history("turn2_history", &g, &cfg).await;
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
    let sc = Scenario::new("x17_replay_of_sends");
    let (lp, lw) = (sc.log.clone(), sc.log.clone());
    let g = StateGraph::<S>::new()
        .node("plan", move |_: &S, ctx: &Ctx| {
            lp.add(ctx, "plan");
            SUpdate::new().path(vec!["plan".into()])
        })
        .node_with_input("work", move |item: i64, ctx: &Ctx| {
            lw.add_with(ctx, "work", json!({"item": item}));
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
        .saved();
    let cfg = RunConfig::thread("t");
    let input = SUpdate::new().items(vec![1, 2, 3]);
    sc.invoke("run", &g, input, &cfg).await;
    sc.state("state", &g, &cfg, true).await;
    sc.invoke("resume", &g, Input::Continue, &cfg).await;
    sc.history("history", &g, &cfg).await;
    let c2 = find(&g, &cfg, |s| s.next.len() == 3).await;
    let at_c2 = cfg.clone().checkpoint_id(c2);
    sc.invoke("replay_c2", &g, Input::Continue, &at_c2).await;
    sc.history("history2", &g, &cfg).await;
}

#[tokio::test]
async fn x21_send_workers_that_ask_are_answered_by_id_one_at_a_time() {
    use x17::{S, SUpdate};
    let sc = Scenario::new("x21_interrupts_in_send_workers");
    let (lp, lw) = (sc.log.clone(), sc.log.clone());
    let g = StateGraph::<S>::new()
        .node("plan", move |_: &S, ctx: &Ctx| {
            lp.add(ctx, "plan");
            SUpdate::new().path(vec!["plan".into()])
        })
        .node_with_input("work", move |item: i64, ctx: Ctx| {
            let log = lw.clone();
            async move {
                log.add_with(&ctx, "work", json!({"item": item}));
                let v: String = ctx.interrupt(format!("ok {item}?")).await?;
                Ok::<_, NodeError>(SUpdate::new().path(vec![format!("w{item}:{v}")]))
            }
        })
        .edge(START, "plan")
        .route(
            "plan",
            |s: &S| Route::send_all(s.items.iter().map(|&i| SendTo::new("work", i))),
            ["work"],
        )
        .edge("work", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, SUpdate::new().items(vec![1, 2]), &cfg)
        .await;
    let ids: std::collections::BTreeMap<String, String> = g
        .get_state(&cfg)
        .await
        .unwrap()
        .interrupts
        .iter()
        .map(|i| (i.value.as_str().unwrap().to_string(), i.id.clone()))
        .collect();
    sc.state("state", &g, &cfg, true).await;
    let one = Command::resume_by_id([(ids["ok 1?"].clone(), "A")]);
    sc.invoke("resume_one", &g, one, &cfg).await;
    sc.state("state2", &g, &cfg, true).await;
    let two = Command::resume_by_id([(ids["ok 2?"].clone(), "B")]);
    sc.invoke("resume_two", &g, two, &cfg).await;
    sc.history("history", &g, &cfg).await;
}

#[tokio::test]
async fn x22_bulk_update_state_writes_one_update_checkpoint_per_superstep() {
    let sc = Scenario::new("x22_bulk_update_state");
    let g = linear(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    let supersteps = vec![
        vec![(path("s1"), Some("a"))],
        vec![(path("s2"), Some("b")), (PUpdate::new().x(5), Some("a"))],
    ];
    g.bulk_update_state(&cfg, supersteps).await.unwrap();
    sc.state("state", &g, &cfg, true).await;
    sc.history("history", &g, &cfg).await;
    sc.invoke("run", &g, Input::Continue, &cfg).await;

    let g = linear(&sc.log).saved();
    let both = vec![vec![
        (PUpdate::new().x(1), Some("a")),
        (PUpdate::new().x(2), Some("b")),
    ]];
    let e = g.bulk_update_state(&cfg, both).await.unwrap_err();
    // The reference's class; the message names both nodes and the key.
    assert_eq!(
        crate::common::error_type(&e),
        sc.at("conflict.error_type").as_str().unwrap()
    );
    assert!(e.to_string().contains("`x`"), "{e}");
    sc.state("conflict_state", &g, &cfg, true).await;
    let none: Vec<Vec<(PUpdate, Option<&str>)>> = Vec::new();
    let e = g.bulk_update_state(&cfg, none).await.unwrap_err();
    // The reference raises a ValueError; ours is the same typed error as any bad update.
    assert!(matches!(e, RunError::InvalidStateUpdate(_)), "{e}");
}

#[tokio::test]
async fn a_bulk_update_that_fails_in_a_later_superstep_stores_nothing() {
    let log = crate::common::Log::new();
    let dir = std::env::temp_dir().join(format!("lg-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = SqliteSaver::open(dir.join("bulk.db")).await.unwrap();
    for g in [
        linear(&log).saved(),
        linear(&log).compile_with(sqlite).unwrap(),
    ] {
        let cfg = RunConfig::thread("t");
        let supersteps = vec![
            vec![(path("ok"), Some("a"))],
            vec![
                (PUpdate::new().x(1), Some("a")),
                (PUpdate::new().x(2), Some("b")),
            ],
        ];
        let e = g.bulk_update_state(&cfg, supersteps).await.unwrap_err();
        assert!(matches!(e, RunError::InvalidStateUpdate(_)), "{e}");
        let history = g
            .state_history(&cfg, &ListOptions::default())
            .await
            .unwrap();
        assert!(history.is_empty(), "{history:?}");
        let unknown = vec![vec![(path("x"), Some("nope"))]];
        let e = g.bulk_update_state(&cfg, unknown).await.unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        // Without as_node, a fresh thread's edit counts as the input: START's edge fires.
        let seeded = g
            .bulk_update_state(&cfg, vec![vec![(path("seed"), None)]])
            .await
            .unwrap();
        let st = g.get_state(&seeded).await.unwrap();
        assert_eq!(
            (st.values.path.clone(), st.next.clone()),
            (vec!["seed".to_string()], vec!["a".to_string()])
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn x23_exit_durability_still_streams_every_superstep_checkpoint() {
    use crate::common::{matches, stream};
    // Our checkpoint events do not list the tasks (as in scenario 50).
    let without_tasks = |v: &serde_json::Value| {
        let mut v = v.clone();
        for step in v["supersteps"].as_array_mut().unwrap() {
            for ev in step["events"].as_array_mut().unwrap() {
                ev[1].as_object_mut().unwrap().remove("tasks");
            }
        }
        v
    };
    let sc = Scenario::new("x23_exit_durability_stream");
    let modes = [StreamMode::Checkpoints];
    let cfg = RunConfig::thread("t").durability(Durability::Exit);
    let g = linear(&sc.log).saved();
    let s = stream(&g, PUpdate::new(), &cfg, &modes, &sc.log, false).await;
    matches(&without_tasks(sc.at("linear")), &s).unwrap();
    // Only the end is stored.
    let h = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(h.len(), 1);

    let g = asks_between(&sc.log).saved();
    let s = stream(&g, PUpdate::new(), &cfg, &modes, &sc.log, false).await;
    matches(&without_tasks(sc.at("ask_run")), &s).unwrap();
    let s = stream(&g, Command::resume("y"), &cfg, &modes, &sc.log, false).await;
    // The reference first re-emits the checkpoint it resumes from (not required).
    let mut rest = without_tasks(sc.at("ask_resume"));
    rest["supersteps"].as_array_mut().unwrap().remove(0);
    matches(&rest, &s).unwrap();
}

#[tokio::test]
async fn x27_replaying_from_before_a_subgraph_runs_the_subgraph_again() {
    let sc = Scenario::new("x27_replay_before_a_subgraph");
    let sub = linear_pair(&sc.log).compile().unwrap();
    let g = with_child(&sc.log, sub).saved();
    let cfg = RunConfig::thread("t");
    // Deliberate difference: a same-type subgraph hands back only what it changed, so the
    // parent's `a` is not appended a second time (LangGraph: [a, a, s1, s2, b]).
    let done = json!(["a", "s1", "s2", "b"]);
    let r = sc.run(&g, PUpdate::new(), &cfg).await;
    sc.check("run.exec", &r["exec"]);
    assert_eq!(r["result"]["path"], done);
    let before_child = find(&g, &cfg, |s| s.next == ["child"]).await;
    let labels = labels(&g, &cfg).await;
    assert_eq!(json!(labels[&before_child]), *sc.at("replay_from"));
    let replay = cfg.clone().checkpoint_id(before_child);
    let r = sc.run(&g, Input::Continue, &replay).await;
    sc.check("replay.exec", &r["exec"]);
    assert_eq!(r["result"]["path"], done);
}

#[tokio::test]
async fn x36_a_resume_naming_an_older_answered_checkpoint_is_refused() {
    let sc = Scenario::new("x36_resume_at_an_older_checkpoint");
    let g = asks_between(&sc.log).saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    sc.invoke("resume", &g, Command::resume("first"), &cfg)
        .await;
    let asked = find(&g, &cfg, |s| s.next == ["ask"]).await;
    assert_eq!(json!(labels(&g, &cfg).await[&asked]), *sc.at("asked_at"));
    let before = compact_history(&g, &cfg).await;
    // Deliberate difference: the reference re-runs ask from there on a new branch and hands it
    // the answer stored at that checkpoint ("first"), silently dropping "second". Here a
    // resume must name the head; the call is refused with a typed error and stores nothing.
    let at_asked = cfg.clone().checkpoint_id(asked);
    let e = g
        .invoke(Command::resume("second"), &at_asked)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RunError::InvalidResume(m) if m.contains("replay it first")),
        "{e}"
    );
    assert_eq!(compact_history(&g, &cfg).await, before);
    // What the error says to do: replay that checkpoint (a fork one step on, as the
    // reference writes it, where ask asks again), then
    // answer the question on the new head.
    let r = sc.run(&g, Input::Continue, &at_asked).await;
    assert_eq!(r["exec"], json!([{"step": 3, "nodes": ["ask"]}]), "{r}");
    let r = sc.run(&g, Command::resume("second"), &cfg).await;
    assert_eq!(r["result"]["path"], json!(["a", "ask:second", "b"]), "{r}");
}

#[tokio::test]
async fn x39_update_state_as_a_node_whose_route_sends_follows_the_edited_state() {
    let sc = Scenario::new("x39_update_state_as_a_node_that_sends");
    let log = sc.log.clone();
    let g = StateGraph::<P>::new()
        .node("plan", {
            let log = sc.log.clone();
            move |_: &P, ctx: &Ctx| {
                log.add(ctx, "plan");
                PUpdate::new().x(2)
            }
        })
        .node_with_input("w", move |i: i64, ctx: &Ctx| {
            log.add(ctx, "w");
            path(&format!("w{i}"))
        })
        .edge(START, "plan")
        .route(
            "plan",
            |s: &P| Route::send_all((0..s.x).map(|i| SendTo::new("w", i))),
            ["w"],
        )
        .edge("w", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    g.update_state(&cfg, PUpdate::new().x(3), Some("plan"))
        .await
        .unwrap();
    sc.state("state", &g, &cfg, true).await;
    sc.invoke("go_on", &g, Input::Continue, &cfg).await;
}
