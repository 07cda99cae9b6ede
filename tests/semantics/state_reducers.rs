//! Scenarios 01, 02, 04, 05, 07, 08: channels and reducers.

use std::time::Duration;

use langgraph::prelude::*;
use serde_json::json;

use crate::common::*;

mod s01 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub x: i64,
        pub y: String,
    }

    pub fn graph(log: &Log) -> CompiledGraph<S> {
        let (la, lb) = (log.clone(), log.clone());
        StateGraph::<S>::new()
            .node("a", move |s: &S, ctx: &Ctx| {
                la.add(ctx, "a");
                SUpdate::new().x(s.x + 1).y("from_a")
            })
            .node("b", move |s: &S, ctx: &Ctx| {
                lb.add(ctx, "b");
                SUpdate::new().x(s.x * 10)
            })
            .edge(START, "a")
            .edge("a", "b")
            .edge("b", END)
            .compile_with(InMemorySaver::new())
            .unwrap()
    }
}

#[tokio::test]
async fn s01_last_value_overwrite() {
    use s01::*;
    let exp = expected("01_last_value_overwrite");
    let log = Log::new();
    let g = graph(&log);
    let cfg = RunConfig::thread("t1");
    check(
        &exp,
        "invoke",
        &invoke(&g, SUpdate::new().x(1), &cfg, &log, false).await,
    );
    let s = stream(
        &g,
        SUpdate::new().x(5).y("input"),
        &RunConfig::thread("t2"),
        &[StreamMode::Updates, StreamMode::Values],
        &log,
        false,
    )
    .await;
    check(&exp, "stream_updates_values", &s);
    check(&exp, "history_t1", &json!(history(&g, &cfg, false).await));
}

mod s02 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        #[reducer(append)]
        pub items: Vec<String>,
        pub n: i64,
    }
}

#[tokio::test]
async fn s02_append_reducer() {
    use s02::*;
    let exp = expected("02_append_reducer");
    let log = Log::new();
    let (la, lb) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node("a", move |s: &S, ctx: &Ctx| {
            la.add(ctx, "a");
            SUpdate::new().items(vec!["a".into()]).n(s.n + 1)
        })
        .node("b", move |_: &S, ctx: &Ctx| {
            lb.add(ctx, "b");
            SUpdate::new().items(vec!["b1".into(), "b2".into()])
        })
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t1");
    let input = SUpdate::new().items(vec!["in".into()]).n(0);
    let s = stream(
        &g,
        input,
        &cfg,
        &[StreamMode::Updates, StreamMode::Values],
        &log,
        false,
    )
    .await;
    check(&exp, "stream", &s);
    check(&exp, "final_state", &state(&g, &cfg, true).await);
    check(&exp, "history", &json!(history(&g, &cfg, false).await));
}

mod s04 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub x: i64,
        pub other: String,
    }

    pub fn build(bx: Option<i64>, log: &Log) -> CompiledGraph<S> {
        let (la, lb) = (log.clone(), log.clone());
        StateGraph::<S>::new()
            .node("a", move |_: &S, ctx: &Ctx| {
                la.add(ctx, "a");
                SUpdate::new().x(1)
            })
            .node("b", move |_: &S, ctx: &Ctx| {
                lb.add(ctx, "b");
                match bx {
                    Some(v) => SUpdate::new().x(v),
                    None => SUpdate::new().other("from_b"),
                }
            })
            .edge(START, "a")
            .edge(START, "b")
            .edge("a", END)
            .edge("b", END)
            .compile_with(InMemorySaver::new())
            .unwrap()
    }
}

#[tokio::test]
async fn s04_parallel_same_key_conflict() {
    use s04::*;
    let exp = expected("04_parallel_same_key_conflict");
    let log = Log::new();
    let g = build(Some(2), &log);
    let cfg = RunConfig::thread("t1");
    let r = invoke(&g, SUpdate::new().x(0), &cfg, &log, false).await;
    check(&exp, "conflict_different_values.exec", &r["exec"]);
    check(
        &exp,
        "conflict_different_values.error.error_type",
        &r["error"]["error_type"],
    );
    // The error names the channel and both writers.
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("`x`") && msg.contains("`a`") && msg.contains("`b`"),
        "{msg}"
    );
    // Required: the failed superstep is not committed (history ends at c1).
    check(
        &exp,
        "history_after_error",
        &json!(history(&g, &cfg, false).await),
    );
    // Resuming does not silently commit a conflicting superstep: both tasks' writes were kept
    // as pending writes, so continuing fails again without re-running them.
    let again = invoke(&g, Input::Continue, &cfg, &log, false).await;
    assert_eq!(
        again["error"]["error_type"], "InvalidUpdateError",
        "{again}"
    );
    assert_eq!(again["exec"], json!([]));

    let g2 = build(Some(1), &log);
    let r = invoke(
        &g2,
        SUpdate::new().x(0),
        &RunConfig::thread("t2"),
        &log,
        false,
    )
    .await;
    check(
        &exp,
        "conflict_same_values.error.error_type",
        &r["error"]["error_type"],
    );
    let g3 = build(None, &log);
    let r = invoke(
        &g3,
        SUpdate::new().x(0),
        &RunConfig::thread("t3"),
        &log,
        false,
    )
    .await;
    check(&exp, "control_disjoint_keys", &r);
}

