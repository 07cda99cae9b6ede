//! PostgreSQL: the conformance suite, many concurrent threads through one pool, racing
//! processes, a write rolled back as a deadlock, and corrupted rows. Runs against the server
//! in `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`); each test uses its
//! own schema.

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use langgraph::checkpoint::{CheckpointError, conformance};
use langgraph::prelude::*;
use langgraph::{PostgresOptions, PostgresSaver};

#[path = "support/pg.rs"]
mod pg;
use pg::Scoped;

#[tokio::test]
async fn conformance_postgres() {
    let s = Scoped::new("conf").await;
    conformance::run_all(&s.saver).await.unwrap();
    let nosync = Scoped::with(
        "nosync",
        PostgresOptions::default().synchronous_commit_off(true),
    )
    .await;
    conformance::run_all(&nosync.saver).await.unwrap();
}

/// `url` with its database replaced by `db` (the query string stays).
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    }
}

/// The suite again in a database whose text order is a language's (ICU `en-US`: `a` < `B`
/// < `é` < `z`, where bytes say `B` < `a` < `z` < `é`): ids are ordered, paged and compared
/// the same as on the other savers, whatever the server's collation.
#[tokio::test]
async fn conformance_on_a_database_with_a_language_collation() {
    let admin = sqlx::PgPool::connect(&pg::url()).await.unwrap();
    let db = format!("lgt_icu_{}", uuid::Uuid::new_v4().simple());
    let create = format!(
        "CREATE DATABASE {db} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' \
         LOCALE 'C.UTF-8'"
    );
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&admin)
        .await
        .expect("PostgreSQL with ICU (every Debian and official build has it)");
    let url = with_database(&pg::url(), &db);
    // Errors, not panics, until the database is dropped.
    let result: Result<(), String> = async {
        let probe = sqlx::PgPool::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        let order: Vec<String> =
            sqlx::query_scalar("SELECT x FROM (VALUES ('B'), ('a'), ('z'), ('é')) v(x) ORDER BY x")
                .fetch_all(&probe)
                .await
                .map_err(|e| e.to_string())?;
        probe.close().await;
        if order != ["a", "B", "é", "z"] {
            return Err(format!(
                "the database does not sort as a language does: {order:?}"
            ));
        }
        let saver = PostgresSaver::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        let r = conformance::run_all(&saver)
            .await
            .map_err(|e| e.to_string());
        saver.close().await;
        r
    }
    .await;
    let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&admin)
        .await
        .unwrap();
    result.unwrap();
}

/// A closed saver has no connection left and refuses work with an error.
#[tokio::test]
async fn a_closed_saver_lets_go_of_the_server() {
    let s = Scoped::new("close").await;
    assert!(s.saver.head("t", "").await.unwrap().checkpoint.is_none());
    assert!(s.saver.pool().size() > 0);
    s.saver.close().await;
    assert_eq!(s.saver.pool().size(), 0);
    assert!(s.saver.pool().is_closed());
    let err = s.saver.head("t", "").await.unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

/// The saver's sessions run without JIT compiling (the server's default compiles a statement
/// whose estimated cost is high, which took 400 ms of a 10 ms read of a page of history), and
/// in its schema.
#[tokio::test]
async fn the_savers_sessions_do_not_jit_compile() {
    let s = Scoped::new("nojit").await;
    let (jit, path): (String, String) =
        sqlx::query_as("SELECT current_setting('jit'), current_setting('search_path')")
            .fetch_one(s.saver.pool())
            .await
            .unwrap();
    assert_eq!(jit, "off");
    assert!(path.contains("nojit"), "{path}");
}

/// A schema written by a newer build is refused with a typed error, not used.
#[tokio::test]
async fn a_database_from_a_newer_schema_is_refused() {
    let s = Scoped::new("newer").await;
    let table = format!("{}.lg_schema", s.schema);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET version = 99"
    )))
    .execute(s.saver.pool())
    .await
    .unwrap();
    let opts = PostgresOptions::default().schema(s.schema.clone());
    let Err(err) = PostgresSaver::connect_with(&pg::url(), opts).await else {
        panic!("a newer schema must be refused")
    };
    assert!(
        matches!(err, CheckpointError::UnsupportedFormat { found: 99, .. }),
        "{err}"
    );
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Counter {
    counter: i64,
    #[reducer(append)]
    trail: Vec<i64>,
}

