//! What encrypting checkpoints costs (`checkpoint::Encrypted`): a chat of N turns (a user
//! line and a reply of about 200 bytes each, appended to one list; three checkpoints a
//! turn), in memory and on SQLite with `synchronous = NORMAL` (no fsync per commit, so the
//! sealing shows), plain and encrypted, with durability `sync`.
//!
//! ```text
//! cargo run --release -p langgraph-bench --example encryption -- [--turns 200] [--reps 5]
//! ```
//!
//! Prints per saver the median time of a turn (and the range of the repetitions' medians)
//! and, on SQLite, the bytes the thread stores.

use std::sync::Arc;
use std::time::Instant;

use langgraph::checkpoint::{Encrypted, EncryptionKey};
use langgraph::prelude::*;
use langgraph::{SqliteOptions, Synchronous};

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

fn args() -> Result<(usize, usize), String> {
    let (mut turns, mut reps) = (200, 5);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--turns" => turns = value()?.parse().map_err(|e| format!("--turns: {e}"))?,
            "--reps" => reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            _ => return Err("usage: encryption [--turns 200] [--reps 5]".into()),
        }
    }
    Ok((turns, reps))
}

/// Median µs per turn of one thread of `turns` turns.
async fn run(g: &CompiledGraph<Chat>, thread: &str, turns: usize) -> Result<f64, RunError> {
    let cfg = RunConfig::thread(thread).durability(Durability::Sync);
    let mut us = Vec::with_capacity(turns);
    for i in 0..turns {
        let line = format!("user {i} {}", "u".repeat(190));
        let t = Instant::now();
        g.invoke(ChatUpdate::new().lines(vec![line]), &cfg).await?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    Ok(us[us.len() / 2])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (turns, reps) = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("lg-bench-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key = EncryptionKey::generate();
    let opts = SqliteOptions::default().synchronous(Synchronous::Normal);
    let sqlite = SqliteSaver::open_with(dir.join("enc.db"), opts).await?;
    let savers: [(&str, Arc<dyn Checkpointer>); 4] = [
        ("memory", Arc::new(InMemorySaver::new())),
        (
            "memory encrypted",
            Arc::new(Encrypted::new(InMemorySaver::new(), key.clone())),
        ),
        ("sqlite-normal", Arc::new(sqlite.clone())),
        (
            "sqlite-normal encrypted",
            Arc::new(Encrypted::new(sqlite.clone(), key)),
        ),
    ];
    // Alternated repetitions, so that the machine's drift falls on all four alike.
    let mut medians: Vec<Vec<f64>> = vec![Vec::new(); savers.len()];
    let mut bytes = vec![0u64; savers.len()];
    for rep in 0..reps {
        for (i, (name, saver)) in savers.iter().enumerate() {
            let thread = format!("{name}-{rep}");
            medians[i].push(run(&chat(saver.clone())?, &thread, turns).await?);
            if name.starts_with("sqlite") {
                let s = sqlite.stats(&thread).await?;
                bytes[i] = s.checkpoint_bytes + s.blob_bytes + s.write_bytes;
            }
        }
    }
    for (i, (name, _)) in savers.iter().enumerate() {
        let m = &mut medians[i];
        m.sort_by(f64::total_cmp);
        let stored = if bytes[i] > 0 {
            format!("; {:.0} KiB stored", bytes[i] as f64 / 1024.0)
        } else {
            String::new()
        };
        println!(
            "{name}: {turns} turns, {:.1} µs a turn ({:.1}-{:.1}){stored}",
            m[m.len() / 2],
            m[0],
            m[m.len() - 1]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
