//! Scenarios recorded in `reference/` about humans in the loop of subgraphs: one edited while
//! it waits for an answer (x24) or answered by an edit (x25), two asking side by side (x26),
//! one asking under durability `exit` (x28), a breakpoint compiled into one (x29), the parent
//! edited while its subgraph asks (x30), a node that asks after the subgraph it calls did
//! (x31), an answer kept for a later subgraph question (x32), a failed subgraph node run
//! again (x33), the updates stream of a run whose subgraph asks (x34), a subgraph's answer
//! that routes its parent (x35), the parent answering for its subgraph with `update_state`
//! (x37), sends to a subgraph node that asks (x38), a subgraph two levels down edited (x40),
//! a node calling several subgraphs, one of them twice (x41), a retry around a subgraph (x42),
//! a subgraph's question resumed with an update for the parent (x43), new input while a
//! subgraph asks (x44).

use langgraph::prelude::*;
use serde_json::json;

use crate::common::Log;
use crate::scenario::*;

/// The subgraph START -> s1 -> ask -> s3 -> END (ask asks "sub approve?") as node `child` of
/// START -> a -> child -> b -> END (paused before the nodes in `before`), both on one saver:
/// (parent, subgraph).
fn parent_of_asking_subgraph(
    log: &Log,
    before: &[&'static str],
) -> (CompiledGraph<P>, CompiledGraph<P>) {
    let saver: std::sync::Arc<dyn langgraph::checkpoint::Checkpointer> =
        std::sync::Arc::new(InMemorySaver::new());
    let sub = asking_subgraph(log)
        .compile_with_shared(saver.clone())
        .unwrap();
    let g = with_child(log, sub.clone())
        .interrupt_before(before.iter().copied())
        .compile_with_shared(saver)
        .unwrap();
    (g, sub)
}

/// The configuration of the subgraph's namespace, from the parent's first task. The reference
/// shows the namespace without the task id ("child"); here it is the whole one.
async fn subgraph_config(g: &CompiledGraph<P>, cfg: &RunConfig) -> RunConfig {
    let task = &g.get_state(cfg).await.unwrap().tasks[0];
    assert!(
        task.subgraph_ns.starts_with("child:"),
        "{}",
        task.subgraph_ns
    );
    cfg.clone().checkpoint_ns(task.subgraph_ns.clone())
}

/// Checks the subgraph's snapshot against the observation at `key` (without ids and `ns`).
async fn check_subgraph_state(sc: &Scenario, key: &str, sub: &CompiledGraph<P>, cfg: &RunConfig) {
    let mut want = sc.at(key).clone();
    want.as_object_mut().unwrap().remove("ns");
    let mut got = crate::common::state(sub, cfg, true).await;
    let got_map = got.as_object_mut().unwrap();
    got_map.remove("id");
    got_map.remove("parent");
    if let Err(e) = crate::common::matches(&want, &got) {
        panic!("{key}: {e}\n  expected: {want}\n  actual:   {got}");
    }
}

/// Checks the parent's `get_state` against the observation at `key`. The reference's tasks
/// carry the subgraph's config or snapshot in a nested `state` entry; here a task names the
/// subgraph's namespace (`subgraph_ns`) instead, so that entry is not compared.
async fn check_parent_state(sc: &Scenario, key: &str, g: &CompiledGraph<P>, cfg: &RunConfig) {
    let mut want = sc.at(key).clone();
    for t in want["tasks"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("state");
    }
    let got = crate::common::state(g, cfg, true).await;
    if let Err(e) = crate::common::matches(&want, &got) {
        panic!("{key}: {e}\n  expected: {want}\n  actual:   {got}");
    }
}

/// Runs `input`, checks the execution log at `key.exec`, and the result's path against
/// `path`. Deliberate difference: a same-type subgraph hands back only what it changed, so the
/// parent's earlier entries are not appended a second time, as the reference's are.
async fn run_with_own_path(
    sc: &Scenario,
    key: &str,
    g: &CompiledGraph<P>,
    input: impl Into<Input<P>>,
    cfg: &RunConfig,
    path: serde_json::Value,
) {
    let r = sc.run(g, input, cfg).await;
    sc.check(&format!("{key}.exec"), &r["exec"]);
    assert_eq!(r["result"]["path"], path, "{key}");
}

/// Resumes with "yes", checked against the observation `resume` (see [`run_with_own_path`]).
async fn resume_yes(sc: &Scenario, g: &CompiledGraph<P>, cfg: &RunConfig, path: &[&str]) {
    run_with_own_path(sc, "resume", g, Command::resume("yes"), cfg, json!(path)).await;
}

/// The scenario `name` run on [`parent_of_asking_subgraph`] up to the subgraph's question
/// (checked as the observation `run`): (scenario, parent, subgraph, thread config).
async fn paused_in_subgraph(
    name: &str,
) -> (Scenario, CompiledGraph<P>, CompiledGraph<P>, RunConfig) {
    let sc = Scenario::new(name);
    let (g, sub) = parent_of_asking_subgraph(&sc.log, &[]);
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    (sc, g, sub, cfg)
}

#[tokio::test]
async fn x24_a_paused_subgraph_is_edited_and_the_parent_resumes_it() {
    let (sc, g, sub, cfg) = paused_in_subgraph("x24_edit_a_paused_subgraph").await;
    let sub_cfg = subgraph_config(&g, &cfg).await;
    check_subgraph_state(&sc, "sub_before", &sub, &sub_cfg).await;
    sub.update_state(&sub_cfg, path("edited"), None)
        .await
        .unwrap();
    check_subgraph_state(&sc, "sub_after_edit", &sub, &sub_cfg).await;
    // Resuming the parent re-runs ask, which gets the answer, and the subgraph finishes with
    // the edit. Deliberate difference: a same-type subgraph hands back only what it changed,
    // so the parent's `a` is not appended a second time (LangGraph: [a, a, s1, edited, ...]).
    resume_yes(&sc, &g, &cfg, &["a", "s1", "edited", "ask:yes", "s3", "b"]).await;
}

#[tokio::test]
async fn x25_a_subgraph_question_is_answered_by_update_state_as_the_asking_node() {
    let (sc, g, sub, cfg) =
        paused_in_subgraph("x25_answer_a_subgraph_question_with_update_state").await;
    let sub_cfg = subgraph_config(&g, &cfg).await;
    sub.update_state(&sub_cfg, path("ask:by-hand"), Some("ask"))
        .await
        .unwrap();
    check_subgraph_state(&sc, "sub_after_edit", &sub, &sub_cfg).await;
    // The parent is unchanged; its task still shows the subgraph's question.
    check_parent_state(&sc, "parent_after_edit", &g, &cfg).await;
    // Going on runs s3, not ask, and b follows (deliberate difference in the path as in x24).
    run_with_own_path(
        &sc,
        "resume",
        &g,
        Input::Continue,
        &cfg,
        json!(["a", "s1", "ask:by-hand", "s3", "b"]),
    )
    .await;
}

#[tokio::test]
async fn x26_two_subgraphs_in_one_superstep_ask_and_are_answered_by_id() {
    let sc = Scenario::new("x26_parallel_subgraphs_that_ask");
    let sub = StateGraph::<P>::new()
        .node("ask", asking(&sc.log, "ask", "sub?"))
        .edge(START, "ask")
        .edge("ask", END)
        .compile()
        .unwrap();
    let g = StateGraph::<P>::new()
        .subgraph("left", sub.clone())
        .subgraph("right", sub)
        .node("join", mk(&sc.log, "join"))
        .edge(START, "left")
        .edge(START, "right")
        .join(["left", "right"], "join")
        .edge("join", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    check_parent_state(&sc, "state", &g, &cfg).await;
    let question_of = |snap: &StateSnapshot<P>, node: &str| {
        let task = snap.tasks.iter().find(|t| t.name == node).unwrap();
        task.interrupts[0].id.clone()
    };
    let st = g.get_state(&cfg).await.unwrap();
    let left = Command::resume_by_id([(question_of(&st, "left"), "L")]);
    sc.invoke("left_answered", &g, left, &cfg).await;
    check_parent_state(&sc, "state_after_left", &g, &cfg).await;
    let st = g.get_state(&cfg).await.unwrap();
    let right = Command::resume_by_id([(question_of(&st, "right"), "R")]);
    sc.invoke("right_answered", &g, right, &cfg).await;
}

#[tokio::test]
async fn x28_a_subgraph_that_asks_under_durability_exit() {
    let sc = Scenario::new("x28_exit_durability_with_a_subgraph_that_asks");
    let (g, sub) = parent_of_asking_subgraph(&sc.log, &[]);
    let cfg = RunConfig::thread("t").durability(langgraph::Durability::Exit);
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    let count = |g: CompiledGraph<P>, cfg: RunConfig| async move {
        let h = g.state_history(&cfg, &Default::default()).await.unwrap();
        json!(h.len())
    };
    assert_eq!(
        count(g.clone(), cfg.clone()).await,
        *sc.at("parent_checkpoints")
    );
    let sub_cfg = subgraph_config(&g, &cfg).await;
    check_subgraph_state(&sc, "sub_state", &sub, &sub_cfg).await;
    // Deliberate difference in the path, as in x24.
    resume_yes(&sc, &g, &cfg, &["a", "s1", "ask:yes", "s3", "b"]).await;
    assert_eq!(
        count(g.clone(), cfg.clone()).await,
        *sc.at("parent_checkpoints_after")
    );
}

#[tokio::test]
async fn x29_a_breakpoint_compiled_into_a_subgraph_pauses_the_parent() {
    let sc = Scenario::new("x29_breakpoint_inside_a_subgraph");
    let saver: std::sync::Arc<dyn langgraph::checkpoint::Checkpointer> =
        std::sync::Arc::new(InMemorySaver::new());
    let sub = linear_pair(&sc.log)
        .interrupt_before(["s2"])
        .compile_with_shared(saver.clone())
        .unwrap();
    let g = with_child(&sc.log, sub.clone())
        .compile_with_shared(saver)
        .unwrap();
    let cfg = RunConfig::thread("t");
    let r = sc.run(&g, PUpdate::new(), &cfg).await;
    sc.check("run.exec", &r["exec"]);
    assert_eq!(r["result"]["path"], *sc.at("run.result.path"));
    check_parent_state(&sc, "state", &g, &cfg).await;
    let sub_cfg = subgraph_config(&g, &cfg).await;
    check_subgraph_state(&sc, "sub_state", &sub, &sub_cfg).await;
    // Deliberate difference in the path, as in x24.
    run_with_own_path(
        &sc,
        "resume",
        &g,
        Input::Continue,
        &cfg,
        json!(["a", "s1", "s2", "b"]),
    )
    .await;
}

#[tokio::test]
async fn x30_the_parent_is_edited_while_its_subgraph_asks() {
    let (sc, g, _, cfg) = paused_in_subgraph("x30_parent_edited_while_its_subgraph_asks").await;
    g.update_state(&cfg, path("edited"), Some("a"))
        .await
        .unwrap();
    check_parent_state(&sc, "state", &g, &cfg).await;
    // Deliberate difference: the subgraph hands back only what it changed (LangGraph appends
    // the parent's path again: [a, edited, a, edited, s1, ...]).
    resume_yes(&sc, &g, &cfg, &["a", "edited", "s1", "ask:yes", "s3", "b"]).await;
}

#[tokio::test]
async fn x31_a_node_calls_a_subgraph_that_asks_then_asks_itself() {
    let sc = Scenario::new("x31_wrapper_node_asks_after_its_subgraph");
    let sub = asking_subgraph(&sc.log).compile().unwrap();
    let log = sc.log.clone();
    let g = StateGraph::<P>::new()
        .node("wrap", move |_: &P, ctx: Ctx| {
            let (log, sub) = (log.clone(), sub.clone());
            async move {
                log.add_with(&ctx, "wrap", json!({"phase": "enter"}));
                let out = ctx.invoke(&sub, PUpdate::new()).await?;
                log.add_with(&ctx, "wrap", json!({"phase": "after-sub"}));
                let ok: String = ctx.interrupt("wrap ok?").await?;
                let mut path = out.path;
                path.push(format!("wrap:{ok}"));
                Ok::<_, NodeError>(PUpdate::new().path(path))
            }
        })
        .node("b", mk(&sc.log, "b"))
        .edge(START, "wrap")
        .edge("wrap", "b")
        .edge("b", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    sc.invoke("first", &g, Command::resume("sub-yes"), &cfg)
        .await;
    sc.invoke("second", &g, Command::resume("wrap-yes"), &cfg)
        .await;
}

#[tokio::test]
async fn x32_an_answer_kept_at_a_breakpoint_reaches_a_later_subgraph_question() {
    let sc = Scenario::new("x32_kept_answer_for_a_later_subgraph_question");
    let (g, _) = parent_of_asking_subgraph(&sc.log, &["child"]);
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    let done = json!(["a", "s1", "ask:A", "s3", "b"]);
    run_with_own_path(&sc, "bare_resume", &g, Command::resume("A"), &cfg, done).await;
}

#[tokio::test]
async fn x33_a_failed_subgraph_node_runs_again_from_the_subgraphs_checkpoint() {
    let sc = Scenario::new("x33_failure_inside_a_subgraph");
    let sub = StateGraph::<P>::new()
        .node("s1", mk(&sc.log, "s1"))
        .node("flaky", flaky(&sc.log))
        .node("s3", mk(&sc.log, "s3"))
        .edge(START, "s1")
        .edge("s1", "flaky")
        .edge("flaky", "s3")
        .edge("s3", END)
        .compile()
        .unwrap();
    let g = with_child(&sc.log, sub).saved();
    let cfg = RunConfig::thread("t");
    // The error is ours (a node's, naming it) where the reference raises the node's own.
    let r = sc.run(&g, PUpdate::new(), &cfg).await;
    sc.check("run.exec", &r["exec"]);
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    let st = g.get_state(&cfg).await.unwrap();
    let tasks: Vec<_> = st
        .tasks
        .iter()
        .map(|t| json!([t.name, t.error.is_some()]))
        .collect();
    assert_eq!(json!(tasks), *sc.at("parent_tasks"));
    let done = json!(["a", "s1", "flaky", "s3", "b"]);
    run_with_own_path(&sc, "resume", &g, Input::Continue, &cfg, done).await;
}

#[tokio::test]
async fn x34_the_updates_stream_of_a_run_whose_subgraph_asks() {
    let sc = Scenario::new("x34_stream_of_a_subgraph_that_asks");
    let (g, _) = parent_of_asking_subgraph(&sc.log, &[]);
    let cfg = RunConfig::thread("t");
    let modes = [StreamMode::Updates];
    let run = crate::common::stream(&g, PUpdate::new(), &cfg, &modes, &sc.log, false).await;
    sc.check("run", &run);
    let resume = crate::common::stream(&g, Command::resume("yes"), &cfg, &modes, &sc.log, false);
    let mut resume = resume.await;
    // Deliberate difference: child's update is what the subgraph changed, without the parent's
    // `a` (the reference's update is the subgraph's whole path, [a, s1, ask:yes, s3]).
    let child = &mut resume["supersteps"][0]["events"][0][1]["child"]["path"];
    assert_eq!(*child, json!(["s1", "ask:yes", "s3"]));
    *child = json!(["a", "s1", "ask:yes", "s3"]);
    sc.check("resume", &resume);
}

#[tokio::test]
async fn x35_a_subgraphs_answer_routes_the_parent() {
    let sc = Scenario::new("x35_subgraph_answer_routes_the_parent");
    let log = sc.log.clone();
    let sub = StateGraph::<P>::new()
        .node("decide", move |_: &P, ctx: Ctx| {
            let log = log.clone();
            async move {
                log.add(&ctx, "decide");
                let to: String = ctx.interrupt("route?").await?;
                let update = path(&format!("decide:{to}"));
                Ok::<_, NodeError>(Command::goto(to).update(update).to_parent())
            }
        })
        .edge(START, "decide")
        .edge("decide", END)
        .compile()
        .unwrap();
    // A node only a command reaches is declared here (`goto_targets`), as everywhere.
    let g = StateGraph::<P>::new()
        .subgraph("child", sub)
        .node("b", mk(&sc.log, "b"))
        .node("c", mk(&sc.log, "c"))
        .goto_targets("child", ["b", "c"])
        .edge(START, "child")
        .edge("b", END)
        .edge("c", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    check_parent_state(&sc, "state", &g, &cfg).await;
    sc.invoke("resume", &g, Command::resume("c"), &cfg).await;
}

#[tokio::test]
async fn x37_the_parent_answers_for_its_subgraph_with_update_state() {
    let (sc, g, _, cfg) = paused_in_subgraph("x37_parent_answers_for_its_subgraph").await;
    g.update_state(&cfg, path("child:by-hand"), Some("child"))
        .await
        .unwrap();
    sc.state("state", &g, &cfg, true).await;
    sc.invoke("go_on", &g, Input::Continue, &cfg).await;
    sc.history("history", &g, &cfg).await;
}

#[tokio::test]
async fn x38_sends_to_a_subgraph_node_ask_and_are_answered_by_id() {
    let sc = Scenario::new("x38_sends_to_a_subgraph_that_asks");
    let sub = StateGraph::<P>::new()
        .node("ask", asking(&sc.log, "ask", "sub?"))
        .edge(START, "ask")
        .edge("ask", END)
        .compile()
        .unwrap();
    let g = StateGraph::<P>::new()
        .subgraph("child", sub)
        .node("b", mk(&sc.log, "b"))
        .route(
            START,
            |_: &P| {
                Route::send_all((0..2).map(|i| {
                    let input = P {
                        path: vec![format!("w{i}")],
                        ..P::default()
                    };
                    SendTo::state("child", input)
                }))
            },
            ["child"],
        )
        .edge("child", "b")
        .edge("b", END)
        .saved();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    check_parent_state(&sc, "state", &g, &cfg).await;
    let st = g.get_state(&cfg).await.unwrap();
    let answers = st
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.interrupts[0].id.clone(), format!("A{i}")));
    // Deliberate difference: each subgraph run hands back only what it changed, not its
    // input (the reference's path is [w0, ask:A0, w1, ask:A1, b]).
    let done = json!(["ask:A0", "ask:A1", "b"]);
    let resume = Command::resume_by_id(answers);
    run_with_own_path(&sc, "resume", &g, resume, &cfg, done).await;
}

#[tokio::test]
async fn x40_a_subgraph_two_levels_down_is_edited_and_the_root_resumes_it() {
    let sc = Scenario::new("x40_edit_a_nested_subgraph");
    let saver: std::sync::Arc<dyn langgraph::checkpoint::Checkpointer> =
        std::sync::Arc::new(InMemorySaver::new());
    let inner = asking_subgraph(&sc.log)
        .compile_with_shared(saver.clone())
        .unwrap();
    let middle = StateGraph::<P>::new()
        .node("m", mk(&sc.log, "m"))
        .subgraph("inner", inner.clone())
        .edge(START, "m")
        .edge("m", "inner")
        .edge("inner", END)
        .compile_with_shared(saver.clone())
        .unwrap();
    let g = with_child(&sc.log, middle.clone())
        .compile_with_shared(saver)
        .unwrap();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    // Down the tasks of each level to the innermost subgraph's namespace.
    let middle_cfg = subgraph_config(&g, &cfg).await;
    let inner_ns = middle.get_state(&middle_cfg).await.unwrap().tasks[0]
        .subgraph_ns
        .clone();
    assert!(inner_ns.contains("|inner:"), "{inner_ns}");
    let inner_cfg = cfg.clone().checkpoint_ns(inner_ns);
    check_subgraph_state(&sc, "inner_before", &inner, &inner_cfg).await;
    inner
        .update_state(&inner_cfg, path("edited"), None)
        .await
        .unwrap();
    check_subgraph_state(&sc, "inner_after_edit", &inner, &inner_cfg).await;
    // Deliberate difference in the path: each level hands back only what it changed.
    resume_yes(
        &sc,
        &g,
        &cfg,
        &["a", "m", "s1", "edited", "ask:yes", "s3", "b"],
    )
    .await;
}

#[tokio::test]
async fn x41_a_node_calls_several_subgraphs_each_on_its_own() {
    let sc = Scenario::new("x41_a_node_calls_several_subgraphs");
    let saver: std::sync::Arc<dyn langgraph::checkpoint::Checkpointer> =
        std::sync::Arc::new(InMemorySaver::new());
    let pair = linear_pair(&sc.log).compile().unwrap();
    let ask = asking_subgraph(&sc.log)
        .compile_with_shared(saver.clone())
        .unwrap();
    let (log, ask2) = (sc.log.clone(), ask.clone());
    let g = StateGraph::<P>::new()
        .node("many", move |_: &P, ctx: Ctx| {
            let (log, pair, ask) = (log.clone(), pair.clone(), ask2.clone());
            async move {
                log.add(&ctx, "many");
                let first = ctx.invoke(&pair, path("p1")).await?;
                let asked = ctx.invoke(&ask, path("q")).await?;
                let second = ctx.invoke(&pair, path("p2")).await?;
                let all = [first.path, asked.path, second.path].concat();
                Ok::<_, NodeError>(PUpdate::new().path(all))
            }
        })
        .edge(START, "many")
        .edge("many", END)
        .compile_with_shared(saver)
        .unwrap();
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, PUpdate::new(), &cfg).await;
    // The paused task names the run that asked: its second subgraph run.
    let task = g.get_state(&cfg).await.unwrap().tasks.remove(0);
    assert!(task.subgraph_ns.ends_with("#2"), "{}", task.subgraph_ns);
    let asking = ask
        .get_state(&cfg.clone().checkpoint_ns(task.subgraph_ns))
        .await
        .unwrap();
    assert_eq!(asking.next, ["ask"]);
    sc.invoke("resume", &g, Command::resume("yes"), &cfg).await;
}

#[tokio::test]
async fn x42_a_retry_around_a_subgraph_goes_on_from_its_checkpoint() {
    let sc = Scenario::new("x42_retry_around_a_subgraph");
    let sub = StateGraph::<P>::new()
        .node("s1", mk(&sc.log, "s1"))
        .node("flaky", flaky(&sc.log))
        .edge(START, "s1")
        .edge("s1", "flaky")
        .edge("flaky", END)
        .compile()
        .unwrap();
    let policy = RetryPolicy::new(3)
        .initial_interval(std::time::Duration::from_millis(1))
        .jitter(false);
    let g = with_child(&sc.log, sub).retry("child", policy).saved();
    let cfg = RunConfig::thread("t");
    let r = sc.run(&g, PUpdate::new(), &cfg).await;
    // Deliberate difference: an attempt runs the task's subgraphs in the namespaces of the
    // attempt before, so the subgraph goes on from its checkpoint and s1, which finished, does
    // not run again (the reference starts the subgraph over in a new namespace, `child|1`, and
    // runs s1 twice). As a resume in a later invoke does in both.
    let theirs = sc.at("run.exec").to_string();
    assert!(
        theirs.contains("child|1"),
        "the reference starts over: {theirs}"
    );
    let ours = json!([
        {"step": 1, "nodes": ["a"]},
        {"step": 1, "nodes": ["s1"], "graph": "child"},
        {"step": 2, "nodes": ["flaky", "flaky"], "graph": "child"},
        {"step": 3, "nodes": ["b"]},
    ]);
    assert_eq!(r["exec"], ours, "{r}");
    assert_eq!(r["result"]["path"], json!(["a", "s1", "flaky", "b"]));
}

#[tokio::test]
async fn x43_a_subgraph_question_is_resumed_with_an_update_for_the_parent() {
    let (sc, g, _, cfg) = paused_in_subgraph("x43_resume_a_subgraph_with_an_update").await;
    let resume = Command::resume("yes").update(path("u"));
    let done = json!(["a", "u", "s1", "ask:yes", "s3", "b"]);
    run_with_own_path(&sc, "resume", &g, resume, &cfg, done).await;
}

#[tokio::test]
async fn x44_new_input_while_a_subgraph_asks_starts_a_new_turn() {
    let sc = Scenario::new("x44_new_input_while_a_subgraph_asks");
    let (g, _) = parent_of_asking_subgraph(&sc.log, &[]);
    let cfg = RunConfig::thread("t");
    sc.invoke("run", &g, path("in"), &cfg).await;
    sc.invoke("new_input", &g, path("in2"), &cfg).await;
    check_parent_state(&sc, "state", &g, &cfg).await;
    sc.history("history", &g, &cfg).await;
}
