//! Subgraphs that keep a history per thread ([`Persistence::PerThread`], the reference's
//! `checkpointer=True`), recorded in `reference/x45_*.py` to `x50_*.py`: a call goes on from
//! the state the previous call in the thread left, over turns, questions and several calls in
//! one node (x45); edits of the parent while it asks, and replays of the parent (x46); edits of
//! the subgraph itself while it asks (x47); a breakpoint before the calling node (x48, where
//! we differ on purpose: the reference skips the subgraph's second turn); a node that asks after
//! its call (x49); a node of the subgraph that fails once (x50).

use std::sync::Arc;

use langgraph::CompiledGraph;
use langgraph::checkpoint::Checkpointer;
use langgraph::prelude::*;
use serde_json::{Value, json};

use crate::common::Log;
use crate::scenario::*;

/// A node that logs its run, invokes `sub` with each of `inputs` in turn and appends
/// `name:<the first output's path>/<the second's>…`.
fn call_node(
    log: &Log,
    name: &'static str,
    sub: &CompiledGraph<P>,
    inputs: &[&'static str],
) -> impl Fn(&P, Ctx) -> Asking + use<> {
    let (log, sub, inputs) = (log.clone(), sub.clone(), inputs.to_vec());
    move |_: &P, ctx: Ctx| {
        let (log, sub, inputs) = (log.clone(), sub.clone(), inputs.clone());
        Box::pin(async move {
            log.add(&ctx, name);
            let mut outs = Vec::new();
            for input in inputs {
                outs.push(ctx.invoke(&sub, path(input)).await?.path.join(","));
            }
            Ok(path(&format!("{name}:{}", outs.join("/"))))
        })
    }
}

/// START -> `name` -> END, where `name` is a [`call_node`].
fn calling(
    log: &Log,
    name: &'static str,
    sub: &CompiledGraph<P>,
    inputs: &[&'static str],
) -> StateGraph<P> {
    StateGraph::<P>::new()
        .node(name, call_node(log, name, sub, inputs))
        .edge(START, name)
        .edge(name, END)
}

/// START -> `name` -> END on a saver of its own, where `name` is a [`call_node`] of `sub`
/// compiled with a history per thread: (the parent, the subgraph, on the same saver).
fn caller_of(
    log: &Log,
    name: &'static str,
    sub: StateGraph<P>,
    inputs: &[&'static str],
) -> (CompiledGraph<P>, CompiledGraph<P>) {
    let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
    let sub = per_thread(sub, &saver);
    let g = calling(log, name, &sub, inputs)
        .compile_with_shared(saver)
        .unwrap();
    (g, sub)
}

/// `graph` compiled with a history per thread, on `saver` (which it uses only to be read).
fn per_thread(graph: StateGraph<P>, saver: &Arc<dyn Checkpointer>) -> CompiledGraph<P> {
    graph
        .persistence(Persistence::PerThread)
        .compile_with_shared(saver.clone())
        .unwrap()
}

/// The subgraph's history in namespace `ns`, as the reference records it: step, source,
/// path and the namespaces of the enclosing checkpoints (`parents`).
async fn sub_history(sub: &CompiledGraph<P>, ns: &str) -> Value {
    let cfg = RunConfig::thread("t").checkpoint_ns(ns);
    let snaps = sub
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    json!(
        snaps
            .iter()
            .map(|s| {
                let m = s.metadata.as_ref().unwrap();
                // The enclosing namespaces without their task ids, as the reference shows them.
                let parents: Vec<&str> = m
                    .parents
                    .keys()
                    .map(|k| k.split(':').next().unwrap_or(""))
                    .collect();
                json!([m.step, m.source, s.values.path, parents])
            })
            .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn x45_a_per_thread_subgraph_goes_on_from_its_last_call() {
    let sc = Scenario::new("x45_subgraph_with_a_history_per_thread");
    let cfg = RunConfig::thread("t");

    let (g, pair) = caller_of(&sc.log, "call", linear_pair(&sc.log), &["in"]);
    sc.invoke("t1", &g, path("t1"), &cfg).await;
    sc.invoke("t2", &g, path("t2"), &cfg).await;
    sc.check("sub_hist", &sub_history(&pair, "call").await);
    // Every checkpoint of the subgraph names the parent's checkpoint its call ran from.
    let parent_ids: Vec<String> = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| s.checkpoint_id)
        .collect();
    let sub_snaps = pair
        .state_history(&cfg.clone().checkpoint_ns("call"), &ListOptions::default())
        .await
        .unwrap();
    for s in &sub_snaps {
        let base = &s.metadata.as_ref().unwrap().parents[""];
        assert!(
            parent_ids.contains(base),
            "{base} is not a parent checkpoint"
        );
    }

    let (g, _) = caller_of(&sc.log, "callask", asking_subgraph(&sc.log), &["q"]);
    sc.invoke("a1", &g, path("t1"), &cfg).await;
    sc.invoke("a1r", &g, Command::resume("yes"), &cfg).await;
    sc.invoke("a2", &g, path("t2"), &cfg).await;
    sc.invoke("a2r", &g, Command::resume("no"), &cfg).await;

    let (g, pair) = caller_of(&sc.log, "twice", linear_pair(&sc.log), &["x", "y"]);
    sc.invoke("w1", &g, path("t1"), &cfg).await;
    sc.invoke("w2", &g, path("t2"), &cfg).await;
    // The node's second call keeps its history under `twice#2`.
    let second = pair
        .get_state(&cfg.clone().checkpoint_ns("twice#2"))
        .await
        .unwrap();
    assert_eq!(second.values.path, ["y", "s1", "s2", "y", "s1", "s2"]);

    // A call made after the parent resumed from another node's question is a new turn.
    let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
    let pair = per_thread(linear_pair(&sc.log), &saver);
    let g = StateGraph::<P>::new()
        .node("ask", asking(&sc.log, "ask", "go?"))
        .node("call", call_node(&sc.log, "call", &pair, &["in"]))
        .edge(START, "ask")
        .edge("ask", "call")
        .edge("call", END)
        .compile_with_shared(saver)
        .unwrap();
    sc.invoke("q1", &g, path("t1"), &cfg).await;
    sc.invoke("q1r", &g, Command::resume("y"), &cfg).await;
    sc.invoke("q2", &g, path("t2"), &cfg).await;
    sc.invoke("q2r", &g, Command::resume("y"), &cfg).await;

    // Inside a subgraph that starts over at every call, the per-thread one keeps its history.
    let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
    let pair = per_thread(linear_pair(&sc.log), &saver);
    let mid = calling(&sc.log, "inner", &pair, &["in"]).compile().unwrap();
    let g = calling(&sc.log, "outer", &mid, &["m"])
        .compile_with_shared(saver)
        .unwrap();
    sc.invoke("n1", &g, path("t1"), &cfg).await;
    sc.invoke("n2", &g, path("t2"), &cfg).await;
    let hist = sub_history(&pair, "outer|inner").await;
    sc.check("nested_hist", &json!(hist.as_array().unwrap()[..2]));
}

#[tokio::test]
async fn x46_a_per_thread_subgraph_across_edits_and_replays() {
    let sc = Scenario::new("x46_per_thread_subgraph_edited_and_replayed");
    let cfg = RunConfig::thread("t");
    let edit = |x: i64| PUpdate::new().x(x);

    // Edits of the parent while the subgraph asks: the resume answers that question.
    let (g, ask) = caller_of(&sc.log, "callask", asking_subgraph(&sc.log), &["q"]);
    sc.invoke("a1", &g, path("t1"), &cfg).await;
    g.update_state(&cfg, edit(5), None).await.unwrap();
    sc.invoke("a1r", &g, Command::resume("yes"), &cfg).await;
    sc.invoke("a2", &g, path("t2"), &cfg).await;
    g.update_state(&cfg, edit(6), None).await.unwrap();
    g.update_state(&cfg, edit(7), None).await.unwrap();
    sc.invoke("a2r", &g, Command::resume("no"), &cfg).await;
    let sub = ask
        .get_state(&cfg.clone().checkpoint_ns("callask"))
        .await
        .unwrap();
    sc.check("ask_sub", &json!({ "path": sub.values.path }));

    // Replays: the subgraph goes on from its state as it was at the replayed checkpoint.
    let (g, pair) = caller_of(&sc.log, "call", linear_pair(&sc.log), &["in"]);
    let keys = [
        "t1",
        "t2",
        "replay_t2",
        "sub_after_replay_t2",
        "replay_t1",
        "sub_after_replay_t1",
    ];
    turns_then_replays(&sc, &g, &pair, "call", "call", keys).await;

    // The same inside a subgraph that starts over at every call.
    let (mid, pair) = caller_of(&sc.log, "inner", linear_pair(&sc.log), &["in"]);
    let g = calling(&sc.log, "outer", &mid, &["m"])
        .compile_with_shared(pair.checkpointer().unwrap().clone())
        .unwrap();
    let keys = [
        "n1",
        "n2",
        "replay_n2",
        "nested_after_replay_n2",
        "replay_n1",
        "nested_after_replay_n1",
    ];
    turns_then_replays(&sc, &g, &pair, "outer", "outer|inner", keys).await;
}

/// Two turns of `g`, whose node `node` calls the per-thread `sub` (stored under `ns`), then
/// replays from before the second turn's call and from before the first's; checks, under
/// `keys`, the turns, each replay and the subgraph's state after it.
async fn turns_then_replays(
    sc: &Scenario,
    g: &CompiledGraph<P>,
    sub: &CompiledGraph<P>,
    node: &str,
    ns: &str,
    keys: [&str; 6],
) {
    let cfg = RunConfig::thread("t");
    sc.invoke(keys[0], g, path("t1"), &cfg).await;
    sc.invoke(keys[1], g, path("t2"), &cfg).await;
    let calls: Vec<String> = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.next == [node])
        .filter_map(|s| s.checkpoint_id)
        .collect();
    for (i, id) in [&calls[0], calls.last().unwrap()].into_iter().enumerate() {
        let replay = cfg.clone().checkpoint_id(id.clone());
        sc.invoke(keys[2 + 2 * i], g, Input::Continue, &replay)
            .await;
        let s = sub.get_state(&cfg.clone().checkpoint_ns(ns)).await.unwrap();
        sc.check(keys[3 + 2 * i], &json!({ "path": s.values.path }));
    }
}

#[tokio::test]
async fn x47_an_edit_of_a_per_thread_subgraph_belongs_to_its_call() {
    let sc = Scenario::new("x47_edit_a_per_thread_subgraph");
    let cfg = RunConfig::thread("t");
    let (g, ask) = caller_of(&sc.log, "callask", asking_subgraph(&sc.log), &["q"]);
    let sub = cfg.clone().checkpoint_ns("callask");

    sc.invoke("a1", &g, path("t1"), &cfg).await;
    ask.update_state(&sub, path("edited"), None).await.unwrap();
    let st = ask.get_state(&sub).await.unwrap();
    let m = st.metadata.unwrap();
    let parents: Vec<&str> = m
        .parents
        .keys()
        .map(|k| k.split(':').next().unwrap())
        .collect();
    sc.check(
        "sub_after_edit",
        &json!({
            "values": { "path": st.values.path },
            "next": st.next,
            "source": m.source,
            "parents": parents,
        }),
    );
    sc.invoke("a1r", &g, Command::resume("yes"), &cfg).await;
    sc.invoke("a2", &g, path("t2"), &cfg).await;
    ask.update_state(&sub, path("edited2"), Some("ask"))
        .await
        .unwrap();
    sc.invoke("a2r", &g, Command::resume("no"), &cfg).await;
}

#[tokio::test]
async fn x48_a_breakpoint_before_the_caller_does_not_skip_the_subgraphs_turn() {
    let sc = Scenario::new("x48_breakpoint_before_a_per_thread_subgraph");
    let cfg = RunConfig::thread("t");
    let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
    let pair = per_thread(linear_pair(&sc.log), &saver);
    let g = calling(&sc.log, "call", &pair, &["in"])
        .interrupt_before(["call"])
        .compile_with_shared(saver)
        .unwrap();
    sc.invoke("t1", &g, path("t1"), &cfg).await;
    sc.invoke("t1r", &g, Input::Continue, &cfg).await;
    sc.invoke("t2", &g, path("t2"), &cfg).await;
    // We differ on purpose: the reference's call, resumed past the breakpoint, returns the
    // first turn's result and its subgraph does not run. Here the call is the subgraph's
    // second turn (its head was written by the first turn's call), as without the breakpoint.
    let r = sc.run(&g, Input::Continue, &cfg).await;
    assert_eq!(
        r["result"]["path"],
        json!(["t1", "call:in,s1,s2", "t2", "call:in,s1,s2,in,s1,s2"])
    );
    assert_eq!(
        r["exec"],
        json!([
            {"step": 4, "nodes": ["call"]},
            {"step": 5, "nodes": ["s1"], "graph": "call"},
            {"step": 6, "nodes": ["s2"], "graph": "call"},
        ])
    );
}

#[tokio::test]
async fn x49_a_node_asking_after_its_call_does_not_start_a_second_turn() {
    let sc = Scenario::new("x49_node_asks_after_its_per_thread_subgraph");
    let cfg = RunConfig::thread("t");
    let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
    let pair = per_thread(linear_pair(&sc.log), &saver);
    let log = sc.log.clone();
    let g = StateGraph::<P>::new()
        .node("wrapper", move |_: &P, ctx: Ctx| {
            let (log, pair) = (log.clone(), pair.clone());
            async move {
                log.add(&ctx, "wrapper");
                let out = ctx.invoke(&pair, path("in")).await?;
                let ok: String = ctx.interrupt("after?").await?;
                Ok::<_, NodeError>(path(&format!("wrapper:{}:{ok}", out.path.join(","))))
            }
        })
        .edge(START, "wrapper")
        .edge("wrapper", END)
        .compile_with_shared(saver)
        .unwrap();
    sc.invoke("t1", &g, path("t1"), &cfg).await;
    sc.invoke("t1r", &g, Command::resume("y"), &cfg).await;
    sc.invoke("t2", &g, path("t2"), &cfg).await;
    sc.invoke("t2r", &g, Command::resume("z"), &cfg).await;
}

#[tokio::test]
async fn x50_a_failed_node_of_a_per_thread_subgraph_runs_again_in_the_same_turn() {
    let sc = Scenario::new("x50_failure_inside_a_per_thread_subgraph");
    let cfg = RunConfig::thread("t");
    let sub = StateGraph::<P>::new()
        .node("s1", mk(&sc.log, "s1"))
        .node("flaky", flaky(&sc.log))
        .edge(START, "s1")
        .edge("s1", "flaky")
        .edge("flaky", END);
    let (g, _) = caller_of(&sc.log, "call", sub, &["in"]);
    // The error is ours (a node's, naming it) where the reference raises the node's own.
    let r = sc.run(&g, path("t1"), &cfg).await;
    sc.check("t1.exec", &r["exec"]);
    assert_eq!(r["error"]["error_type"], "NodeError", "{r}");
    sc.invoke("t1r", &g, Input::Continue, &cfg).await;
    sc.invoke("t2", &g, path("t2"), &cfg).await;
}
