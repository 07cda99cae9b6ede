//! Pruning threads (`Checkpointer::prune`) and what a thread's storage goes through: a long
//! thread shrinks and goes on; a run writing while its thread is pruned gets a conflict and
//! loses nothing it stored; an unreadable row stops the prune of its thread with a typed error;
//! prunes racing a run leave the thread whole. In memory, on SQLite and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use langgraph::checkpoint::CheckpointError;
use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

/// A log of lines, one per turn (an append channel: stored as deltas).
#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Log {
    #[reducer(append)]
    lines: Vec<String>,
    turns: u32,
}

fn logger(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Log> {
    StateGraph::<Log>::new()
        .node("write", |s: &Log| {
            LogUpdate::new()
                .lines(vec![format!("line {} {}", s.turns, "x".repeat(200))])
                .turns(s.turns + 1)
        })
        .node("check", |s: &Log| {
            assert_eq!(s.lines.len(), s.turns as usize);
            LogUpdate::new()
        })
        .edge(START, "write")
        .edge("write", "check")
        .edge("check", END)
        .compile_with_shared(saver)
        .unwrap()
}

/// A long thread keeps one checkpoint, fewer bytes, the same values, and goes on.
#[tokio::test]
async fn a_long_thread_shrinks_and_goes_on_on_sqlite() {
    let store = Store::sqlite("prune-long");
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let saver = Arc::new(SqliteSaver::open(dir.join("long.db")).await.unwrap());
    let g = logger(saver.clone());
    let cfg = RunConfig::thread("long").durability(Durability::Sync);
    for _ in 0..40 {
        g.invoke(LogUpdate::new(), &cfg).await.unwrap();
    }
    let before = g.get_state(&cfg).await.unwrap().values;
    let stats = saver.stats("long").await.unwrap();
    saver.prune(&["long"], Prune::KeepLatest).await.unwrap();
    let after = saver.stats("long").await.unwrap();
    assert_eq!(g.get_state(&cfg).await.unwrap().values, before);
    assert_eq!(after.checkpoints, 1, "{after:?}");
    assert!(stats.checkpoints > 100, "{stats:?}");
    assert!(
        after.blob_bytes + after.checkpoint_bytes < (stats.blob_bytes + stats.checkpoint_bytes) / 5,
        "{stats:?} -> {after:?}"
    );
    // A new saver on the file (a new process) goes on from the pruned thread.
    let g = logger(Arc::new(
        SqliteSaver::open(dir.join("long.db")).await.unwrap(),
    ));
    for _ in 0..5 {
        g.invoke(LogUpdate::new(), &cfg).await.unwrap();
    }
    let values = g.get_state(&cfg).await.unwrap().values;
    assert_eq!(values.turns, 45);
    assert_eq!(values.lines.len(), 45);
    assert_eq!(values.lines[..40], before.lines[..]);
    assert!(values.lines[44].starts_with("line 44 "));
    // Prune::Delete deletes the thread.
    saver.prune(&["long"], Prune::Delete).await.unwrap();
    assert!(g.get_state(&cfg).await.unwrap().checkpoint_id.is_none());
}

/// A run writing while its thread is pruned meets a conflict at its next write; run again,
/// it goes on from what it stored, and no finished node runs twice.
async fn fences_out_a_run_in_progress(saver: Arc<dyn Checkpointer>) {
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let firsts = Arc::new(AtomicUsize::new(0));
    let (s2, r2, f2) = (started.clone(), release.clone(), firsts.clone());
    let g = StateGraph::<Log>::new()
        .node("first", move |_: &Log| {
            f2.fetch_add(1, Ordering::SeqCst);
            LogUpdate::new().lines(vec!["first".into()])
        })
        .node("second", move |_: &Log| {
            let (s2, r2) = (s2.clone(), r2.clone());
            async move {
                s2.notify_one();
                r2.notified().await;
                Ok::<_, NodeError>(LogUpdate::new().lines(vec!["second".into()]))
            }
        })
        .edge(START, "first")
        .edge("first", "second")
        .edge("second", END)
        .compile_with_shared(saver.clone())
        .unwrap();
    let cfg = RunConfig::thread("busy").durability(Durability::Sync);
    let run = tokio::spawn({
        let (g, cfg) = (g.clone(), cfg.clone());
        async move { g.invoke(LogUpdate::new(), &cfg).await }
    });
    started.notified().await;
    saver.prune(&["busy"], Prune::KeepLatest).await.unwrap();
    release.notify_one();
    let err = run.await.unwrap().unwrap_err();
    assert!(err.is_conflict(), "{err}");
    // What the run stored stays: it goes on with `second`.
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.values.lines, ["first"]);
    assert_eq!(st.next, ["second"]);
    let again = tokio::spawn({
        let (g, cfg) = (g.clone(), cfg.clone());
        async move { g.continue_run(&cfg).await }
    });
    started.notified().await;
    release.notify_one();
    let out = again.await.unwrap().unwrap();
    assert_eq!(out.lines, ["first", "second"]);
    assert_eq!(firsts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_run_in_progress_is_fenced_out_by_a_prune_in_memory() {
    fences_out_a_run_in_progress(Arc::new(InMemorySaver::new())).await;
}

async fn fences_on(store: &Store) {
    fences_out_a_run_in_progress(store.open().await).await;
}

on_both!(fences_on:
    a_run_in_progress_is_fenced_out_by_a_prune_on_sqlite,
    a_run_in_progress_is_fenced_out_by_a_prune_on_postgres);

/// An unreadable row stops the prune of its thread with a typed error naming the thread and
/// the checkpoint, and deletes nothing of that thread; threads before it stay pruned.
#[tokio::test]
async fn an_unreadable_row_stops_its_thread_and_deletes_nothing_of_it_on_sqlite() {
    let store = Store::sqlite("prune-corrupt");
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let path = dir.join("corrupt.db");
    let saver = Arc::new(SqliteSaver::open(&path).await.unwrap());
    let g = logger(saver.clone());
    for thread in ["fine", "bad-head", "bad-meta"] {
        let cfg = RunConfig::thread(thread).durability(Durability::Sync);
        for _ in 0..3 {
            g.invoke(LogUpdate::new(), &cfg).await.unwrap();
        }
    }
    let ids = |thread: &'static str| {
        let saver = saver.clone();
        async move {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT checkpoint_id FROM lg_checkpoints WHERE thread_id = ?1 ORDER BY 1",
            )
            .bind(thread)
            .fetch_all(saver.pool())
            .await
            .unwrap();
            rows
        }
    };
    let run = |sql: String| {
        let saver = saver.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(saver.pool())
                .await
                .unwrap();
        }
    };
    let head = ids("bad-head").await.pop().unwrap();
    run(format!(
        "UPDATE lg_checkpoints SET checkpoint = substr(checkpoint, 1, 20) WHERE checkpoint_id = '{head}'"
    ))
    .await;
    let old = ids("bad-meta").await[1].clone();
    run(format!(
        "UPDATE lg_checkpoints SET metadata = '{{\"source\": 7' WHERE checkpoint_id = '{old}'"
    ))
    .await;
    for (thread, broken) in [("bad-head", &head), ("bad-meta", &old)] {
        let before = ids(thread).await;
        let e = saver
            .prune(&["fine", thread], Prune::KeepLatest)
            .await
            .unwrap_err();
        match &e {
            CheckpointError::Corrupt {
                thread_id,
                checkpoint_id,
                ..
            } => assert_eq!((thread_id.as_str(), checkpoint_id), (thread, broken)),
            other => panic!("{other}"),
        }
        assert_eq!(ids(thread).await, before, "{thread}");
        assert_eq!(ids("fine").await.len(), 1);
    }
}

