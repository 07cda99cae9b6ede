//! W5 (checkpointing cost), W6 (interrupt and resume), W9 (state growth).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use langgraph::prelude::*;
use langgraph::{
    PostgresOptions, PostgresSaver, SqliteOptions, SqliteSaver, StorageStats, Synchronous,
};
use serde_json::{Value, json};

use super::floors::{fsync_floor_us, sqlite_commit_floor_us};
use super::{Counter, LOOP_STEPS, Opts, build_loop, runtime};
use crate::measure::Case;

/// The graph, saver and thread ids prepared (untimed) for one repetition.
type Slot<S, T> = Arc<Mutex<Option<(CompiledGraph<S>, Saver, T)>>>;

/// A saver for one repetition, and how to account for its storage.
#[derive(Clone)]
pub(crate) enum Saver {
    Memory(Arc<InMemorySaver>),
    Sqlite(SqliteSaver, PathBuf),
    Postgres(PostgresSaver),
}

impl Saver {
    pub(crate) fn shared(&self) -> Arc<dyn Checkpointer> {
        let s: Arc<dyn Checkpointer> = match self {
            Self::Memory(m) => m.clone(),
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        };
        super::probe::Probe::wrap(s)
    }

    pub(crate) async fn stats(&self, thread: &str) -> StorageStats {
        match self {
            Self::Memory(m) => m.stats(thread),
            Self::Sqlite(s, _) => s.stats(thread).await.expect("stats"),
            Self::Postgres(s) => s.stats(thread).await.expect("stats"),
        }
    }
}

