//! Many durable runs at once on one SQLite file: what a service with many agent sessions
//! pays per superstep.
//!
//! Each of N runs (a thread each) counts to 100, one superstep and one checkpoint per step,
//! with durability `sync`; all N are started at once on a multi-thread runtime (two workers)
//! and the wall time is divided by the N × 100 supersteps. With group commit (on by default),
//! runs storing side by side share transactions, so with `synchronous = FULL` they share
//! fsyncs too.
//!
//! ```text
//! cargo run --release -p langgraph-bench --example concurrent_runs -- \
//!     [--runs 1,2,10,50] [--reps 5] [--normal] [--no-group] [--current-thread] [--pace-ms N]
//! ```
//!
//! `--pace-ms N` makes each step await N ms first (a model or tool call): the runs then take
//! turns at storing, and what is measured is whether commits keep up with them.
//!
//! Prints, per number of runs, the median µs per superstep over the repetitions, with the
//! range (a new database file for each repetition).

use std::time::Instant;

use langgraph::prelude::*;
use langgraph::{SqliteOptions, Synchronous};

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Count {
    counter: i64,
}

const STEPS: i64 = 100;

struct Args {
    runs: Vec<usize>,
    reps: usize,
    sync: Synchronous,
    group: bool,
    current_thread: bool,
    pace: std::time::Duration,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        runs: vec![1, 2, 10, 50],
        reps: 5,
        sync: Synchronous::Full,
        group: true,
        current_thread: false,
        pace: std::time::Duration::ZERO,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => {
                let v = it.next().ok_or("--runs needs a list")?;
                a.runs = v
                    .split(',')
                    .map(|n| n.parse().map_err(|e| format!("--runs {n}: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--reps" => {
                let v = it.next().ok_or("--reps needs a number")?;
                a.reps = v.parse().map_err(|e| format!("--reps {v}: {e}"))?;
            }
            "--normal" => a.sync = Synchronous::Normal,
            "--no-group" => a.group = false,
            "--current-thread" => a.current_thread = true,
            "--pace-ms" => {
                let v = it.next().ok_or("--pace-ms needs a number")?;
                let ms: u64 = v.parse().map_err(|e| format!("--pace-ms {v}: {e}"))?;
                a.pace = std::time::Duration::from_millis(ms);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn graph(pace: std::time::Duration) -> StateGraph<Count> {
    StateGraph::<Count>::new()
        .node("inc", move |s: &Count| {
            let next = s.counter + 1;
            async move {
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
                CountUpdate::new().counter(next)
            }
        })
        .edge(START, "inc")
        .route(
            "inc",
            |s: &Count| {
                if s.counter < STEPS {
                    Route::to("inc")
                } else {
                    Route::end()
                }
            },
            ["inc", END],
        )
}

/// One repetition: `runs` runs at once on a new database; µs per superstep.
async fn once(a: &Args, runs: usize, rep: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("lg-concurrent-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("runs{runs}-rep{rep}.db"));
    let options = SqliteOptions::default()
        .synchronous(a.sync)
        .group_commit(a.group);
    let g = graph(a.pace).compile_with(SqliteSaver::open_with(&path, options).await?)?;
    let start = Instant::now();
    let handles = (0..runs).map(|i| {
        let g = g.clone();
        tokio::spawn(async move {
            let cfg = RunConfig::thread(format!("session-{i}")).durability(Durability::Sync);
            g.invoke(CountUpdate::new(), &cfg).await.map(|s| s.counter)
        })
    });
    for counted in futures::future::join_all(handles).await {
        let counted = counted??;
        if counted != STEPS {
            return Err(format!("a run counted to {counted}, not {STEPS}").into());
        }
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (runs as f64 * STEPS as f64);
    drop(g);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(us)
}

const USAGE: &str = "concurrent_runs [--runs 1,2,10,50] [--reps 5] [--normal] [--no-group] \
                     [--current-thread] [--pace-ms N]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let a = args().map_err(|e| format!("{e}\nusage: {USAGE}"))?;
    let rt = if a.current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
    };
    println!(
        "synchronous={:?} group_commit={} pace={:?} runtime={}",
        a.sync,
        a.group,
        a.pace,
        if a.current_thread {
            "current_thread"
        } else {
            "multi_thread(2)"
        }
    );
    rt.block_on(async {
        for &runs in &a.runs {
            let mut us = Vec::with_capacity(a.reps);
            for rep in 0..a.reps {
                us.push(once(&a, runs, rep).await?);
            }
            us.sort_by(f64::total_cmp);
            let median = us[us.len() / 2];
            println!(
                "runs {runs:>3}: {median:8.1} us per superstep ({:.1}-{:.1}), {:.0} supersteps/s",
                us[0],
                us[us.len() - 1],
                1e6 / median
            );
        }
        Ok(())
    })
}
