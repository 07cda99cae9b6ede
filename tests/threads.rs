//! Listing threads (`Checkpointer::threads`) under real graphs, in memory, on SQLite and on
//! PostgreSQL: a maintenance job pages through one tenant's threads that were not written
//! since a cutoff and prunes them (`sweep`), deletes another tenant's threads, and every
//! thread it left alone, or pruned, goes on as before.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::time::Duration;

use langgraph::ThreadInfo;
use langgraph::checkpoint::{CheckpointError, sweep};
use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    said: Vec<String>,
}

/// START -> reply -> END: the bot answers each line with the number of lines so far.
fn chat(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Chat> {
    StateGraph::<Chat>::new()
        .node("reply", |s: &Chat| {
            let n = s.said.len();
            async move { ChatUpdate::new().said(vec![format!("bot:{n}")]) }
        })
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn say(line: &str) -> ChatUpdate {
    ChatUpdate::new().said(vec![line.to_string()])
}

async fn history_len(g: &CompiledGraph<Chat>, thread: &str) -> usize {
    g.state_history(&RunConfig::thread(thread), &Default::default())
        .await
        .unwrap()
        .len()
}

/// Every page of `query`, `page` threads at a time, as a job would walk them.
async fn walk(saver: &dyn Checkpointer, query: ThreadQuery, page: usize) -> Vec<ThreadInfo> {
    let mut all: Vec<ThreadInfo> = Vec::new();
    loop {
        let mut q = query.clone().limit(page);
        if let Some(last) = all.last() {
            q = q.after(last.thread_id.clone());
        }
        let found = saver.threads(&q).await.unwrap();
        assert!(found.len() <= page, "a page of {} threads", found.len());
        let done = found.len() < page;
        all.extend(found);
        if done {
            return all;
        }
    }
}

async fn maintenance_job(saver: Arc<dyn Checkpointer>, reopen: Option<Arc<dyn Checkpointer>>) {
    let g = chat(saver.clone());
    let tenant_a: Vec<String> = (0..6).map(|i| format!("tenant-a/chat-{i}")).collect();
    let tenant_b: Vec<String> = (0..3).map(|i| format!("tenant-b/chat-{i}")).collect();
    for t in tenant_a.iter().chain(&tenant_b) {
        let cfg = RunConfig::thread(t.as_str());
        g.invoke(say("hi"), &cfg).await.unwrap();
        g.invoke(say("more"), &cfg).await.unwrap();
    }
    // A thread id lives in the clock's millisecond; the cutoff is a later one.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cutoff = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for t in [&tenant_a[1], &tenant_a[4]] {
        g.invoke(say("still here"), &RunConfig::thread(t.as_str()))
            .await
            .unwrap();
    }
    let full = history_len(&g, &tenant_a[0]).await;
    assert_eq!(full, 6, "three checkpoints a turn");

    // The job: tenant a's threads idle since the cutoff, two at a time.
    let idle = ThreadQuery::new()
        .prefix("tenant-a/")
        .updated_before(cutoff);
    let found = walk(&*saver, idle.clone(), 2).await;
    let ids: Vec<&str> = found.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tenant-a/chat-0",
            "tenant-a/chat-2",
            "tenant-a/chat-3",
            "tenant-a/chat-5"
        ]
    );
    for t in &found {
        let head = g
            .get_state(&RunConfig::thread(t.thread_id.as_str()))
            .await
            .unwrap();
        assert_eq!(
            Some(t.head.as_str()),
            head.checkpoint_id.as_deref(),
            "{}",
            t.thread_id
        );
        assert!(
            std::time::SystemTime::from(t.updated_at().unwrap()) < cutoff,
            "{t:?}"
        );
    }
    // The sweep prunes them, three to a page.
    let pruned = sweep(&*saver, &idle.clone().limit(3), Prune::KeepLatest)
        .await
        .unwrap();
    assert_eq!(pruned, 4);
    // The busy ones are listed from the cutoff on, and the walk still finds the idle ones:
    // pruning kept their heads.
    let busy = saver
        .threads(&ThreadQuery::new().prefix("tenant-a/").updated_since(cutoff))
        .await
        .unwrap();
    let busy: Vec<&str> = busy.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(busy, ["tenant-a/chat-1", "tenant-a/chat-4"]);
    assert_eq!(
        walk(&*saver, idle, 3).await.len(),
        4,
        "pruning keeps the heads"
    );

    // Tenant b leaves: its threads go.
    let leaving = walk(&*saver, ThreadQuery::new().prefix("tenant-b/"), 100).await;
    let leaving: Vec<&str> = leaving.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(leaving, tenant_b);
    let tenant_b_threads = ThreadQuery::new().prefix("tenant-b/").limit(2);
    let deleted = sweep(&*saver, &tenant_b_threads, Prune::Delete)
        .await
        .unwrap();
    assert_eq!(deleted, 3, "two pages");
    assert!(
        saver
            .threads(&ThreadQuery::new().prefix("tenant-b/"))
            .await
            .unwrap()
            .is_empty()
    );

    // What the job pruned reads and goes on as before; what it left alone is whole.
    assert_eq!(history_len(&g, &tenant_a[0]).await, 1);
    assert_eq!(history_len(&g, &tenant_a[1]).await, full + 3);
    let out = g
        .invoke(say("back"), &RunConfig::thread(tenant_a[0].as_str()))
        .await
        .unwrap();
    assert_eq!(out.said, ["hi", "bot:1", "more", "bot:3", "back", "bot:5"]);
    let all = walk(&*saver, ThreadQuery::new().prefix("tenant-"), 4).await;
    assert_eq!(
        all.iter().map(|t| t.thread_id.as_str()).collect::<Vec<_>>(),
        tenant_a
    );
    // A new saver on the same store (a new process) lists the same threads.
    if let Some(other) = reopen {
        assert_eq!(
            walk(&*other, ThreadQuery::new().prefix("tenant-"), 100).await,
            all
        );
    }
}