fn tmp_dir() -> PathBuf {
    std::env::var("LG_BENCH_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir())
}

/// The benchmark database (the same as the Python runner's): `LG_BENCH_PG_DSN`.
fn pg_dsn() -> String {
    std::env::var("LG_BENCH_PG_DSN")
        .unwrap_or_else(|_| "postgresql://bench:bench@127.0.0.1:5432/bench".into())
}

/// A fresh saver of `kind` (`memory`, `sqlite`, `sqlite-normal`, `postgres`,
/// `postgres-nosync`): a new SQLite file, or truncated PostgreSQL tables behind one
/// connection.
pub(crate) async fn fresh(kind: &str, tag: &str) -> Saver {
    match kind {
        "memory" => Saver::Memory(Arc::new(InMemorySaver::new())),
        "sqlite" | "sqlite-normal" => {
            let path = tmp_dir().join(format!("lgbench-rs-{tag}-{}.sqlite", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let sync = if kind == "sqlite" {
                Synchronous::Full
            } else {
                Synchronous::Normal
            };
            // `LG_BENCH_SQLITE_DIRECT=0` sends every statement through the pool (the saver's
            // `direct(false)`), to compare the two executors side by side.
            let direct = std::env::var("LG_BENCH_SQLITE_DIRECT").map_or(true, |v| v != "0");
            // `LG_BENCH_SQLITE_PREALLOC=0` lets the WAL grow commit by commit (the saver's
            // `preallocate_wal(false)`).
            let prealloc = std::env::var("LG_BENCH_SQLITE_PREALLOC").map_or(true, |v| v != "0");
            // `LG_BENCH_SQLITE_BACKFILL=0` runs SQLite's checkpoints inside the commit that fills
            // the log (the saver's `background_checkpoints(false)`).
            let backfill = std::env::var("LG_BENCH_SQLITE_BACKFILL").map_or(true, |v| v != "0");
            // `LG_BENCH_SQLITE_GROUP=0` gives each save a transaction of its own even when runs
            // store side by side (the saver's `group_commit(false)`).
            let group = std::env::var("LG_BENCH_SQLITE_GROUP").map_or(true, |v| v != "0");
            let s = SqliteSaver::open_with(
                &path,
                SqliteOptions::default()
                    .synchronous(sync)
                    .max_connections(1)
                    .direct(direct)
                    .preallocate_wal(prealloc)
                    .background_checkpoints(backfill)
                    .group_commit(group),
            )
            .await
            .expect("open sqlite");
            Saver::Sqlite(s, path)
        }
        "postgres" | "postgres-nosync" => {
            let mut opts = PostgresOptions::default()
                .max_connections(1)
                .synchronous_commit_off(kind == "postgres-nosync");
            // `LG_BENCH_PG_SPIN_US=N` sets how long a caller polls before parking (the
            // saver's `spin`).
            if let Some(us) = std::env::var("LG_BENCH_PG_SPIN_US")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                opts = opts.spin(std::time::Duration::from_micros(us));
            }
            let s = PostgresSaver::connect_with(&pg_dsn(), opts)
                .await
                .expect("connect to PostgreSQL (LG_BENCH_PG_DSN)");
            s.truncate().await.expect("truncate");
            Saver::Postgres(s)
        }
        other => panic!("unknown saver {other}"),
    }
}

fn file_len(p: &str) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

async fn storage_info(
    saver: &Saver,
    thread: &str,
    steps: f64,
    info: &mut serde_json::Map<String, Value>,
) {
    let st = saver.stats(thread).await;
    info.insert("checkpoints".into(), json!(st.checkpoints));
    info.insert(
        "checkpoint_bytes".into(),
        json!(st.checkpoint_bytes + st.blob_bytes),
    );
    info.insert("blob_rows".into(), json!(st.blobs));
    info.insert("writes".into(), json!(st.writes));
    info.insert("write_bytes".into(), json!(st.write_bytes));
    info.insert(
        "bytes_per_superstep".into(),
        json!((st.checkpoint_bytes + st.blob_bytes + st.write_bytes) as f64 / steps),
    );
    if let Saver::Sqlite(s, path) = saver {
        let p = path.display().to_string();
        info.insert(
            "db_plus_wal_bytes".into(),
            json!(file_len(&p) + file_len(&format!("{p}-wal"))),
        );
        s.wal_checkpoint().await.expect("wal checkpoint");
        info.insert("db_bytes_after_wal_checkpoint".into(), json!(file_len(&p)));
    }
}

pub(crate) fn w5(variant: &str, o: &Opts) -> Case {
    let (kind, durability) = variant.split_once('/').unwrap_or((variant, "sync"));
    let base = match kind {
        "none" => 50,
        "memory" => 20,
        "postgres" | "postgres-nosync" => 5,
        _ => 10,
    };
    let n = o.n(base);
    let mut case = Case::new(
        "W5",
        variant,
        json!({"N": n, "supersteps_per_invoke": LOOP_STEPS, "durability": durability, "reps": o.reps, "warmup": o.warmup}),
    );
    let d = match durability {
        "async" => Durability::Async,
        "exit" => Durability::Exit,
        _ => Durability::Sync,
    };
    let rt = runtime();
    let units = [
        ("invoke", n as f64),
        ("superstep", (n as i64 * LOOP_STEPS) as f64),
    ];
    let slot: Slot<Counter, Vec<String>> = Arc::default();
    let prepare = |rep: i64| {
        if kind == "none" {
            let g = build_loop(false).compile().expect("W5 graph");
            *slot.lock().unwrap() = Some((g, Saver::Memory(Arc::default()), Vec::new()));
            return;
        }
        let saver = rt.block_on(fresh(kind, "w5"));
        let g = build_loop(false)
            .compile_with_shared(saver.shared())
            .expect("W5 graph");
        let threads = (0..n)
            .map(|i| format!("w5-{rep}-{i}-{}", uuid::Uuid::new_v4().simple()))
            .collect();
        *slot.lock().unwrap() = Some((g, saver, threads));
    };
    case.run(o.reps, o.warmup, &units, prepare, |_| {
        let guard = slot.lock().unwrap();
        let (g, _, threads) = guard.as_ref().expect("prepared");
        rt.block_on(async {
            for i in 0..n {
                let cfg = match threads.get(i) {
                    Some(t) => RunConfig::thread(t.clone())
                        .durability(d)
                        .recursion_limit(10_000),
                    None => RunConfig::new().recursion_limit(10_000),
                };
                let out = g.invoke(Counter::default(), &cfg).await.expect("W5 run");
                assert_eq!(out.counter, LOOP_STEPS);
            }
        });
        BTreeMap::new()
    });
    if let Some((_, saver, threads)) = slot.lock().unwrap().take()
        && let Some(last) = threads.last()
    {
        rt.block_on(storage_info(
            &saver,
            last,
            LOOP_STEPS as f64,
            &mut case.info,
        ));
        if kind == "sqlite" {
            case.info
                .insert("fsync_floor_us".into(), json!(fsync_floor_us(&tmp_dir())));
        }
        if kind.starts_with("sqlite") {
            // A row the size of this run's checkpoints, committed bare in the same sync mode.
            let row = case.info.get("bytes_per_superstep").and_then(Value::as_f64);
            let sync = if kind == "sqlite" { "FULL" } else { "NORMAL" };
            case.info.insert(
                "sqlite_commit_floor_us".into(),
                json!(sqlite_commit_floor_us(
                    &tmp_dir(),
                    sync,
                    row.map_or(400, |b| b as usize)
                )),
            );
        }
    }
    case
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Hitl {
    counter: i64,
    answer: String,
}

fn build_hitl() -> StateGraph<Hitl> {
    StateGraph::<Hitl>::new()
        .node("a", |s: &Hitl| HitlUpdate::new().counter(s.counter + 1))
        .node("b", |s: &Hitl, ctx: Ctx| {
            let counter = s.counter;
            async move {
                let v: String = ctx
                    .interrupt(json!({"question": "continue?", "counter": counter}))
                    .await?;
                Ok::<_, NodeError>(HitlUpdate::new().counter(counter + 1).answer(v))
            }
        })
        .node("c", |s: &Hitl| HitlUpdate::new().counter(s.counter + 1))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
}

pub(crate) fn w6(variant: &str, o: &Opts) -> Case {
    let n = o.n(500);
    let mut case = Case::new(
        "W6",
        variant,
        json!({"N": n, "reps": o.reps, "warmup": o.warmup}),
    );
    let rt = runtime();
    let slot: Slot<Hitl, Vec<String>> = Arc::default();
    let prepare = |rep: i64| {
        let saver = rt.block_on(fresh(variant, "w6"));
        let g = build_hitl()
            .compile_with_shared(saver.shared())
            .expect("W6 graph");
        let threads = (0..n)
            .map(|i| format!("w6-{rep}-{i}-{}", uuid::Uuid::new_v4().simple()))
            .collect();
        *slot.lock().unwrap() = Some((g, saver, threads));
    };
    case.run(o.reps, o.warmup, &[("cycle", n as f64)], prepare, |_| {
        let guard = slot.lock().unwrap();
        let (g, _, threads) = guard.as_ref().expect("prepared");
        let (mut first, mut resume) = (0u128, 0u128);
        rt.block_on(async {
            for t in threads {
                let cfg = RunConfig::thread(t.clone());
                let t0 = Instant::now();
                let out1 = g.invoke(Hitl::default(), &cfg).await.expect("first invoke");
                let t1 = Instant::now();
                let out2 = g.resume(&cfg, "yes").await.expect("resume");
                let t2 = Instant::now();
                first += (t1 - t0).as_nanos();
                resume += (t2 - t1).as_nanos();
                assert!(out1.is_interrupted() && out1.counter == 1 && out1.interrupts.len() == 1);
                assert!(!out2.is_interrupted() && out2.counter == 3 && out2.answer == "yes");
            }
        });
        super::probe::report(n as f64);
        BTreeMap::from([
            (
                "us_per_first_invoke".to_string(),
                first as f64 / 1000.0 / n as f64,
            ),
            (
                "us_per_resume_invoke".to_string(),
                resume as f64 / 1000.0 / n as f64,
            ),
        ])
    });
    if let Some((_, saver, threads)) = slot.lock().unwrap().take()
        && let Some(last) = threads.last()
    {
        rt.block_on(storage_info(&saver, last, 3.0, &mut case.info));
    }
    case
}

const W9_STEPS: i64 = 200;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Msg {
    id: String,
    role: String,
    content: String,
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Growth {
    #[reducer(append)]
    messages: Vec<Msg>,
    counter: i64,
}

fn content(i: i64) -> String {
    let mut x = i as u64;
    (0..1000)
        .map(|_| {
            x = (1_103_515_245u64.wrapping_mul(x).wrapping_add(12345)) % 2_147_483_648;
            (b'a' + ((x >> 16) % 26) as u8) as char
        })
        .collect()
}

fn build_growth(stamps: Arc<Mutex<Vec<Instant>>>) -> StateGraph<Growth> {
    let contents: Arc<Vec<String>> = Arc::new((0..W9_STEPS).map(content).collect());
    StateGraph::<Growth>::new()
        .node("append", move |s: &Growth| {
            stamps.lock().unwrap().push(Instant::now());
            let i = s.counter;
            let msg = Msg {
                id: format!("m{i:04}"),
                role: "user".into(),
                content: contents[i as usize].clone(),
            };
            GrowthUpdate::new().messages(vec![msg]).counter(i + 1)
        })
        .edge(START, "append")
        .route(
            "append",
            |s: &Growth| if s.counter < W9_STEPS { "append" } else { END },
            ["append", END],
        )
}

pub(crate) fn w9(variant: &str, o: &Opts) -> Case {
    let kind = variant.trim_end_matches("-delta");
    let mut case = Case::new(
        "W9",
        variant,
        json!({"supersteps": W9_STEPS, "msg_chars": 1000, "durability": "sync", "reps": o.reps, "warmup": o.warmup, "stores_deltas": true}),
    );
    let rt = runtime();
    let stamps: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let slot: Slot<Growth, String> = Arc::default();
    let prepare = |rep: i64| {
        stamps.lock().unwrap().clear();
        let saver = rt.block_on(fresh(kind, "w9"));
        let g = build_growth(stamps.clone())
            .compile_with_shared(saver.shared())
            .expect("W9 graph");
        *slot.lock().unwrap() = Some((
            g,
            saver,
            format!("w9-{rep}-{}", uuid::Uuid::new_v4().simple()),
        ));
    };
    case.run(
        o.reps,
        o.warmup,
        &[("superstep", W9_STEPS as f64), ("invoke", 1.0)],
        prepare,
        |_| {
            let guard = slot.lock().unwrap();
            let (g, _, thread) = guard.as_ref().expect("prepared");
            let cfg = RunConfig::thread(thread.clone())
                .durability(Durability::Sync)
                .recursion_limit(10_000);
            let out = rt
                .block_on(g.invoke(Growth::default(), &cfg))
                .expect("W9 run");
            assert_eq!(out.counter, W9_STEPS);
            assert_eq!(out.messages.len(), W9_STEPS as usize);
            let s = stamps.lock().unwrap();
            let d: Vec<f64> = s
                .windows(2)
                .map(|w| (w[1] - w[0]).as_nanos() as f64 / 1000.0)
                .collect();
            let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len().max(1) as f64;
            BTreeMap::from([
                (
                    "us_per_superstep_first20".to_string(),
                    mean(&d[..20.min(d.len())]),
                ),
                (
                    "us_per_superstep_last20".to_string(),
                    mean(&d[d.len().saturating_sub(20)..]),
                ),
            ])
        },
    );
    if let Some((g, saver, thread)) = slot.lock().unwrap().take() {
        rt.block_on(async {
            let raw: usize = (0..W9_STEPS).map(|i| content(i).len()).sum();
            case.info.insert("raw_message_bytes".into(), json!(raw));
            storage_info(&saver, &thread, W9_STEPS as f64, &mut case.info).await;
            let stored = case.info["checkpoint_bytes"].as_u64().unwrap_or(0)
                + case.info["write_bytes"].as_u64().unwrap_or(0);
            case.info
                .insert("stored_over_raw".into(), json!(stored as f64 / raw as f64));
            let t0 = Instant::now();
            let snap = g
                .get_state(&RunConfig::thread(thread.clone()))
                .await
                .expect("get_state");
            case.info.insert(
                "get_state_ms".into(),
                json!(t0.elapsed().as_secs_f64() * 1000.0),
            );
            assert_eq!(snap.values.messages.len(), W9_STEPS as usize);
        });
    }
    case
}
