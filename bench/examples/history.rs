//! What reading a page of a long thread's history costs (`Checkpointer::list`, what
//! `state_history` and a time-travel UI call): a chat thread of N turns (a user line and a
//! reply of about 200 bytes each, appended to one list; three checkpoints a turn).
//!
//! ```text
//! cargo run --release -p langgraph-bench --example history -- \
//!     [--turns 1000] [--reps 5] [--postgres URL]
//! ```
//!
//! Prints the median time (and range) of: the head (what every run reads first); the newest
//! 10 checkpoints; the 10 before the
//! thread's middle checkpoint; the newest 10 whose metadata has `source = "input"`; and
//! `state_history` with a limit of 10 (the same page as states). `bench/python/history.py`
//! times the same calls on Python LangGraph's savers.

use std::sync::Arc;

use langgraph::checkpoint::ListOptions;
use langgraph::prelude::*;

#[path = "support/timing.rs"]
mod timing;
use langgraph::{PostgresOptions, PostgresSaver, SqliteOptions, Synchronous};
use timing::time;

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
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with_shared(saver)?)
}

struct Args {
    turns: usize,
    reps: usize,
    postgres: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        turns: 1000,
        reps: 5,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--turns" => a.turns = value()?.parse().map_err(|e| format!("--turns: {e}"))?,
            "--reps" => a.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--postgres" => a.postgres = Some(value()?),
            "--help" | "-h" => {
                return Err("usage: history [--turns 1000] [--reps 5] [--postgres URL]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
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
    let dir = std::env::temp_dir().join(format!("lg-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (kind, saver): (&str, Arc<dyn Checkpointer>) = match &a.postgres {
        Some(url) => {
            let opts = PostgresOptions::default().schema("lg_bench_history");
            let saver = PostgresSaver::connect_with(url, opts).await?;
            saver.truncate().await?;
            ("postgres", Arc::new(saver))
        }
        None => {
            let opts = SqliteOptions::default().synchronous(Synchronous::Normal);
            let saver = SqliteSaver::open_with(dir.join("history.db"), opts).await?;
            ("sqlite", Arc::new(saver))
        }
    };
    let g = chat(saver.clone())?;
    let cfg = RunConfig::thread("chat").durability(Durability::Async);
    for turn in 0..a.turns {
        let line = format!("user {turn} {}", "u".repeat(190));
        g.invoke(ChatUpdate::new().lines(vec![line]), &cfg).await?;
    }
    let s = &*saver;
    let all = s.list("chat", "", &ListOptions::default()).await?;
    let middle = all[all.len() / 2].checkpoint.id.to_string();
    let page = |opts: ListOptions| async move { Ok(s.list("chat", "", &opts).await?.len()) };
    let newest = time(a.reps, 10, || {
        page(ListOptions {
            limit: Some(10),
            ..ListOptions::default()
        })
    })
    .await?;
    let before = time(a.reps, 10, || {
        page(ListOptions {
            limit: Some(10),
            before: Some(middle.clone()),
            ..ListOptions::default()
        })
    })
    .await?;
    let mut inputs = ListOptions {
        limit: Some(10),
        ..ListOptions::default()
    };
    inputs.filter.insert("source".into(), "input".into());
    let filtered = time(a.reps, 10, || page(inputs.clone())).await?;
    let head = time(a.reps, 1, || async move {
        Ok(s.head("chat", "").await?.checkpoint.iter().count())
    })
    .await?;
    let g = &g;
    let cfg = &cfg;
    let states = time(a.reps, 10, || async move {
        let opts = ListOptions {
            limit: Some(10),
            ..ListOptions::default()
        };
        Ok(g.state_history(cfg, &opts).await?.len())
    })
    .await?;
    println!(
        "{kind} {} turns ({} checkpoints): the head {head}; newest 10 {newest}; 10 before the middle {before}; \
         newest 10 inputs by metadata {filtered}; state_history of 10 {states}",
        a.turns,
        all.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
