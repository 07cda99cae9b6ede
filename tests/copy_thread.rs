//! Copying threads (`Checkpointer::copy_thread`) under real graphs, in memory, on SQLite and
//! on PostgreSQL: a thread paused inside a subgraph is copied, and the two threads are
//! answered differently; each goes its own way, and the copy keeps the per-thread subgraph's
//! history too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

/// The helper's state: everything said to it.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    said: Vec<String>,
}

/// The caller's state: the helper's transcript after each turn.
#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Turns {
    #[reducer(append)]
    replies: Vec<String>,
}

/// START -> talk -> END, where talk says the last reply to a helper that asks "ok?" and
/// remembers the conversation (`Persistence::PerThread`).
fn app(saver: Arc<dyn Checkpointer>) -> (CompiledGraph<Turns>, CompiledGraph<Chat>) {
    let helper = StateGraph::<Chat>::new()
        .node("ask", |_: &Chat, ctx: Ctx| async move {
            let answer: String = ctx.interrupt("ok?").await?;
            Ok::<_, NodeError>(ChatUpdate::new().said(vec![format!("answer:{answer}")]))
        })
        .edge(START, "ask")
        .edge("ask", END)
        .persistence(Persistence::PerThread)
        .compile_with_shared(saver.clone())
        .unwrap();
    let sub = helper.clone();
    let g = StateGraph::<Turns>::new()
        .node("talk", move |s: &Turns, ctx: Ctx| {
            let sub = sub.clone();
            let line = s.replies.last().cloned().unwrap_or_default();
            async move {
                let out = ctx.invoke(&sub, ChatUpdate::new().said(vec![line])).await?;
                Ok::<_, NodeError>(TurnsUpdate::new().replies(vec![out.said.join(",")]))
            }
        })
        .edge(START, "talk")
        .edge("talk", END)
        .compile_with_shared(saver)
        .unwrap();
    (g, helper)
}

async fn answered_two_ways(saver: Arc<dyn Checkpointer>) {
    let (g, helper) = app(saver.clone());
    let (a, b) = (RunConfig::thread("a"), RunConfig::thread("b"));
    let say = |line: &str| TurnsUpdate::new().replies(vec![line.to_string()]);
    g.invoke(say("hi"), &a).await.unwrap();
    g.resume(&a, "first").await.unwrap();
    assert!(g.invoke(say("again"), &a).await.unwrap().is_interrupted());
    saver.copy_thread("a", "b").await.unwrap();
    // The copy reads as its source: paused at the same question.
    let (sa, sb) = (
        g.get_state(&a).await.unwrap(),
        g.get_state(&b).await.unwrap(),
    );
    assert_eq!(sb.values, sa.values);
    assert_eq!(sb.next, sa.next);
    assert_eq!(sb.interrupts[0].value, json!("ok?"));
    let history = |cfg: RunConfig| {
        let g = g.clone();
        async move {
            g.state_history(&cfg, &Default::default())
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(history(b.clone()).await, history(a.clone()).await);
    // Answered two ways, the threads go their own.
    let out_a = g.resume(&a, "yes").await.unwrap();
    let out_b = g.resume(&b, "no").await.unwrap();
    let first = "hi,answer:first";
    assert_eq!(
        out_a.replies.last().unwrap(),
        &format!("{first},again,answer:yes")
    );
    assert_eq!(
        out_b.replies.last().unwrap(),
        &format!("{first},again,answer:no")
    );
    // Each thread's helper remembers its own conversation.
    let said = |cfg: &RunConfig| {
        let (helper, cfg) = (helper.clone(), cfg.clone().checkpoint_ns("talk"));
        async move { helper.get_state(&cfg).await.unwrap().values.said }
    };
    assert_eq!(said(&a).await.last().unwrap(), "answer:yes");
    assert_eq!(said(&b).await.last().unwrap(), "answer:no");
    // A thread that has checkpoints is not overwritten by a copy.
    let e = saver.copy_thread("a", "b").await.unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(g.get_state(&b).await.unwrap().values, out_b.into_value());
}

#[tokio::test]
async fn a_copied_thread_goes_its_own_way_in_memory() {
    answered_two_ways(Arc::new(InMemorySaver::new())).await;
}

async fn on(store: &Store) {
    answered_two_ways(store.open().await).await;
}

on_both!(on:
    a_copied_thread_goes_its_own_way_on_sqlite,
    a_copied_thread_goes_its_own_way_on_postgres);