fn looping(steps: i64) -> StateGraph<Counter> {
    StateGraph::<Counter>::new()
        .node("step", |s: &Counter| {
            CounterUpdate::new()
                .counter(s.counter + 1)
                .trail(vec![s.counter + 1])
        })
        .edge(START, "step")
        .route(
            "step",
            move |s: &Counter| if s.counter < steps { "step" } else { END },
            ["step", END],
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_threads_through_one_pool() {
    let s = Scoped::with("many", PostgresOptions::default().max_connections(16)).await;
    let g = Arc::new(looping(20).compile_with(s.saver.clone()).unwrap());
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut handles = Vec::new();
    for i in 0..1000 {
        let (g, limit) = (g.clone(), limit.clone());
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let cfg = RunConfig::thread(format!("t{i}")).durability(Durability::Async);
            g.invoke(Counter::default(), &cfg).await.unwrap().counter
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 20);
    }
    // Every thread's history is complete and linear: input, start, 20 supersteps.
    for i in (0..1000).step_by(97) {
        let cfg = RunConfig::thread(format!("t{i}"));
        let hist = g
            .state_history(&cfg, &ListOptions::default())
            .await
            .unwrap();
        assert_eq!(hist.len(), 22, "thread t{i}");
        for (k, pair) in hist.windows(2).enumerate() {
            assert_eq!(pair[0].parent_checkpoint_id, pair[1].checkpoint_id);
            assert_eq!(pair[0].values.counter, 20 - k as i64);
        }
        assert_eq!(hist[0].values.trail, (1..=20).collect::<Vec<_>>());
    }
    let st = s.saver.stats("t0").await.unwrap();
    assert_eq!(st.checkpoints, 22);
}

#[tokio::test]
async fn racing_runs_on_one_thread_never_fork() {
    let s = Scoped::new("race").await;
    let g = looping(5).compile_with(s.saver.clone()).unwrap();
    let cfg = RunConfig::thread("shared").durability(Durability::Sync);
    g.invoke(Counter::default(), &cfg).await.unwrap();
    // Eight runs continue the same finished thread with new input at once.
    let runs = (0..8).map(|_| g.invoke(CounterUpdate::new().counter(0), &cfg));
    let results = futures::future::join_all(runs).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(ok >= 1, "at least one run proceeds");
    for r in &results {
        if let Err(e) = r {
            assert!(e.is_conflict(), "{e}");
        }
    }
    let hist = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    for pair in hist.windows(2) {
        assert_eq!(
            pair[0].parent_checkpoint_id, pair[1].checkpoint_id,
            "linear history"
        );
    }
    assert!(hist.len() >= 7 * (1 + ok));
}

#[tokio::test]
async fn corrupted_rows_and_unknown_formats_are_typed_errors() {
    let s = Scoped::new("bad").await;
    let g = looping(2).compile_with(s.saver.clone()).unwrap();
    let cfg = RunConfig::thread("broken");
    g.invoke(Counter::default(), &cfg).await.unwrap();
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    sqlx::query("UPDATE lg_checkpoints SET checkpoint = jsonb_set(checkpoint, '{v}', '99') WHERE checkpoint_id = $1")
        .bind(&head)
        .execute(s.saver.pool())
        .await
        .unwrap();
    let e = g.get_state(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, RunError::Checkpoint(CheckpointError::UnsupportedFormat { found: 99, thread_id, checkpoint_id, .. })
            if thread_id == "broken" && *checkpoint_id == head),
        "{e}"
    );
    sqlx::query(
        "UPDATE lg_checkpoints SET checkpoint = '{\"v\": 1, \"id\": 3}' WHERE checkpoint_id = $1",
    )
    .bind(&head)
    .execute(s.saver.pool())
    .await
    .unwrap();
    let e = g.get_state(&cfg).await.unwrap_err();
    assert!(
        matches!(&e, RunError::Checkpoint(CheckpointError::Corrupt { checkpoint_id, .. }) if *checkpoint_id == head),
        "{e}"
    );
    assert!(e.to_string().contains("broken"));
}