/// Prunes racing a run that appends turn after turn (three threads, one after the other): the
/// run meets conflicts only, and the thread stays whole (every turn's line with its count,
/// nothing corrupt).
async fn races_a_run(saver: Arc<dyn Checkpointer>, durability: Durability) {
    for round in 0..3 {
        let thread = format!("race-{durability:?}-{round}");
        let g = logger(saver.clone());
        let cfg = RunConfig::thread(thread.clone()).durability(durability);
        let writer = tokio::spawn({
            let (g, cfg) = (g.clone(), cfg.clone());
            async move {
                let (mut done, mut conflicts) = (0, 0);
                while done < 30 {
                    match g.invoke(LogUpdate::new(), &cfg).await {
                        Ok(_) => done += 1,
                        Err(e) if e.is_conflict() => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                conflicts
            }
        });
        let pruner = tokio::spawn({
            let (saver, thread) = (saver.clone(), thread.clone());
            async move {
                for _ in 0..40 {
                    if let Err(e) = saver.prune(&[thread.as_str()], Prune::KeepLatest).await {
                        panic!("{thread}: {e}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        });
        let conflicts = writer.await.unwrap();
        pruner.await.unwrap();
        let values = g.get_state(&cfg).await.unwrap().values;
        // A run cut short by a conflict may have stored its `write` step: a turn of its own.
        assert!(
            values.turns >= 30,
            "{thread}: {} turns, {conflicts} conflicts",
            values.turns
        );
        assert_eq!(values.lines.len(), values.turns as usize, "{thread}");
        for (i, line) in values.lines.iter().enumerate() {
            assert!(
                line.starts_with(&format!("line {i} ")),
                "{thread} {i}: {line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prunes_racing_a_run_leave_the_thread_whole_in_memory() {
    races_a_run(Arc::new(InMemorySaver::new()), Durability::Sync).await;
    races_a_run(Arc::new(InMemorySaver::new()), Durability::Async).await;
}

async fn races_on(store: &Store) {
    races_a_run(store.open().await, Durability::Sync).await;
    races_a_run(store.open().await, Durability::Async).await;
}

on_both!(races_on:
    prunes_racing_a_run_leave_the_thread_whole_on_sqlite,
    prunes_racing_a_run_leave_the_thread_whole_on_postgres);

/// On PostgreSQL a prune that stops at an unreadable row lets go of the thread at once: a run
/// on it, in another process, is not kept waiting for the rows the prune had locked.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn an_unreadable_row_lets_go_of_the_thread_on_postgres() {
    let store = Store::postgres("prune_corrupt").await;
    let Store::Postgres(scoped) = &store else {
        unreachable!()
    };
    let saver = store.open().await;
    let g = logger(saver.clone());
    let cfg = RunConfig::thread("held").durability(Durability::Sync);
    for _ in 0..3 {
        g.invoke(LogUpdate::new(), &cfg).await.unwrap();
    }
    let table = format!("{}.lg_checkpoints", scoped.schema);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET metadata = '\"broken\"'::jsonb WHERE checkpoint_id = \
         (SELECT min(checkpoint_id) FROM {table} WHERE thread_id = 'held')"
    )))
    .execute(scoped.saver.pool())
    .await
    .unwrap();
    let e = saver.prune(&["held"], Prune::KeepLatest).await.unwrap_err();
    assert!(matches!(e, CheckpointError::Corrupt { .. }), "{e}");
    // Another process runs the thread, while this one does nothing more (its runtime is
    // blocked here, so nothing of it can end the prune's transaction later).
    let schema = scoped.schema.clone();
    let other = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let opts = langgraph::PostgresOptions::default().schema(schema);
            let saver = langgraph::PostgresSaver::connect_with(&store::pg::url(), opts)
                .await
                .unwrap();
            let g = logger(Arc::new(saver));
            let cfg = RunConfig::thread("held").durability(Durability::Sync);
            tokio::time::timeout(
                std::time::Duration::from_secs(20),
                g.invoke(LogUpdate::new(), &cfg),
            )
            .await
            .map(|r| r.map(|out| out.turns))
        })
    });
    let next = other
        .join()
        .unwrap()
        .expect("the run waited for the failed prune's locks");
    assert_eq!(next.unwrap(), 4);
}
