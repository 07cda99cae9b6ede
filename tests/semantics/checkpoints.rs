//! Scenarios 38, 40, 41, 43: history API, replay, forks, failures with pending writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use langgraph::ListOptions;
use langgraph::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub struct P {
    pub x: i64,
    pub y: i64,
    #[reducer(append)]
    pub path: Vec<String>,
}

fn mk(log: &Log, name: &'static str) -> impl Fn(&P, &Ctx) -> PUpdate + use<> {
    let log = log.clone();
    move |_: &P, ctx: &Ctx| {
        log.add(ctx, name);
        PUpdate::new().path(vec![name.to_string()])
    }
}

async fn ids_by_label(
    g: &CompiledGraph<P>,
    cfg: &RunConfig,
) -> std::collections::BTreeMap<String, String> {
    labels(g, cfg)
        .await
        .into_iter()
        .map(|(id, l)| (l, id))
        .collect()
}

#[tokio::test]
async fn s38_history_api() {
    let exp = expected("38_get_state_history_api");
    let log = Log::new();
    let g = StateGraph::<P>::new()
        .node("a", mk(&log, "a"))
        .node("b", mk(&log, "b"))
        .node("c", mk(&log, "c"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    // A thread that never ran: an empty snapshot, no error.
    let never = RunConfig::thread("never");
    let empty = g.get_state(&never).await.unwrap();
    let hist = g
        .state_history(&never, &ListOptions::default())
        .await
        .unwrap();
    check(
        &exp,
        "empty_thread",
        &json!({
            "values": {}, "next": empty.next, "has_checkpoint_id": empty.checkpoint_id.is_some(), "history_len": hist.len()
        }),
    );
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "invoke",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    let h: Vec<Value> = history(&g, &cfg, false)
        .await
        .iter()
        .map(|h| json!([h["id"], h["parent"], h["step"], h["next"]]))
        .collect();
    check(&exp, "history_ids", &json!(h));
    let lab = labels(&g, &cfg).await;
    let ids = ids_by_label(&g, &cfg).await;
    let labels_of = |v: Vec<StateSnapshot<P>>| {
        json!(
            v.iter()
                .map(|s| lab[s.checkpoint_id.as_ref().unwrap()].clone())
                .collect::<Vec<_>>()
        )
    };
    let limit = ListOptions::new().limit(2);
    check(
        &exp,
        "limit_2",
        &labels_of(g.state_history(&cfg, &limit).await.unwrap()),
    );
    let before = ListOptions::new().before(ids["c3"].clone());
    check(
        &exp,
        "before_c3",
        &labels_of(g.state_history(&cfg, &before).await.unwrap()),
    );
    let by_source = ListOptions::new().filter("source", "input");
    check(
        &exp,
        "filter_source_input",
        &labels_of(g.state_history(&cfg, &by_source).await.unwrap()),
    );
    // get_state at an older checkpoint returns that snapshot, not the latest.
    let at_c2 = g
        .get_state(&cfg.clone().checkpoint_id(ids["c2"].clone()))
        .await
        .unwrap();
    let mut s = snap(&at_c2, &lab, true);
    for t in s["tasks"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("result");
    }
    let mut e = at(&exp, "get_state_at_c2").clone();
    for t in e["tasks"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("result");
    }
    matches(&e, &s).unwrap();
    check(&exp, "get_state_latest", &state(&g, &cfg, true).await);
}

#[tokio::test]
async fn s40_replay_refires_the_interrupt() {
    let exp = expected("40_replay_refires_interrupt");
    let log = Log::new();
    let la = log.clone();
    let g = StateGraph::<P>::new()
        .node("a", mk(&log, "a"))
        .node("ask", move |_: &P, ctx: Ctx| {
            let log = la.clone();
            async move {
                log.add(&ctx, "ask");
                let v: String = ctx.interrupt("approve?").await?;
                Ok::<_, NodeError>(PUpdate::new().path(vec![format!("ask:{v}")]))
            }
        })
        .node("b", mk(&log, "b"))
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "run",
        &invoke(&g, PUpdate::new(), &cfg, &log, false).await,
    );
    check(
        &exp,
        "resume_yes",
        &invoke(&g, Command::resume("yes"), &cfg, &log, false).await,
    );
    // Replaying c2 re-executes ask, which asks again: the old answer is not reused.
    let c2 = ids_by_label(&g, &cfg).await["c2"].clone();
    let r = invoke(
        &g,
        Input::Continue,
        &cfg.clone().checkpoint_id(c2),
        &log,
        false,
    )
    .await;
    check(&exp, "replay_from_c2", &r);
    check(&exp, "state_after_replay", &state(&g, &cfg, true).await);
    check(
        &exp,
        "resume_no",
        &invoke(&g, Command::resume("no"), &cfg, &log, false).await,
    );
    let h: Vec<Value> = history(&g, &cfg, false)
        .await
        .iter()
        .map(|h| {
            json!([
                h["id"],
                h["parent"],
                h["step"],
                h["source"],
                h["next"],
                h["values"]["path"]
            ])
        })
        .collect();
    check(&exp, "history", &json!(h));
}

#[tokio::test]
async fn s41_fork_with_update_state() {
    let exp = expected("41_fork_with_update_state");
    let log = Log::new();
    let lb = log.clone();
    let g = StateGraph::<P>::new()
        .node("a", mk(&log, "a"))
        .node("b", move |s: &P, ctx: &Ctx| {
            lb.add_with(ctx, "b", json!({"x": s.x}));
            PUpdate::new().y(s.x * 10).path(vec!["b".into()])
        })
        .node("c", mk(&log, "c"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "first_run",
        &invoke(&g, PUpdate::new().x(1), &cfg, &log, false).await,
    );
    let ids = ids_by_label(&g, &cfg).await;
    // update_state on c2 writes a new checkpoint c5 (source update, parent c2) attributed to
    // a (the node that wrote c2), and c5 becomes the thread's latest state.
    let fork = g
        .update_state(
            &cfg.clone().checkpoint_id(ids["c2"].clone()),
            PUpdate::new().x(7),
            None,
        )
        .await
        .unwrap();
    let lab = labels(&g, &cfg).await;
    check(
        &exp,
        "update_state_returned",
        &json!(lab[fork.checkpoint_id.as_ref().unwrap()]),
    );
    check(
        &exp,
        "latest_after_fork_update",
        &state(&g, &cfg, false).await,
    );
    check(
        &exp,
        "continue_from_fork",
        &invoke(&g, Input::Continue, &fork, &log, true).await,
    );
    let h: Vec<Value> = history(&g, &cfg, false)
        .await
        .iter()
        .map(|h| {
            json!([
                h["id"],
                h["parent"],
                h["step"],
                h["source"],
                h["next"],
                h["values"]
            ])
        })
        .collect();
    check(&exp, "history", &json!(h));
    let c4 = g
        .get_state(&cfg.clone().checkpoint_id(ids["c4"].clone()))
        .await
        .unwrap();
    check(
        &exp,
        "original_branch_c4_values",
        &c4.values.to_json().unwrap(),
    );
}

#[tokio::test]
async fn s43_failure_keeps_finished_siblings_writes() {
    let exp = expected("43_parallel_failure_pending_writes");
    let log = Log::new();
    let fail = Arc::new(AtomicBool::new(true));
    let (goods, flakies) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let good = |name: &'static str| {
        let (log, n) = (log.clone(), goods.clone());
        move |_: &P, ctx: &Ctx| {
            n.fetch_add(1, Ordering::SeqCst);
            log.add(ctx, name);
            PUpdate::new().path(vec!["good".into()])
        }
    };
    let flaky = |name: &'static str| {
        let (log, n, fail) = (log.clone(), flakies.clone(), fail.clone());
        move |_: &P, ctx: &Ctx| {
            n.fetch_add(1, Ordering::SeqCst);
            let failing = fail.load(Ordering::SeqCst);
            log.add_with(ctx, name, json!({"failing": failing}));
            async move {
                if failing {
                    // let the sibling finish first
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return Err(NodeError::msg("boom"));
                }
                Ok(PUpdate::new().path(vec!["flaky".into()]))
            }
        }
    };
    let g = StateGraph::<P>::new()
        .node("good", good("good"))
        .node("flaky", flaky("flaky"))
        .node("join", {
            let log = log.clone();
            move |s: &P, ctx: &Ctx| {
                log.add_with(ctx, "join", json!({"saw": s.path}));
                PUpdate::new().path(vec!["join".into()])
            }
        })
        .edge(START, "good")
        .edge(START, "flaky")
        .edge("good", "join")
        .edge("flaky", "join")
        .edge("join", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let s = stream(&g, PUpdate::new(), &cfg, &[StreamMode::Updates], &log, true).await;
    // The node's own error is surfaced (the reference raises ValueError; we wrap it).
    assert_eq!(s["error"]["error_type"], "NodeError");
    assert!(s["error"]["message"].as_str().unwrap().contains("boom"));
    check(&exp, "first_run_stream.supersteps", &s["supersteps"]);
    check(&exp, "first_run_stream.exec", &s["exec"]);
    let mut st = state(&g, &cfg, true).await;
    st["tasks"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|t| t["name"].to_string());
    assert_eq!(st["tasks"][0]["error"], "boom");
    st["tasks"][0]["error"] = json!("ValueError");
    let mut e = at(&exp, "state_after_failure").clone();
    e["tasks"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|t| t["name"].to_string());
    matches(&e, &st).unwrap();
    let mut h: Vec<Value> = history(&g, &cfg, false).await;
    let mut e = at(&exp, "history_after_failure").clone();
    for x in h.iter_mut().chain(e.as_array_mut().unwrap().iter_mut()) {
        x["next"]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|v| v.to_string());
    }
    matches(&e, &json!(h)).unwrap();
    // Fixed: only flaky runs again; good's saved write is reused.
    fail.store(false, Ordering::SeqCst);
    check(
        &exp,
        "rerun_none",
        &invoke(&g, Input::Continue, &cfg, &log, true).await,
    );
    check(
        &exp,
        "counters_after_rerun",
        &json!({"good": goods.load(Ordering::SeqCst), "flaky": flakies.load(Ordering::SeqCst)}),
    );

    // Sequential: a's superstep was committed, so only b runs again.
    fail.store(true, Ordering::SeqCst);
    let g2 = StateGraph::<P>::new()
        .node("a", good("good"))
        .node("b", flaky("flaky"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg2 = RunConfig::thread("seq");
    let r = invoke(&g2, PUpdate::new(), &cfg2, &log, false).await;
    check(&exp, "sequential_first.exec", &r["exec"]);
    let mut st = state(&g2, &cfg2, true).await;
    assert_eq!(st["tasks"][0]["error"], "boom");
    st["tasks"][0]["error"] = json!("ValueError");
    check(&exp, "sequential_state", &st);
    fail.store(false, Ordering::SeqCst);
    check(
        &exp,
        "sequential_rerun",
        &invoke(&g2, Input::Continue, &cfg2, &log, false).await,
    );

    // In-flight sibling: cancelled by the failure, never completes, runs again on resume.
    fail.store(true, Ordering::SeqCst);
    let (started, completed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (st2, co2, ls) = (started.clone(), completed.clone(), log.clone());
    let g4 = StateGraph::<P>::new()
        .node("slow", move |_: &P, ctx: &Ctx| {
            st2.fetch_add(1, Ordering::SeqCst);
            ls.add(ctx, "slow");
            let co = co2.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                co.fetch_add(1, Ordering::SeqCst);
                PUpdate::new().path(vec!["slow".into()])
            }
        })
        .node("flaky", {
            let (log, fail) = (log.clone(), fail.clone());
            move |_: &P, ctx: &Ctx| {
                let failing = fail.load(Ordering::SeqCst);
                log.add(ctx, "flaky");
                async move {
                    if failing {
                        return Err(NodeError::msg("boom"));
                    }
                    Ok(PUpdate::new().path(vec!["flaky".into()]))
                }
            }
        })
        .edge(START, "slow")
        .edge(START, "flaky")
        .edge("slow", END)
        .edge("flaky", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg4 = RunConfig::thread("inflight").durability(Durability::Sync);
    let r = invoke(&g4, PUpdate::new(), &cfg4, &log, false).await;
    check(&exp, "inflight_sibling_cancelled.first.exec", &r["exec"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    check(
        &exp,
        "inflight_sibling_cancelled.counters_after_first",
        &json!({"slow_started": started.load(Ordering::SeqCst), "slow_completed": completed.load(Ordering::SeqCst)}),
    );
    fail.store(false, Ordering::SeqCst);
    check(
        &exp,
        "inflight_sibling_cancelled.rerun_none",
        &invoke(&g4, Input::Continue, &cfg4, &log, false).await,
    );
    check(
        &exp,
        "inflight_sibling_cancelled.counters_after_rerun",
        &json!({"slow_started": started.load(Ordering::SeqCst), "slow_completed": completed.load(Ordering::SeqCst)}),
    );

    // Without a checkpointer the failure just propagates and a new run starts over.
    fail.store(true, Ordering::SeqCst);
    goods.store(0, Ordering::SeqCst);
    flakies.store(0, Ordering::SeqCst);
    let g3 = StateGraph::<P>::new()
        .node("good", good("good"))
        .node("flaky", flaky("flaky"))
        .node("join", mk(&log, "join"))
        .edge(START, "good")
        .edge(START, "flaky")
        .edge("good", "join")
        .edge("flaky", "join")
        .edge("join", END)
        .compile()
        .unwrap();
    let r = invoke(&g3, PUpdate::new(), &RunConfig::new(), &log, false).await;
    check(&exp, "no_checkpointer_first.exec", &r["exec"]);
    fail.store(false, Ordering::SeqCst);
    check(
        &exp,
        "no_checkpointer_second",
        &invoke(&g3, PUpdate::new(), &RunConfig::new(), &log, false).await,
    );
    check(
        &exp,
        "no_checkpointer_counters",
        &json!({"good": goods.load(Ordering::SeqCst), "flaky": flakies.load(Ordering::SeqCst)}),
    );
}
