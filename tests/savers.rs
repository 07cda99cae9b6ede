//! Savers: the conformance suite on each, SQLite specifics, and bad stored data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use langgraph::checkpoint::{CheckpointError, conformance};
use langgraph::prelude::*;
use langgraph::{SqliteOptions, SqliteSaver, Synchronous};
use serde_json::{Map, Value, json};

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lg-savers-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("db.sqlite")
}

#[tokio::test]
async fn conformance_in_memory() {
    conformance::run_all(&InMemorySaver::new()).await.unwrap();
    // Shared savers forward every call (how a compiled graph holds its saver).
    let shared: std::sync::Arc<dyn Checkpointer> = std::sync::Arc::new(InMemorySaver::new());
    conformance::run_all(&shared).await.unwrap();
}

#[tokio::test]
async fn conformance_sqlite_file() {
    let path = temp_db("conformance");
    let saver = SqliteSaver::open(&path).await.unwrap();
    conformance::run_all(&saver).await.unwrap();
    // Reopening finds the same data (and the schema is created only once).
    let again = SqliteSaver::open(&path).await.unwrap();
    conformance::run_all(&again).await.unwrap();
    // Every statement through the pool (no direct connection on the caller's thread).
    let pooled = SqliteSaver::open_with(&path, SqliteOptions::default().direct(false))
        .await
        .unwrap();
    conformance::run_all(&pooled).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waits_for_a_database_locked_by_another_connection() {
    use sqlx::Connection as _;
    let path = temp_db("locked");
    let g = chat()
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap();
    let cfg = RunConfig::thread("t").durability(Durability::Sync);
    g.invoke(ChatUpdate::new().messages(vec!["hi".into()]), &cfg)
        .await
        .unwrap();
    // Another connection (another process, say) holds the write lock for a while: the run
    // neither fails nor loses a write; it waits for the lock (through the pool).
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let run = tokio::spawn({
        let (g, cfg) = (g.clone(), cfg.clone());
        async move {
            g.invoke(ChatUpdate::new().messages(vec!["again".into()]), &cfg)
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !run.is_finished(),
        "the run cannot commit while the lock is held"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let out = run.await.unwrap().unwrap();
    assert_eq!(out.turns, 2);
    let state = g.get_state(&cfg).await.unwrap();
    assert_eq!(state.values.messages.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_share_the_direct_connection_and_the_pool() {
    let saver = SqliteSaver::open_with(
        temp_db("concurrent"),
        SqliteOptions::default().synchronous(Synchronous::Normal),
    )
    .await
    .unwrap();
    let g = chat().compile_with(saver).unwrap();
    let runs = (0..40).map(|i| {
        let g = g.clone();
        tokio::spawn(async move {
            let cfg = RunConfig::thread(format!("t{i}")).durability(Durability::Sync);
            for turn in 0..3 {
                g.invoke(
                    ChatUpdate::new().messages(vec![format!("{i}.{turn}")]),
                    &cfg,
                )
                .await
                .unwrap();
            }
            g.get_state(&cfg).await.unwrap().values
        })
    });
    for (i, run) in futures::future::join_all(runs)
        .await
        .into_iter()
        .enumerate()
    {
        let state = run.unwrap();
        assert_eq!(state.turns, 3);
        assert_eq!(state.messages.len(), 6);
        assert_eq!(state.messages[4], format!("{i}.2"));
    }
}

/// Runs that store side by side share transactions (group commit); each thread's history
/// must still be exactly what the thread would store alone, one chain of checkpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_runs_side_by_side_keep_each_history_whole() {
    let g = chat()
        .compile_with(SqliteSaver::open(temp_db("side-by-side")).await.unwrap())
        .unwrap();
    async fn turns(g: CompiledGraph<Chat>, thread: String) -> Vec<StateSnapshot<Chat>> {
        let cfg = RunConfig::thread(thread).durability(Durability::Sync);
        for turn in 0..3 {
            g.invoke(ChatUpdate::new().messages(vec![format!("{turn}")]), &cfg)
                .await
                .unwrap();
        }
        g.state_history(&cfg, &ListOptions::new()).await.unwrap()
    }
    let alone = turns(g.clone(), "alone".into()).await;
    let runs = (0..12).map(|i| tokio::spawn(turns(g.clone(), format!("t{i}"))));
    for run in futures::future::join_all(runs).await {
        let history = run.unwrap();
        assert_eq!(history.len(), alone.len());
        for (newer, older) in history.iter().zip(&history[1..]) {
            assert_eq!(newer.parent_checkpoint_id, older.checkpoint_id);
        }
        let steps = |h: &[StateSnapshot<Chat>]| {
            h.iter()
                .map(|s| s.metadata.as_ref().unwrap().step)
                .collect::<Vec<_>>()
        };
        assert_eq!(steps(&history), steps(&alone));
        assert_eq!(history[0].values.messages.len(), 6);
    }
}

/// The files of the database at `path` that this process holds open.
#[cfg(target_os = "linux")]
fn open_files(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| {
            target
                .to_string_lossy()
                .starts_with(&*path.to_string_lossy())
        })
        .collect()
}

/// After `close`, nothing of the saver holds the files: they can be deleted and a new
/// database created in their place, again and again (a closing connection that outlived its
/// files would delete the new write-ahead log).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_saver_lets_its_files_be_replaced() {
    let path = temp_db("replaced");
    for round in 0..3 {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let saver = SqliteSaver::open_with(
            &path,
            SqliteOptions::default().synchronous(Synchronous::Normal),
        )
        .await
        .unwrap();
        assert!(saver.head("t0", "").await.unwrap().checkpoint.is_none());
        let g = chat().compile_with(saver.clone()).unwrap();
        // Runs side by side, so that the saver's committing thread runs too.
        let runs = (0..6).map(|i| {
            let g = g.clone();
            tokio::spawn(async move {
                let cfg = RunConfig::thread(format!("t{i}")).durability(Durability::Sync);
                for turn in 0..3 {
                    g.invoke(ChatUpdate::new().messages(vec![format!("{turn}")]), &cfg)
                        .await
                        .unwrap();
                }
            })
        });
        for run in futures::future::join_all(runs).await {
            run.unwrap();
        }
        assert!(!open_files(&path).is_empty());
        saver.close().await;
        assert_eq!(
            open_files(&path),
            Vec::<std::path::PathBuf>::new(),
            "round {round}"
        );
        // A closed saver (and the graph holding a clone) refuses work with an error.
        let err = g
            .invoke(ChatUpdate::new(), &RunConfig::thread("late"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }
}

#[tokio::test]
async fn conformance_sqlite_in_memory_and_normal_sync() {
    conformance::run_all(&SqliteSaver::in_memory().await.unwrap())
        .await
        .unwrap();
    let opts = SqliteOptions::default()
        .synchronous(Synchronous::Normal)
        .max_connections(2);
    conformance::run_all(
        &SqliteSaver::open_with(temp_db("normal"), opts)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    messages: Vec<String>,
    turns: u32,
}

fn chat() -> StateGraph<Chat> {
    StateGraph::<Chat>::new()
        .node("reply", |s: &Chat| {
            ChatUpdate::new()
                .messages(vec![format!("reply {}", s.turns)])
                .turns(s.turns + 1)
        })
        .edge(START, "reply")
        .edge("reply", END)
}

#[tokio::test]
async fn sqlite_threads_survive_reopening() {
    let path = temp_db("reopen");
    let cfg = RunConfig::thread("t");
    {
        let g = chat()
            .compile_with(SqliteSaver::open(&path).await.unwrap())
            .unwrap();
        g.invoke(ChatUpdate::new().messages(vec!["hi".into()]), &cfg)
            .await
            .unwrap();
    }
    let g = chat()
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap();
    let out = g
        .invoke(ChatUpdate::new().messages(vec!["again".into()]), &cfg)
        .await
        .unwrap();
    assert_eq!(out.messages, ["hi", "reply 0", "again", "reply 1"]);
    assert_eq!(out.turns, 2);
    let hist = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(hist.len(), 6);
}

/// A database written by schema version 1 (threads without a claim owner) is upgraded in place
/// when opened, and its threads go on.
#[tokio::test]
async fn a_version_1_database_is_upgraded_on_open() {
    let path = temp_db("schema-v1");
    let cfg = RunConfig::thread("t");
    {
        let g = chat()
            .compile_with(SqliteSaver::open(&path).await.unwrap())
            .unwrap();
        g.invoke(ChatUpdate::new().messages(vec!["hi".into()]), &cfg)
            .await
            .unwrap();
    }
    // Rewrite the thread table the way version 1 created it.
    {
        let saver = SqliteSaver::open(&path).await.unwrap();
        let pool = saver.pool();
        sqlx::raw_sql(
            "CREATE TABLE old_threads (thread_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
             INSERT INTO old_threads SELECT thread_id, epoch FROM lg_threads;
             DROP TABLE lg_threads;
             ALTER TABLE old_threads RENAME TO lg_threads;
             UPDATE lg_schema SET version = 1;",
        )
        .execute(pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let saver = SqliteSaver::open(&path).await.unwrap();
    let version: i64 = sqlx::query_scalar("SELECT max(version) FROM lg_schema")
        .fetch_one(saver.pool())
        .await
        .unwrap();
    assert_eq!(version, 2);
    let g = chat().compile_with(saver).unwrap();
    let out = g
        .invoke(ChatUpdate::new().messages(vec!["again".into()]), &cfg)
        .await
        .unwrap();
    assert_eq!(out.messages, ["hi", "reply 0", "again", "reply 1"]);
}

/// A database written by a newer schema is refused with a typed error when opened, and left as
/// it was (an older build must not write into it).
#[tokio::test]
async fn a_database_from_a_newer_schema_is_refused() {
    let path = temp_db("schema-newer");
    {
        let saver = SqliteSaver::open(&path).await.unwrap();
        sqlx::query("UPDATE lg_schema SET version = 99")
            .execute(saver.pool())
            .await
            .unwrap();
        saver.pool().close().await;
    }
    let Err(err) = SqliteSaver::open(&path).await else {
        panic!("a newer schema must be refused")
    };
    assert!(
        matches!(
            err,
            CheckpointError::UnsupportedFormat {
                found: 99,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let version: i64 = sqlx::query_scalar("SELECT max(version) FROM lg_schema")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 99, "the newer database was not touched");
}

async fn corrupt(path: &std::path::Path, sql: &str) {
    let saver = SqliteSaver::open(path).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(saver.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn unreadable_rows_give_typed_errors_naming_thread_and_checkpoint() {
    let path = temp_db("corrupt");
    let cfg = RunConfig::thread("broken");
    let g = chat()
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap();
    g.invoke(ChatUpdate::new().messages(vec!["hi".into()]), &cfg)
        .await
        .unwrap();
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();

    // A truncated checkpoint row.
    corrupt(&path, &format!("UPDATE lg_checkpoints SET checkpoint = substr(checkpoint, 1, 20) WHERE checkpoint_id = '{head}'")).await;
    let e = g.get_state(&cfg).await.unwrap_err();
    match &e {
        RunError::Checkpoint(CheckpointError::Corrupt {
            thread_id,
            checkpoint_id,
            ..
        }) => {
            assert_eq!(
                (thread_id.as_str(), checkpoint_id.as_str()),
                ("broken", head.as_str())
            );
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("broken") && e.to_string().contains(&head));
    // A run on the thread fails the same way, without panicking and without writing.
    let e = g.invoke(ChatUpdate::new(), &cfg).await.unwrap_err();
    assert!(
        matches!(e, RunError::Checkpoint(CheckpointError::Corrupt { .. })),
        "{e}"
    );

    // A checkpoint written by a newer format.
    let cfg2 = RunConfig::thread("future");
    g.invoke(ChatUpdate::new(), &cfg2).await.unwrap();
    let head2 = g.get_state(&cfg2).await.unwrap().checkpoint_id.unwrap();
    corrupt(&path, &format!("UPDATE lg_checkpoints SET checkpoint = json_set(checkpoint, '$.v', 99) WHERE checkpoint_id = '{head2}'")).await;
    let e = g.get_state(&cfg2).await.unwrap_err();
    assert!(
        matches!(&e, RunError::Checkpoint(CheckpointError::UnsupportedFormat { found: 99, checkpoint_id, .. }) if *checkpoint_id == head2),
        "{e}"
    );

    // A channel value that is not JSON.
    let cfg3 = RunConfig::thread("blob");
    g.invoke(ChatUpdate::new(), &cfg3).await.unwrap();
    corrupt(&path, "UPDATE lg_checkpoints SET blobs = '{\"turns\": {\"kind\": \"full\"' WHERE thread_id = 'blob'").await;
    let e = g.get_state(&cfg3).await.unwrap_err();
    assert!(
        matches!(
            e,
            RunError::Checkpoint(CheckpointError::Corrupt { .. })
                | RunError::Checkpoint(CheckpointError::Backend { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("checkpoint"), "{e}");
}

/// The same channels, but `turns` changed type.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct ChatV2Broken {
    #[reducer(append)]
    messages: Vec<String>,
    turns: String,
}

#[tokio::test]
async fn a_changed_state_struct_is_a_typed_error() {
    let path = temp_db("shape");
    let cfg = RunConfig::thread("t");
    chat()
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap()
        .invoke(ChatUpdate::new(), &cfg)
        .await
        .unwrap();
    let g = StateGraph::<ChatV2Broken>::new()
        .node("reply", |_: &ChatV2Broken| ChatV2BrokenUpdate::new())
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap();
    let e = g.get_state(&cfg).await.unwrap_err();
    match &e {
        RunError::StateLoad {
            thread_id, reason, ..
        } => {
            assert_eq!(thread_id, "t");
            assert!(
                reason.contains("turns") && reason.contains("version"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
}

fn upgrade(from: u32, mut values: Map<String, Value>) -> Result<Map<String, Value>, String> {
    match from {
        1 => {
            // v1 counted turns as a number; v2 keeps a label.
            let turns = values.remove("turns").and_then(|v| v.as_u64()).unwrap_or(0);
            values.insert("turns".into(), json!(format!("{turns} turns")));
            Ok(values)
        }
        other => Err(format!("cannot upgrade from version {other}")),
    }
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
#[state(version = 2, migrate = upgrade)]
struct ChatV2 {
    #[reducer(append)]
    messages: Vec<String>,
    turns: String,
}

#[tokio::test]
async fn a_versioned_state_migrates_old_checkpoints() {
    let path = temp_db("migrate");
    let cfg = RunConfig::thread("t");
    chat()
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap()
        .invoke(ChatUpdate::new().messages(vec!["hi".into()]), &cfg)
        .await
        .unwrap();
    let g = StateGraph::<ChatV2>::new()
        .node("reply", |s: &ChatV2| {
            ChatV2Update::new().messages(vec![format!("v2 after {}", s.turns)])
        })
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with(SqliteSaver::open(&path).await.unwrap())
        .unwrap();
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.values.turns, "1 turns");
    let out = g.invoke(ChatV2Update::new(), &cfg).await.unwrap();
    assert_eq!(out.messages, ["hi", "reply 0", "v2 after 1 turns"]);
    // New checkpoints record version 2 and load without migrating.
    let hist = g
        .state_history(
            &cfg,
            &ListOptions {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(hist[0].values.turns, "1 turns");
}

/// Two runs race on one thread of `saver`: the one that started first is refused when it
/// next writes, and the thread's history stays linear.
async fn race_on_one_thread<C: Checkpointer>(saver: C, durability: Durability) {
    let g = StateGraph::<Chat>::new()
        .node("reply", |s: &Chat| {
            let turns = s.turns;
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                ChatUpdate::new().turns(turns + 1)
            }
        })
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with(saver)
        .unwrap();
    let cfg = RunConfig::thread("shared").durability(durability);
    // The second run starts while the first is inside its node: it claims the thread, and the
    // first run's next write is refused.
    let first = g.invoke(ChatUpdate::new(), &cfg);
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        g.invoke(ChatUpdate::new(), &cfg).await
    };
    let (a, b) = tokio::join!(first, second);
    assert!(a.as_ref().is_err_and(RunError::is_conflict), "{a:?}");
    assert_eq!(b.unwrap().turns, 1);
    // Nothing was forked: one linear history.
    let hist = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(hist.len(), 5);
    for pair in hist.windows(2) {
        assert_eq!(pair[0].parent_checkpoint_id, pair[1].checkpoint_id);
    }
}

#[tokio::test]
async fn two_runs_on_one_thread_conflict_instead_of_forking() {
    race_on_one_thread(
        SqliteSaver::open(temp_db("race")).await.unwrap(),
        Durability::Sync,
    )
    .await;
}

// The in-memory saver stores checkpoints through `put_now`, at the moment they are queued:
// the refusal must still reach the run, under both durabilities.
#[tokio::test]
async fn two_runs_conflict_on_the_in_memory_saver_too() {
    race_on_one_thread(InMemorySaver::new(), Durability::Sync).await;
    race_on_one_thread(InMemorySaver::new(), Durability::Async).await;
}
