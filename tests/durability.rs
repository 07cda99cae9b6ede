//! Durability modes, incremental storage, breakpoints after nodes, several interrupts in one
//! node, and interrupts without a checkpointer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use langgraph::prelude::*;
use langgraph::{SqliteSaver, StorageStats};
use serde_json::json;

#[path = "support/counter.rs"]
mod counter;
use counter::*;

#[tokio::test]
async fn sync_and_async_store_every_superstep_exit_only_the_end() {
    for d in [Durability::Sync, Durability::Async] {
        let g = looping(10).compile_with(InMemorySaver::new()).unwrap();
        g.invoke(Counter::default(), &RunConfig::thread("t").durability(d))
            .await
            .unwrap();
        let h = checkpoints(&g, "t").await;
        assert_eq!(h.len(), 12, "{d:?}: input + start + 10 supersteps");
        assert_eq!(h[0].values.counter, 10);
        assert_eq!(
            h[5].values.counter, 5,
            "{d:?}: each checkpoint is its superstep's state"
        );
    }
    let g = looping(10).compile_with(InMemorySaver::new()).unwrap();
    let out = g
        .invoke(
            Counter::default(),
            &RunConfig::thread("t").durability(Durability::Exit),
        )
        .await
        .unwrap();
    assert_eq!(out.counter, 10);
    let h = checkpoints(&g, "t").await;
    // only the final one, as the child of nothing
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].values, out.value);
    assert!(h[0].next.is_empty());
    assert_eq!(h[0].parent_checkpoint_id, None);
    assert_eq!(h[0].step(), Some(10));
    // and the thread continues normally
    let out = g
        .invoke(
            CounterUpdate::new().counter(5),
            &RunConfig::thread("t").durability(Durability::Exit),
        )
        .await
        .unwrap();
    assert_eq!(out.counter, 10);
    assert_eq!(out.log.len(), 15);
    let h = checkpoints(&g, "t").await;
    assert_eq!(h.len(), 2, "one more, the child of the first");
    assert_eq!(h[0].parent_checkpoint_id, h[1].checkpoint_id);
}