#[tokio::test]
async fn a_maintenance_job_pages_through_idle_threads_in_memory() {
    maintenance_job(Arc::new(InMemorySaver::new()), None).await;
}

async fn on(store: &Store) {
    maintenance_job(store.open().await, Some(store.open().await)).await;
}

on_both!(on:
    a_maintenance_job_pages_through_idle_threads_on_sqlite,
    a_maintenance_job_pages_through_idle_threads_on_postgres);

/// A user's threads, found by the run metadata of their heads among many others (one in 50
/// threads is ann's, so the database savers fetch several pages to fill one), and deleted
/// (a request to erase a user's data); the other users' threads stay.
async fn erase_a_user(saver: Arc<dyn Checkpointer>) {
    let g = chat(saver.clone());
    let user = |i: usize| if i % 50 == 7 { "ann" } else { "bob" };
    for i in 0..260 {
        let cfg = RunConfig::thread(format!("chat-{i:03}"))
            .durability(Durability::Exit)
            .metadata("user", user(i));
        g.invoke(say("hi"), &cfg).await.unwrap();
    }
    let anns = ThreadQuery::new().metadata("user", "ann");
    let expected: Vec<String> = (0..260)
        .filter(|&i| user(i) == "ann")
        .map(|i| format!("chat-{i:03}"))
        .collect();
    assert_eq!(expected.len(), 6);
    let found = walk(&*saver, anns.clone(), 4).await;
    let ids: Vec<&str> = found.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(ids, expected);
    let two = saver.threads(&anns.clone().limit(2)).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].thread_id, "chat-057");
    let erased = sweep(&*saver, &anns, Prune::Delete).await.unwrap();
    assert_eq!(erased, 6);
    assert!(saver.threads(&anns).await.unwrap().is_empty());
    let left = walk(&*saver, ThreadQuery::new().prefix("chat-"), 100).await;
    assert_eq!(left.len(), 254);
    assert_eq!(
        walk(&*saver, ThreadQuery::new().metadata("user", "bob"), 100).await,
        left
    );
}

#[tokio::test]
async fn a_users_threads_are_found_by_their_metadata_and_erased_in_memory() {
    erase_a_user(Arc::new(InMemorySaver::new())).await;
}

async fn erase_on(store: &Store) {
    erase_a_user(store.open().await).await;
}

on_both!(erase_on:
    a_users_threads_are_found_by_their_metadata_and_erased_on_sqlite,
    a_users_threads_are_found_by_their_metadata_and_erased_on_postgres);

/// A head whose metadata does not decode stops a metadata search with a typed error naming
/// the thread and checkpoint; a search without a metadata filter does not read it.
#[tokio::test]
async fn unreadable_head_metadata_is_a_typed_error() {
    let store = Store::sqlite("bad-meta-threads");
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let saver = Arc::new(SqliteSaver::open(dir.join("store.db")).await.unwrap());
    let g = chat(saver.clone());
    for t in ["a", "b"] {
        g.invoke(say("hi"), &RunConfig::thread(t)).await.unwrap();
    }
    let head = saver.threads(&ThreadQuery::new()).await.unwrap()[1]
        .head
        .clone();
    sqlx::query("UPDATE lg_checkpoints SET metadata = '{\"source\": 7' WHERE checkpoint_id = ?1")
        .bind(&head)
        .execute(saver.pool())
        .await
        .unwrap();
    let e = saver
        .threads(&ThreadQuery::new().metadata("user", "ann"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
            if thread_id == "b" && checkpoint_id == &head),
        "{e}"
    );
    assert_eq!(saver.threads(&ThreadQuery::new()).await.unwrap().len(), 2);
}

/// On PostgreSQL a head row whose checkpoint row is gone (a damaged database) is a typed
/// error for a metadata search too, not a panic or a silent skip.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_head_without_its_checkpoint_is_a_typed_error_on_postgres() {
    let s = store::pg::Scoped::new("threads_head").await;
    let saver: Arc<dyn Checkpointer> = Arc::new(s.saver.clone());
    let g = chat(saver.clone());
    g.invoke(say("hi"), &RunConfig::thread("lost"))
        .await
        .unwrap();
    let head = saver.threads(&ThreadQuery::new()).await.unwrap()[0]
        .head
        .clone();
    let sql = format!(
        "DELETE FROM {}.lg_checkpoints WHERE checkpoint_id = $1",
        s.schema
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&head)
        .execute(s.saver.pool())
        .await
        .unwrap();
    let e = saver
        .threads(&ThreadQuery::new().metadata("user", "ann"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
            if thread_id == "lost" && checkpoint_id == &head),
        "{e}"
    );
}
