//! What pruning a long conversation thread saves, and what the prune costs.
//!
//! A thread of N turns (each turn: a user line and a reply of about 200 bytes each, appended
//! to one list, two supersteps and three checkpoints) is built with durability `sync`, then
//! pruned with `Prune::KeepLatest`; a new turn then goes on from the pruned thread.
//!
//! ```text
//! cargo run --release -p langgraph-bench --example prune -- \
//!     [--turns 100,1000] [--reps 3] [--postgres URL]
//! ```
//!
//! Prints, per N, the rows and bytes stored before and after (`stats`), the median time of the
//! prune with its range (a new thread for each repetition), and the time of the turn after.

use std::sync::Arc;
use std::time::Instant;

use langgraph::prelude::*;
use langgraph::{PostgresOptions, PostgresSaver, StorageStats};

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    lines: Vec<String>,
}

fn chat(saver: Arc<dyn Checkpointer>) -> Result<CompiledGraph<Chat>, Box<dyn std::error::Error>> {
    Ok(StateGraph::<Chat>::new()
        .node("reply", |s: &Chat| {
            ChatUpdate::new().lines(vec![format!("reply {} {}", s.lines.len(), "r".repeat(190))])
        })
        .node("note", |_: &Chat| ChatUpdate::new())
        .edge(START, "reply")
        .edge("reply", "note")
        .edge("note", END)
        .compile_with_shared(saver)?)
}

enum Store {
    Sqlite(SqliteSaver),
    Postgres(PostgresSaver),
}

impl Store {
    fn saver(&self) -> Arc<dyn Checkpointer> {
        match self {
            Store::Sqlite(s) => Arc::new(s.clone()),
            Store::Postgres(s) => Arc::new(s.clone()),
        }
    }

    async fn stats(&self, thread: &str) -> Result<StorageStats, Box<dyn std::error::Error>> {
        Ok(match self {
            Store::Sqlite(s) => s.stats(thread).await?,
            Store::Postgres(s) => s.stats(thread).await?,
        })
    }
}

struct Args {
    turns: Vec<usize>,
    reps: usize,
    postgres: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        turns: vec![100, 1000],
        reps: 3,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--turns" => {
                a.turns = value()?
                    .split(',')
                    .map(|n| n.parse().map_err(|e| format!("--turns: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--reps" => a.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--postgres" => a.postgres = Some(value()?),
            "--help" | "-h" => {
                return Err("usage: prune [--turns 100,1000] [--reps 3] [--postgres URL]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn kb(s: &StorageStats) -> f64 {
    (s.checkpoint_bytes + s.blob_bytes + s.write_bytes) as f64 / 1024.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("lg-bench-prune-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = match &a.postgres {
        Some(url) => {
            let opts = PostgresOptions::default().schema("lg_bench_prune");
            let saver = PostgresSaver::connect_with(url, opts).await?;
            saver.truncate().await?;
            Store::Postgres(saver)
        }
        None => Store::Sqlite(SqliteSaver::open(dir.join("prune.db")).await?),
    };
    let kind = if a.postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let saver = store.saver();
    let g = chat(saver.clone())?;
    for &n in &a.turns {
        let (mut prunes, mut nexts) = (Vec::new(), Vec::new());
        let (mut before, mut after) = (StorageStats::default(), StorageStats::default());
        for rep in 0..a.reps {
            let thread = format!("t{n}-{rep}");
            let cfg = RunConfig::thread(thread.clone()).durability(Durability::Sync);
            for i in 0..n {
                let line = format!("user {i} {}", "u".repeat(190));
                g.invoke(ChatUpdate::new().lines(vec![line]), &cfg).await?;
            }
            before = store.stats(&thread).await?;
            let t = Instant::now();
            saver.prune(&[thread.as_str()], Prune::KeepLatest).await?;
            prunes.push(t.elapsed().as_secs_f64() * 1e3);
            after = store.stats(&thread).await?;
            let t = Instant::now();
            let out = g
                .invoke(ChatUpdate::new().lines(vec!["again".into()]), &cfg)
                .await?;
            nexts.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(
                out.lines.len(),
                2 * n + 2,
                "the pruned thread went on whole"
            );
        }
        prunes.sort_by(f64::total_cmp);
        nexts.sort_by(f64::total_cmp);
        let median = |v: &[f64]| v[v.len() / 2];
        println!(
            "{kind} {n} turns: {} checkpoints, {:.0} KiB before; {} checkpoint(s), {:.0} KiB after; \
             prune {:.2} ms ({:.2}-{:.2}); next turn {:.2} ms ({:.2}-{:.2})",
            before.checkpoints,
            kb(&before),
            after.checkpoints,
            kb(&after),
            median(&prunes),
            prunes[0],
            prunes[prunes.len() - 1],
            median(&nexts),
            nexts[0],
            nexts[nexts.len() - 1],
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