#[tokio::test]
async fn exit_durability_still_resumes_an_interrupt() {
    let g = StateGraph::<Counter>::new()
        .node("a", |s: &Counter| {
            CounterUpdate::new().counter(s.counter + 1)
        })
        .node("ask", |s: &Counter, ctx: Ctx| {
            let c = s.counter;
            async move {
                let ok: bool = ctx.interrupt(json!({"counter": c})).await?;
                Ok::<_, NodeError>(CounterUpdate::new().log(vec![format!("ok={ok}")]))
            }
        })
        .edge(START, "a")
        .edge("a", "a2")
        .node("a2", |s: &Counter| {
            CounterUpdate::new().counter(s.counter + 1)
        })
        .edge("a2", "ask")
        .edge("ask", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("x").durability(Durability::Exit);
    let out = g.invoke(Counter::default(), &cfg).await.unwrap();
    assert!(out.is_interrupted());
    assert_eq!(out.interrupts[0].value, json!({"counter": 2}));
    let out = g.resume(&cfg, true).await.unwrap();
    assert_eq!(out.log, ["ok=true"]);
    assert_eq!(out.counter, 2, "a and a2 did not run again");
}

#[tokio::test]
async fn append_channels_are_stored_as_deltas() {
    // 200 supersteps appending 1 KB each: stored bytes stay linear in the history.
    let saver = std::sync::Arc::new(InMemorySaver::new());
    let big = "x".repeat(1000);
    let g = StateGraph::<Counter>::new()
        .node("step", move |s: &Counter| {
            CounterUpdate::new()
                .counter(s.counter + 1)
                .log(vec![big.clone()])
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Counter| if s.counter < 200 { "step" } else { END },
            ["step", END],
        )
        .compile_with_shared(saver.clone())
        .unwrap();
    let cfg = RunConfig::thread("growth").durability(Durability::Sync);
    g.invoke(Counter::default(), &cfg).await.unwrap();
    let st: StorageStats = saver.stats("growth");
    let raw = 200 * 1002;
    assert!(
        st.total_bytes() < 3 * raw,
        "stored {} bytes for {raw} raw bytes",
        st.total_bytes()
    );
    // and every historical checkpoint reads back exactly
    let h = checkpoints(&g, "growth").await;
    assert_eq!(h[0].values.log.len(), 200);
    for s in &h {
        assert_eq!(s.values.log.len() as i64, s.values.counter);
    }
}

#[tokio::test]
async fn sqlite_stores_deltas_too_and_reads_them_back() {
    let dir = std::env::temp_dir().join(format!("lg-dur-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saver = SqliteSaver::open(dir.join("d.sqlite")).await.unwrap();
    let big = "y".repeat(1000);
    let g = StateGraph::<Counter>::new()
        .node("step", move |s: &Counter| {
            CounterUpdate::new()
                .counter(s.counter + 1)
                .log(vec![big.clone()])
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Counter| if s.counter < 150 { "step" } else { END },
            ["step", END],
        )
        .compile_with(saver.clone())
        .unwrap();
    let cfg = RunConfig::thread("growth").durability(Durability::Sync);
    g.invoke(Counter::default(), &cfg).await.unwrap();
    let st = saver.stats("growth").await.unwrap();
    assert!(st.total_bytes() < 3 * 150 * 1002, "{st:?}");
    let h = checkpoints(&g, "growth").await;
    assert_eq!(h.len(), 152);
    for s in &h {
        assert_eq!(s.values.log.len() as i64, s.values.counter);
    }
}

#[tokio::test]
async fn interrupt_after_pauses_once_the_node_ran() {
    let g = looping(3)
        .interrupt_after(["step"])
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let out = g.invoke(Counter::default(), &cfg).await.unwrap();
    assert!(out.is_interrupted() && out.interrupts.is_empty());
    assert_eq!(out.counter, 1);
    assert_eq!(g.get_state(&cfg).await.unwrap().next, ["step"]);
    assert_eq!(g.continue_run(&cfg).await.unwrap().counter, 2);
    assert_eq!(g.continue_run(&cfg).await.unwrap().counter, 3);
    // the last run finished: no pause after the final superstep
    let done = g.continue_run(&cfg).await.unwrap();
    assert!(!done.is_interrupted());
    assert_eq!(done.counter, 3);
}

#[tokio::test]
async fn several_interrupts_in_one_node_are_matched_by_order() {
    let g = StateGraph::<Counter>::new()
        .node("form", |_: &Counter, ctx: Ctx| async move {
            let name: String = ctx.interrupt("name?").await?;
            let age: u32 = ctx.interrupt("age?").await?;
            Ok::<_, NodeError>(CounterUpdate::new().log(vec![format!("{name}:{age}")]))
        })
        .edge(START, "form")
        .edge("form", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("f");
    let out = g.invoke(Counter::default(), &cfg).await.unwrap();
    assert_eq!(out.interrupts[0].value, json!("name?"));
    let first_id = out.interrupts[0].id.clone();
    let out = g.resume(&cfg, "ann").await.unwrap();
    assert_eq!(out.interrupts[0].value, json!("age?"));
    assert_ne!(out.interrupts[0].id, first_id);
    // the answer is checked against the second question's schema (an integer)
    assert!(matches!(
        g.resume(&cfg, "old").await,
        Err(RunError::InvalidResume(_))
    ));
    let out = g.resume(&cfg, 41).await.unwrap();
    assert!(!out.is_interrupted());
    assert_eq!(out.log, ["ann:41"]);
}

#[tokio::test]
async fn interrupts_without_a_checkpointer_pause_but_cannot_resume() {
    let g = StateGraph::<Counter>::new()
        .node("ask", |_: &Counter, ctx: Ctx| async move {
            let _: String = ctx.interrupt("?").await?;
            Ok::<_, NodeError>(CounterUpdate::new())
        })
        .edge(START, "ask")
        .edge("ask", END)
        .compile()
        .unwrap();
    let out = g
        .invoke(Counter::default(), &RunConfig::new())
        .await
        .unwrap();
    assert!(out.is_interrupted());
    let e = g.resume(&RunConfig::new(), "x").await.unwrap_err();
    assert!(matches!(e, RunError::NoCheckpointer(_)), "{e}");
    let e = g.get_state(&RunConfig::thread("t")).await.unwrap_err();
    assert!(matches!(e, RunError::NoCheckpointer(_)), "{e}");
}

#[tokio::test]
async fn a_checkpointer_needs_a_thread() {
    let g = looping(1).compile_with(InMemorySaver::new()).unwrap();
    let e = g
        .invoke(Counter::default(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::NoThread(_)), "{e}");
    assert!(e.to_string().contains("RunConfig::thread"));
}