mod s05 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        #[reducer(append)]
        pub items: Vec<String>,
    }
}

#[tokio::test]
async fn s05_parallel_same_key_reducer_order_is_by_name_not_completion() {
    use s05::*;
    let exp = expected("05_parallel_same_key_reducer");
    let log = Log::new();
    let mut g = StateGraph::<S>::new();
    // zeta finishes first, alpha last: the merged order must still be alpha, mid, zeta.
    for (name, delay) in [("zeta", 0u64), ("alpha", 60), ("mid", 30)] {
        let l = log.clone();
        g = g
            .node(name, move |_: &S, ctx: &Ctx| {
                let l = l.clone();
                let step = ctx.step();
                let _ = step;
                l.add(ctx, name);
                async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    SUpdate::new().items(vec![name.to_string()])
                }
            })
            .edge(START, name)
            .edge(name, "join");
    }
    let lj = log.clone();
    let g = g
        .node("join", move |s: &S, ctx: &Ctx| {
            lj.add_with(ctx, "join", json!({"saw": s.items}));
            SUpdate::new().items(vec!["join".into()])
        })
        .edge("join", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let r = invoke(&g, SUpdate::new(), &RunConfig::thread("t1"), &log, true).await;
    check(&exp, "run1", &r);
    let s = stream(
        &g,
        SUpdate::new(),
        &RunConfig::thread("t2"),
        &[StreamMode::Updates],
        &log,
        false,
    )
    .await;
    check(&exp, "run2_stream", &s);
    check(
        &exp,
        "run2_state",
        &state(&g, &RunConfig::thread("t2"), false).await,
    );
}

mod s07 {
    use super::*;

    /// `note` is an `Option`: in a typed state "never written" is `None`. (The reference can also
    /// tell an explicit null from an absent key; a typed state cannot, on purpose.)
    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub x: Option<i64>,
        pub y: Option<i64>,
        pub z: Option<i64>,
        pub note: Option<String>,
    }
}

#[tokio::test]
async fn s07_partial_updates() {
    use s07::*;
    let exp = expected("07_partial_updates");
    let log = Log::new();
    let (la, lb) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node("a", move |s: &S, ctx: &Ctx| {
            la.add_with(ctx, "a", json!({"saw": s}));
            SUpdate::new().y(Some(1))
        })
        .node("b", move |s: &S, ctx: &Ctx| {
            lb.add_with(ctx, "b", json!({"saw": s}));
            SUpdate::new().z(Some(2))
        })
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t1");
    let s = stream(
        &g,
        SUpdate::new().x(Some(10)),
        &cfg,
        &[StreamMode::Updates, StreamMode::Values],
        &log,
        true,
    )
    .await;
    check(&exp, "stream", &s);
    check(&exp, "final_state", &state(&g, &cfg, false).await);
    // Unmentioned channels keep their values; a channel nobody wrote is its default (None).
    let r = invoke(
        &g,
        SUpdate::new().x(Some(10)).note(None),
        &RunConfig::thread("t2"),
        &log,
        true,
    )
    .await;
    check(&exp, "explicit_null_input.result", &r["result"]);
    // An update may write `None` explicitly (JSON null), and it survives the update's serde
    // round trip as a write.
    let u: SUpdate = serde_json::from_value(json!({"note": null})).unwrap();
    assert_eq!(u.note, Some(None));
    assert_eq!(serde_json::to_value(&u).unwrap(), json!({"note": null}));
}

mod s08 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub x: i64,
        #[reducer(append)]
        pub log: Vec<String>,
    }
}

#[tokio::test]
async fn s08_node_returns_nothing() {
    use s08::*;
    let exp = expected("08_node_returns_nothing");
    let log = Log::new();
    let (la, ln, le, lb) = (log.clone(), log.clone(), log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node("a", move |s: &S, ctx: &Ctx| {
            la.add(ctx, "a");
            SUpdate::new().x(s.x + 1).log(vec!["a".into()])
        })
        .node("noop_none", move |_: &S, ctx: &Ctx| {
            ln.add(ctx, "noop_none")
        })
        .node("noop_empty", move |_: &S, ctx: &Ctx| {
            le.add(ctx, "noop_empty");
            SUpdate::new()
        })
        .node("b", move |_: &S, ctx: &Ctx| {
            lb.add(ctx, "b");
            SUpdate::new().log(vec!["b".into()])
        })
        .edge(START, "a")
        .edge("a", "noop_none")
        .edge("noop_none", "noop_empty")
        .edge("noop_empty", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t1");
    let s = stream(
        &g,
        SUpdate::new().x(1),
        &cfg,
        &[StreamMode::Updates, StreamMode::Values],
        &log,
        false,
    )
    .await;
    // Like the reference, a superstep that writes nothing emits no values event; its node's
    // update is an empty object (the reference shows null).
    check(&exp, "stream", &s);
    check(&exp, "history", &json!(history(&g, &cfg, false).await));
}
