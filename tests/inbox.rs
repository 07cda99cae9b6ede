//! A human-in-the-loop inbox under real graphs, in memory, on SQLite and on PostgreSQL: the
//! threads waiting for an answer (`ThreadStatus::Interrupted`) and those a failed task stopped
//! (`ThreadStatus::Failed`) are listed by `Checkpointer::threads`, exactly the threads whose
//! `get_state` shows a question or a failed task, and the inbox empties as answers come in.
//! Threads paused at a static breakpoint (`interrupt_before` / `interrupt_after`) wait for a
//! human too: they list as `Interrupted` until a run goes on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Claim {
    text: String,
    #[reducer(append)]
    log: Vec<String>,
}

/// The subgraph some claims go through: it asks a question of its own.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Check {
    #[reducer(append)]
    log: Vec<String>,
}

fn checking(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Check> {
    StateGraph::<Check>::new()
        .node("check", |_: &Check, ctx: Ctx| async move {
            let answer: String = ctx.interrupt("checked?").await?;
            Ok::<_, NodeError>(CheckUpdate::new().log(vec![format!("check:{answer}")]))
        })
        .edge(START, "check")
        .edge("check", END)
        .compile_with_shared(saver)
        .unwrap()
}

/// START -> {intake, audit} -> file -> END. What a claim's text holds decides: `ask` makes
/// intake ask a question (`twice`: two), `sub` makes it ask through the subgraph, `fail` makes
/// audit fail (after intake asked, with `ask`), `flaky` makes audit fail on its first run only.
fn claims(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Claim> {
    let sub = checking(saver.clone());
    let flaked = Arc::new(AtomicBool::new(false));
    StateGraph::<Claim>::new()
        .node("intake", move |c: &Claim, ctx: Ctx| {
            let (text, sub) = (c.text.clone(), sub.clone());
            async move {
                let mut log = Vec::new();
                if text.contains("ask") {
                    let a: String = ctx.interrupt(format!("is {text} right?")).await?;
                    log.push(format!("intake:{a}"));
                }
                if text.contains("twice") {
                    let a: String = ctx.interrupt("and the amount?").await?;
                    log.push(format!("amount:{a}"));
                }
                if text.contains("sub") {
                    log.extend(ctx.invoke(&sub, CheckUpdate::new()).await?.log);
                }
                log.push("intake".into());
                Ok::<_, NodeError>(ClaimUpdate::new().log(log))
            }
        })
        .node("audit", move |c: &Claim| {
            let text = c.text.clone();
            let flaked = flaked.clone();
            async move {
                let flaky = text.contains("flaky") && !flaked.swap(true, Ordering::SeqCst);
                if text.contains("ask") {
                    // A failure after the sibling asked: the superstep stops with both (a
                    // failure cancels the siblings still running).
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                if text.contains("fail") || flaky {
                    return Err(NodeError::msg(format!("audit of {text} failed")));
                }
                Ok(ClaimUpdate::new().log(vec!["audit".into()]))
            }
        })
        .node("file", |_: &Claim| {
            ClaimUpdate::new().log(vec!["filed".into()])
        })
        .edge(START, "intake")
        .edge(START, "audit")
        .edge("intake", "file")
        .edge("audit", "file")
        .edge("file", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn claim(text: &str) -> ClaimUpdate {
    ClaimUpdate::new().text(text)
}

fn cfg(thread: &str) -> RunConfig {
    RunConfig::thread(thread)
}

/// The ids `query` lists.
async fn ids(saver: &dyn Checkpointer, query: ThreadQuery) -> Vec<String> {
    let found = saver.threads(&query).await.unwrap();
    found.into_iter().map(|t| t.thread_id).collect()
}

/// What `get_state` says of each thread: (has an open question, has a failed unfinished task).
async fn seen(g: &CompiledGraph<Claim>, threads: &[&str]) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for t in threads {
        let s = g.get_state(&cfg(t)).await.unwrap();
        let failed = s
            .tasks
            .iter()
            .any(|task| task.error.is_some() && task.result.is_none());
        out.push((t.to_string(), !s.interrupts.is_empty(), failed));
    }
    out
}

/// The threads `get_state` shows with a question (`Interrupted`) or a failed task.
fn expected(seen: &[(String, bool, bool)], status: ThreadStatus) -> Vec<String> {
    let mut v: Vec<String> = seen
        .iter()
        .filter(|(_, asked, failed)| match status {
            ThreadStatus::Interrupted => *asked,
            ThreadStatus::Failed => *failed,
        })
        .map(|(t, _, _)| t.clone())
        .collect();
    v.sort();
    v
}

const THREADS: [&str; 10] = [
    "plain",
    "ask",
    "ask-answered",
    "ask-twice",
    "ask-edited",
    "ask-fail",
    "fail",
    "flaky",
    "sub",
    "sub-answered",
];

async fn inbox(saver: Arc<dyn Checkpointer>, reopen: Option<Arc<dyn Checkpointer>>) {
    let g = claims(saver.clone());
    for t in THREADS {
        let out = g.invoke(claim(t), &cfg(t)).await;
        assert_eq!(out.is_err(), t.contains("fail") || t == "flaky", "{t}");
    }
    for t in ["ask-answered", "ask-twice", "sub-answered"] {
        let out = g.resume(&cfg(t), "yes").await.unwrap();
        assert_eq!(out.is_interrupted(), t == "ask-twice", "{t}");
    }
    let edit = ClaimUpdate::new().text("edited by hand");
    g.update_state(&cfg("ask-edited"), edit, None)
        .await
        .unwrap();
    let out = g.continue_run(&cfg("flaky")).await.unwrap();
    assert_eq!(out.value.log, ["audit", "intake", "filed"]);

    let waiting = ThreadQuery::new().status(ThreadStatus::Interrupted);
    let failed = ThreadQuery::new().status(ThreadStatus::Failed);
    let asked = ids(&*saver, waiting.clone()).await;
    assert_eq!(asked, ["ask", "ask-fail", "ask-twice", "sub"]);
    assert_eq!(ids(&*saver, failed.clone()).await, ["ask-fail", "fail"]);
    // Exactly what get_state shows, thread by thread.
    let shown = seen(&g, &THREADS).await;
    assert_eq!(asked, expected(&shown, ThreadStatus::Interrupted));
    assert_eq!(
        ids(&*saver, failed.clone()).await,
        expected(&shown, ThreadStatus::Failed)
    );
    // With the other filters: a prefix, and pages of one.
    let prefix = waiting.clone().prefix("ask-");
    assert_eq!(ids(&*saver, prefix).await, ["ask-fail", "ask-twice"]);
    assert_eq!(ids(&*saver, waiting.clone().limit(1)).await, ["ask"]);
    let next = waiting.clone().after("ask-fail").limit(1);
    assert_eq!(ids(&*saver, next).await, ["ask-twice"]);

    // The reviewer works through the inbox, a page of two at a time, answering every
    // question (a new process does it when there is one). The answered task of `ask-fail`
    // finishes but its sibling fails again: the thread leaves the inbox, still failed.
    let g2 = claims(reopen.clone().unwrap_or_else(|| saver.clone()));
    let mut after: Option<String> = None;
    loop {
        let mut q = waiting.clone().limit(2);
        if let Some(a) = &after {
            q = q.after(a.clone());
        }
        let page = g2.checkpointer().unwrap().threads(&q).await.unwrap();
        for t in &page {
            let state = g2.get_state(&cfg(&t.thread_id)).await.unwrap();
            assert_eq!(state.checkpoint_id.as_deref(), Some(t.head.as_str()));
            assert!(!state.interrupts.is_empty(), "{t:?}");
            let out = g2.resume(&cfg(&t.thread_id), "ok").await;
            assert_eq!(out.is_err(), t.thread_id.contains("fail"), "{t:?}");
        }
        match page.last() {
            Some(last) if page.len() == 2 => after = Some(last.thread_id.clone()),
            _ => break,
        }
    }
    assert!(ids(&*saver, waiting).await.is_empty());
    assert_eq!(ids(&*saver, failed.clone()).await, ["ask-fail", "fail"]);
    let done = g.get_state(&cfg("ask-twice")).await.unwrap();
    assert_eq!(
        done.values.log,
        ["audit", "intake:yes", "amount:ok", "intake", "filed"]
    );
    let done = g.get_state(&cfg("sub")).await.unwrap();
    assert_eq!(done.values.log, ["audit", "check:ok", "intake", "filed"]);
    let shown = seen(&g, &THREADS).await;
    assert!(expected(&shown, ThreadStatus::Interrupted).is_empty());
    assert_eq!(expected(&shown, ThreadStatus::Failed), ["ask-fail", "fail"]);
    let answered = g.get_state(&cfg("ask-fail")).await.unwrap();
    assert_eq!(answered.next, ["audit"], "the answered task finished");
    assert_eq!(answered.values.log, ["intake:ok", "intake"]);
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Post {
    text: String,
    #[reducer(append)]
    log: Vec<String>,
}

/// START -> draft -> review -> publish -> END, paused before `publish` unless a run says
/// otherwise.
fn posts(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Post> {
    let step = |name: &'static str| move |_: &Post| PostUpdate::new().log(vec![name.to_string()]);
    StateGraph::<Post>::new()
        .node("draft", step("draft"))
        .node("review", step("review"))
        .node("publish", step("publish"))
        .edge(START, "draft")
        .edge("draft", "review")
        .edge("review", "publish")
        .edge("publish", END)
        .interrupt_before(["publish"])
        .compile_with_shared(saver)
        .unwrap()
}

async fn breakpoints(saver: Arc<dyn Checkpointer>, reopen: Option<Arc<dyn Checkpointer>>) {
    let g = posts(saver.clone());
    let post = |t: &str| PostUpdate::new().text(t);
    for t in ["before", "edited", "continued", "published-by-hand"] {
        let out = g.invoke(post(t), &cfg(t)).await.unwrap();
        assert!(out.is_interrupted() && out.interrupts.is_empty(), "{t}");
    }
    let after = cfg("after").interrupt_after(["draft"]);
    assert!(
        g.invoke(post("after"), &after)
            .await
            .unwrap()
            .is_interrupted()
    );
    let straight = cfg("straight").interrupt_before(Vec::<String>::new());
    let out = g.invoke(post("straight"), &straight).await.unwrap();
    assert_eq!(out.value.log, ["draft", "review", "publish"]);
    // An edit keeps a paused thread waiting while nodes are due; one that counts as the last
    // node ends it.
    let edit = PostUpdate::new().text("edited by hand");
    g.update_state(&cfg("edited"), edit, None).await.unwrap();
    let done = PostUpdate::new().log(vec!["by hand".into()]);
    g.update_state(&cfg("published-by-hand"), done, Some("publish"))
        .await
        .unwrap();
    let out = g.continue_run(&cfg("continued")).await.unwrap();
    assert_eq!(out.value.log, ["draft", "review", "publish"]);

    let waiting = ThreadQuery::new().status(ThreadStatus::Interrupted);
    assert_eq!(
        ids(&*saver, waiting.clone()).await,
        ["after", "before", "edited"]
    );
    assert!(
        ids(&*saver, ThreadQuery::new().status(ThreadStatus::Failed))
            .await
            .is_empty()
    );
    // As for any breakpoint, get_state shows the nodes due and no question.
    for (t, next) in [
        ("after", "review"),
        ("before", "publish"),
        ("edited", "publish"),
    ] {
        let s = g.get_state(&cfg(t)).await.unwrap();
        assert_eq!(s.next, [next], "{t}");
        assert!(s.interrupts.is_empty() && s.tasks.iter().all(|k| k.interrupts.is_empty()));
    }
    // A reviewer (in a new process when there is one) lets every waiting thread go on; one
    // paused after `draft` stops again before `publish` and stays in the inbox until the next.
    let g2 = posts(reopen.unwrap_or_else(|| saver.clone()));
    for round in 0..2 {
        let page = g2.checkpointer().unwrap().threads(&waiting).await.unwrap();
        assert_eq!(page.len(), [3, 1][round], "{page:?}");
        for t in page {
            g2.continue_run(&cfg(&t.thread_id)).await.unwrap();
        }
    }
    assert!(ids(&*saver, waiting).await.is_empty());
    for t in ["after", "before", "edited", "continued", "straight"] {
        let s = g.get_state(&cfg(t)).await.unwrap();
        assert_eq!(s.values.log, ["draft", "review", "publish"], "{t}");
        assert!(s.next.is_empty(), "{t}");
    }
    let s = g.get_state(&cfg("edited")).await.unwrap();
    assert_eq!(s.values.text, "edited by hand");
}

#[tokio::test]
async fn threads_paused_at_a_breakpoint_wait_in_the_inbox_in_memory() {
    breakpoints(Arc::new(InMemorySaver::new()), None).await;
}

async fn on_breakpoints(store: &Store) {
    breakpoints(store.open().await, Some(store.open().await)).await;
}

on_both!(on_breakpoints:
    threads_paused_at_a_breakpoint_wait_in_the_inbox_on_sqlite,
    threads_paused_at_a_breakpoint_wait_in_the_inbox_on_postgres);

#[tokio::test]
async fn the_inbox_lists_the_threads_waiting_for_an_answer_in_memory() {
    inbox(Arc::new(InMemorySaver::new()), None).await;
}

async fn on(store: &Store) {
    inbox(store.open().await, Some(store.open().await)).await;
}

on_both!(on:
    the_inbox_lists_the_threads_waiting_for_an_answer_on_sqlite,
    the_inbox_lists_the_threads_waiting_for_an_answer_on_postgres);
