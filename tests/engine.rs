//! Engine behaviour beyond the reference scenarios: concurrency, cancellation, errors,
//! reducers, streaming, drawing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use langgraph::prelude::*;
use langgraph::{GraphProblem, Outcome};

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Counter {
    counter: i64,
}

fn looping(steps: i64) -> CompiledGraph<Counter> {
    StateGraph::<Counter>::new()
        .node("step", |s: &Counter| {
            CounterUpdate::new().counter(s.counter + 1)
        })
        .edge(START, "step")
        .route(
            "step",
            move |s: &Counter| if s.counter < steps { "step" } else { END },
            ["step", END],
        )
        .compile()
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn stream_delivers_every_event_past_the_runtime_budget() {
    // Tokio's cooperative budget (128 operations) must not end a stream early.
    let g = looping(400);
    let mut s = g.stream(
        Counter::default(),
        &RunConfig::new(),
        StreamMode::Updates | StreamMode::Values,
    );
    let (mut updates, mut values, mut last) = (0, 0, 0);
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::Updates { node, update } => {
                assert_eq!(node, "step");
                updates += 1;
                assert_eq!(update.counter, Some(updates));
            }
            StreamEvent::Values(v) => {
                values += 1;
                last = v.counter;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((updates, values, last), (400, 401, 400));
}

#[tokio::test(flavor = "current_thread")]
async fn a_slow_consumer_holds_the_run_back() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let g = StateGraph::<Counter>::new()
        .node("step", move |s: &Counter| {
            r2.fetch_add(1, Ordering::SeqCst);
            CounterUpdate::new().counter(s.counter + 1)
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Counter| if s.counter < 1000 { "step" } else { END },
            ["step", END],
        )
        .compile()
        .unwrap();
    let mut s = g.stream(Counter::default(), &RunConfig::new(), StreamMode::Values);
    let first = s.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::Values(Counter { counter: 0 })));
    let ahead = ran.load(Ordering::SeqCst);
    // The run only advances while the stream is polled, and at most a buffer ahead.
    assert!(ahead <= 70, "ran {ahead} supersteps ahead of the consumer");
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(ran.load(Ordering::SeqCst), ahead);
    // Dropping the stream cancels the run.
    drop(s);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(ran.load(Ordering::SeqCst), ahead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compiled_graph_is_shared_by_concurrent_runs() {
    fn assert_shareable<T: Send + Sync + 'static>(_: &T) {}
    let g = Arc::new(looping(50));
    assert_shareable(&*g);
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let g = g.clone();
            tokio::spawn(async move {
                g.invoke(Counter::default(), &RunConfig::new())
                    .await
                    .unwrap()
                    .counter
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap(), 50);
    }
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Fan {
    #[reducer(append)]
    done: Vec<String>,
}

fn wide(n: usize, in_flight: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> StateGraph<Fan> {
    let mut g = StateGraph::<Fan>::new();
    for i in 0..n {
        let (f, p) = (in_flight.clone(), peak.clone());
        let name = format!("w{i}");
        g = g
            .node(name.clone(), move |_: &Fan| {
                let (f, p) = (f.clone(), p.clone());
                async move {
                    let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    f.fetch_sub(1, Ordering::SeqCst);
                    FanUpdate::new().done(vec![format!("w{i}")])
                }
            })
            .edge(START, name.clone())
            .edge(name, END);
    }
    g
}

#[tokio::test]
async fn max_concurrency_bounds_tasks_in_flight() {
    let (f, p) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let g = wide(10, f.clone(), p.clone()).compile().unwrap();
    let out = g
        .invoke(Fan::default(), &RunConfig::new().max_concurrency(2))
        .await
        .unwrap();
    assert_eq!(out.done.len(), 10);
    assert_eq!(p.load(Ordering::SeqCst), 2);
    // and unbounded by default: all ten overlap
    p.store(0, Ordering::SeqCst);
    g.invoke(Fan::default(), &RunConfig::new()).await.unwrap();
    assert_eq!(p.load(Ordering::SeqCst), 10);
    // writes are applied in node-name order whatever the completion order
    let mut sorted = out.done.clone();
    sorted.sort();
    assert_eq!(out.done, sorted);
}

#[tokio::test]
async fn a_failing_node_names_itself_and_cancels_running_siblings() {
    let finished = Arc::new(AtomicBool::new(false));
    let f2 = finished.clone();
    let g = StateGraph::<Fan>::new()
        .node("slow", move |_: &Fan| {
            let f = f2.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                f.store(true, Ordering::SeqCst);
                FanUpdate::new()
            }
        })
        .node("bad", |_: &Fan| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err::<FanUpdate, _>(std::io::Error::other("disk on fire"))
        })
        .edge(START, "slow")
        .edge(START, "bad")
        .edge("slow", END)
        .edge("bad", END)
        .compile()
        .unwrap();
    let e = g
        .invoke(Fan::default(), &RunConfig::new())
        .await
        .unwrap_err();
    match &e {
        RunError::Node {
            node,
            step,
            attempts,
            source,
        } => {
            assert_eq!((node.as_str(), *step, *attempts), ("bad", 1, 1));
            assert_eq!(source.to_string(), "disk on fire");
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("`bad`") && e.to_string().contains("superstep 1"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the in-flight sibling was not cancelled"
    );
}

#[test]
fn compile_reports_every_problem_at_once() {
    let e = StateGraph::<Fan>::new()
        .node("a", |_: &Fan| FanUpdate::new())
        .node("a", |_: &Fan| FanUpdate::new())
        .node("orphan", |_: &Fan| FanUpdate::new())
        .node("dead", |_: &Fan| FanUpdate::new())
        .edge(START, "a")
        .edge("a", "ghost")
        .edge("a", "dead")
        .route("a", |_: &Fan| END, Vec::<String>::new())
        .interrupt_before(["nope"])
        .compile()
        .unwrap_err();
    let p = &e.problems;
    assert!(p.contains(&GraphProblem::DuplicateNode("a".into())), "{e}");
    assert!(p.contains(&GraphProblem::UnknownNode {
        context: "edge `a` -> `ghost`".into(),
        name: "ghost".into()
    }));
    assert!(p.contains(&GraphProblem::EmptyRoute("a".into())));
    assert!(p.contains(&GraphProblem::Unreachable("orphan".into())));
    assert!(p.contains(&GraphProblem::DeadEnd("dead".into())));
    assert!(p.contains(&GraphProblem::DeadEnd("orphan".into())));
    assert!(p.contains(&GraphProblem::UnknownNode {
        context: "interrupt_before".into(),
        name: "nope".into()
    }));
    let text = e.to_string();
    assert!(text.contains("7 problems"), "{text}");
    let e = StateGraph::<Fan>::new()
        .node("a", |_: &Fan| FanUpdate::new())
        .edge("a", END)
        .compile()
        .unwrap_err();
    assert!(e.problems.contains(&GraphProblem::NoEntry));
}

#[tokio::test]
async fn routers_must_stay_within_declared_targets() {
    let g = StateGraph::<Counter>::new()
        .node("a", |_: &Counter| CounterUpdate::new())
        .node("b", |_: &Counter| CounterUpdate::new())
        .node("c", |_: &Counter| CounterUpdate::new())
        .edge(START, "a")
        .route("a", |_: &Counter| "c", ["b", END])
        .edge("b", "c")
        .edge("c", END)
        .compile()
        .unwrap();
    let e = g
        .invoke(Counter::default(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RunError::UndeclaredTarget { from, target, declared }
        if from == "a" && target == "c" && declared == &["b", END]),
        "{e}"
    );
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Job(u32);

#[tokio::test]
async fn payload_types_are_checked() {
    // A plain edge into a payload node cannot compile...
    let e = StateGraph::<Fan>::new()
        .node_with_input("w", |j: Job| FanUpdate::new().done(vec![j.0.to_string()]))
        .edge(START, "w")
        .edge("w", END)
        .compile()
        .unwrap_err();
    assert!(
        matches!(e.problems[0], GraphProblem::PayloadNodeOnEdge { .. }),
        "{e}"
    );
    // ...and a SendTo with the wrong payload type is a typed run error.
    let g = StateGraph::<Fan>::new()
        .node_with_input("w", |j: Job| FanUpdate::new().done(vec![j.0.to_string()]))
        .route(
            START,
            |_: &Fan| Route::send("w", "not a job".to_string()),
            ["w"],
        )
        .edge("w", END)
        .compile()
        .unwrap();
    let e = g
        .invoke(Fan::default(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RunError::InputType { node, .. } if node == "w"),
        "{e}"
    );
    assert!(e.to_string().contains("String"), "{e}");
}

fn max_of(current: &mut i64, update: i64) {
    *current = (*current).max(update);
}

fn concat(current: String, update: String) -> String {
    format!("{current}{update}")
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Kinds {
    #[reducer(merge)]
    scores: BTreeMap<String, i64>,
    #[reducer(fn = max_of)]
    best: i64,
    #[reducer(fn = concat)]
    text: String,
    #[state(ephemeral)]
    hint: Option<String>,
    #[reducer(append)]
    log: Vec<String>,
    seen_hint: Vec<Option<String>>,
}

#[tokio::test]
async fn reducers_merge_custom_ephemeral_and_overwrite() {
    let g = StateGraph::<Kinds>::new()
        .node("a", |_: &Kinds| {
            KindsUpdate::new()
                .scores(BTreeMap::from([("x".into(), 1), ("y".into(), 2)]))
                .best(5)
                .text("ab")
                .hint(Some("only for b".into()))
                .log(vec!["a".into()])
        })
        .node("b", |s: &Kinds| {
            let mut seen = s.seen_hint.clone();
            seen.push(s.hint.clone());
            KindsUpdate::new()
                .scores(BTreeMap::from([("y".into(), 20)]))
                .best(3)
                .text("cd")
                .seen_hint(seen)
                .overwrite_log(vec!["reset".into()])
        })
        .node("c", |s: &Kinds| {
            let mut seen = s.seen_hint.clone();
            seen.push(s.hint.clone());
            KindsUpdate::new().seen_hint(seen)
        })
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
        .compile()
        .unwrap();
    let out = g.invoke(Kinds::default(), &RunConfig::new()).await.unwrap();
    assert_eq!(
        out.scores,
        BTreeMap::from([("x".into(), 1), ("y".into(), 20)])
    );
    assert_eq!(out.best, 5);
    assert_eq!(out.text, "abcd");
    // the ephemeral hint was visible to b (the next superstep) only
    assert_eq!(out.seen_hint, vec![Some("only for b".to_string()), None]);
    assert_eq!(out.hint, None);
    // overwrite bypasses the append reducer
    assert_eq!(out.log, vec!["reset".to_string()]);
}

#[tokio::test]
async fn node_errors_convert_from_any_error_type() {
    async fn io_fail(_: &Counter) -> Result<CounterUpdate, std::io::Error> {
        Err(std::io::Error::other("io"))
    }
    async fn text_fail(_: &Counter) -> Result<CounterUpdate, String> {
        Err("text".into())
    }
    async fn question_mark(_: &Counter) -> Result<CounterUpdate, NodeError> {
        let n: i64 = "x".parse()?;
        Ok(CounterUpdate::new().counter(n))
    }
    for (name, want) in [("io", "io"), ("text", "text"), ("qm", "invalid digit")] {
        let g = StateGraph::<Counter>::new();
        let g = match name {
            "io" => g.node(name, io_fail),
            "text" => g.node(name, text_fail),
            _ => g.node(name, question_mark),
        };
        let g = g.edge(START, name).edge(name, END).compile().unwrap();
        let e = g
            .invoke(Counter::default(), &RunConfig::new())
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[tokio::test]
async fn outputs_deref_and_convert() {
    let out = looping(3)
        .invoke(Counter::default(), &RunConfig::new())
        .await
        .unwrap();
    assert_eq!(out.counter, 3);
    assert!(!out.is_interrupted());
    assert!(out.checkpoint_id.is_none());
    match out.clone().into_outcome() {
        Outcome::Done(s) => assert_eq!(s.counter, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(out.into_value().counter, 3);
}

#[test]
fn drawings_show_every_edge_kind() {
    let g = StateGraph::<Fan>::new()
        .node("plan", |_: &Fan| Command::<Fan>::goto("fix"))
        .goto_targets("plan", ["fix"])
        .node("a", |_: &Fan| FanUpdate::new())
        .node("b", |_: &Fan| FanUpdate::new())
        .node("fix", |_: &Fan| FanUpdate::new())
        .node("join", |_: &Fan| FanUpdate::new())
        .defer("join")
        .edge(START, "plan")
        .route_map("plan", |_: &Fan| "left", [("left", "a"), ("right", "b")])
        .join(["a", "b"], "join")
        .edge("fix", END)
        .edge("join", END)
        .compile()
        .unwrap();
    let m = g.draw_mermaid();
    assert!(m.starts_with("---\ntitle: Fan\n---\nflowchart TD"), "{m}");
    for needle in [
        "__start__ --> plan",
        "plan -. left .-> a",
        "plan -. right .-> b",
        "plan -. goto .-> fix",
        "a == join ==> join",
        "join[\"join (deferred)\"]",
        "fix --> __end__",
    ] {
        assert!(m.contains(needle), "missing `{needle}` in\n{m}");
    }
    let a = g.draw_ascii();
    assert!(
        a.contains("plan -> a? [left], b? [right], fix (goto)"),
        "{a}"
    );
    assert_eq!(
        g.nodes().collect::<Vec<_>>(),
        ["plan", "a", "b", "fix", "join"]
    );
    assert_eq!(g.name(), "Fan");
}

/// A node may keep its context past its task: later supersteps get contexts of their own (the
/// loop reuses a superstep's context only when no handle to it is left), so a kept handle
/// still describes the task it was given to.
#[tokio::test]
async fn a_context_kept_past_its_task_stays_that_tasks() {
    let kept: Arc<std::sync::Mutex<Vec<Ctx>>> = Arc::default();
    let seen: Arc<std::sync::Mutex<Vec<(i64, String)>>> = Arc::default();
    let (k, s) = (kept.clone(), seen.clone());
    let g = StateGraph::<Counter>::new()
        .node("step", move |c: &Counter, ctx: &Ctx| {
            s.lock()
                .unwrap()
                .push((ctx.step(), ctx.task_id().to_string()));
            // Keep the handle of odd supersteps only: the others can be reused.
            if ctx.step() % 2 == 1 {
                k.lock().unwrap().push(ctx.clone());
            }
            CounterUpdate::new().counter(c.counter + 1)
        })
        .edge(START, "step")
        .route(
            "step",
            |c: &Counter| if c.counter < 6 { "step" } else { END },
            ["step", END],
        )
        .compile()
        .unwrap();
    let out = g
        .invoke(Counter::default(), &RunConfig::new())
        .await
        .unwrap();
    assert_eq!(out.counter, 6);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|(step, _)| *step).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let ids: std::collections::HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 6, "every task has its own id: {seen:?}");
    let kept = kept.lock().unwrap();
    assert_eq!(kept.len(), 3);
    for ctx in kept.iter() {
        let (step, id) = seen.iter().find(|(step, _)| *step == ctx.step()).unwrap();
        assert_eq!(ctx.step(), *step);
        assert_eq!(ctx.task_id(), id.as_str());
        assert_eq!(ctx.node(), "step");
    }
}