/// A write that PostgreSQL rolls back to break a deadlock stored nothing: the writer gets a
/// conflict (as a fenced-out write), not a database error. Another transaction holds the
/// thread's row while the saver's batch holds its head row and waits for the thread's row;
/// that transaction then waits for the head row, and the saver (which waited first, with the
/// shorter `deadlock_timeout`) is the one rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_rolled_back_as_a_deadlock_is_a_conflict() {
    use langgraph::checkpoint::{
        Checkpoint, CheckpointMetadata, Fence, PendingWrite, PutCheckpoint, PutWrites, SaveOp,
        Source, next_checkpoint_id,
    };
    let s = Scoped::new("deadlock").await;
    let first = PutCheckpoint {
        thread_id: "d".into(),
        ns: String::new(),
        checkpoint: Checkpoint::with_id(next_checkpoint_id(None)),
        metadata: CheckpointMetadata::new(Source::Input, -1),
        parent_id: None,
        expected_head: None,
        blobs: Vec::new(),
        parent_writes: Vec::new(),
        fence: Fence::claim_from(0),
    };
    let head = first.checkpoint.id.clone();
    s.saver.put(first).await.unwrap();
    let held = Fence {
        epoch: 1,
        claim: false,
    };
    let next = PutCheckpoint {
        thread_id: "d".into(),
        ns: String::new(),
        checkpoint: Checkpoint::with_id(next_checkpoint_id(Some(&head))),
        metadata: CheckpointMetadata::new(Source::Loop, 0),
        parent_id: Some(head.clone()),
        expected_head: Some(head.clone()),
        blobs: Vec::new(),
        parent_writes: Vec::new(),
        fence: held.clone(),
    };
    // Writes in a subgraph's namespace: the batch is a transaction of statements (its
    // checkpoint moves the root's head row, then its writes lock the thread's row).
    let writes = PutWrites {
        thread_id: "d".into(),
        ns: "sub:1".into(),
        checkpoint_id: "c".into(),
        writes: vec![PendingWrite {
            task_id: "t".into(),
            task_name: "n".into(),
            channel: "x".into(),
            value: json!(1),
        }],
        fence: held,
    };
    let mut other = s.saver.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL deadlock_timeout = '20s'")
        .execute(&mut *other)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM lg_threads WHERE thread_id = 'd' FOR UPDATE")
        .execute(&mut *other)
        .await
        .unwrap();
    let saver = s.saver.clone();
    let batch = tokio::spawn(async move {
        saver
            .put_batch(vec![SaveOp::Checkpoint(next), SaveOp::Writes(writes)])
            .await
    });
    // Wait until the batch waits for the thread's row (it then holds the head row).
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    let waiting = async {
        loop {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
            )
            .bind(pid)
            .fetch_one(s.saver.pool())
            .await
            .unwrap();
            if n > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), waiting)
        .await
        .expect("the batch never waited for the thread's row");
    let locked = sqlx::query("SELECT 1 FROM lg_heads WHERE thread_id = 'd' FOR UPDATE")
        .execute(&mut *other)
        .await;
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), batch)
        .await
        .expect("no deadlock was found")
        .unwrap()
        .unwrap_err();
    assert!(locked.is_ok(), "{locked:?}");
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("deadlock"), "{err}");
    other.rollback().await.unwrap();
    // Nothing of the batch was stored.
    let h = s.saver.head("d", "").await.unwrap();
    assert_eq!(h.checkpoint.unwrap().checkpoint.id, head);
}
