//! Retention: what a team running agents in production does to its checkpoint store.
//!
//! 1. Every thread is stored encrypted (`Encrypted`, key from `LANGGRAPH_AES_KEY`, or a new
//!    one for this run), in a SQLite file (`retention.db`, started afresh).
//! 2. Support chats of two users run; each run carries its user in its metadata.
//! 3. A retention job finds the threads nobody wrote to since a cutoff and prunes their
//!    history (`sweep` with `Prune::KeepLatest`): they stay readable and go on.
//! 4. A user asks to be forgotten: their threads are found by metadata and deleted.
//!
//! Run it with `cargo run -p retention`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use langgraph::checkpoint::{Encrypted, EncryptionKey, sweep};
use langgraph::prelude::*;

/// A support conversation.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Support {
    #[reducer(append)]
    lines: Vec<String>,
}

async fn agent(s: &Support) -> SupportUpdate {
    let last = s.lines.last().cloned().unwrap_or_default();
    SupportUpdate::new().lines(vec![format!("agent: noted \"{last}\"")])
}

fn chat(saver: Arc<dyn Checkpointer>) -> Result<CompiledGraph<Support>, GraphError> {
    StateGraph::<Support>::new()
        .node("agent", agent)
        .edge(START, "agent")
        .edge("agent", END)
        .compile_with_shared(saver)
}

async fn say(
    g: &CompiledGraph<Support>,
    thread: &str,
    user: &str,
    line: &str,
) -> Result<(), RunError> {
    let cfg = RunConfig::thread(thread).metadata("user", user);
    g.invoke(SupportUpdate::new().lines(vec![line.to_string()]), &cfg)
        .await?;
    Ok(())
}

async fn history(g: &CompiledGraph<Support>, thread: &str) -> Result<usize, RunError> {
    let all = g
        .state_history(&RunConfig::thread(thread), &Default::default())
        .await?;
    Ok(all.len())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = match EncryptionKey::from_env("LANGGRAPH_AES_KEY") {
        Ok(key) => key,
        Err(e) => {
            println!("{e}; using a new key for this run");
            EncryptionKey::generate()
        }
    };
    let path = "retention.db";
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let sqlite = SqliteSaver::open(path).await?;
    let saver: Arc<dyn Checkpointer> = Arc::new(Encrypted::new(sqlite.clone(), key));
    let g = chat(saver.clone())?;

    // Yesterday's chats (here: a moment ago), then a cutoff, then today's.
    for (thread, user) in [
        ("support/1", "ann"),
        ("support/2", "bob"),
        ("support/3", "bob"),
    ] {
        say(&g, thread, user, "my order is late").await?;
        say(&g, thread, user, "it was order 1234").await?;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cutoff = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    say(&g, "support/3", "bob", "any news?").await?;
    say(&g, "support/4", "ann", "hello again").await?;

    let all = saver.threads(&ThreadQuery::new()).await?;
    println!("{} threads in the store", all.len());
    for t in &all {
        let at = t.updated_at().map_or("?".to_string(), |at| at.to_string());
        println!("  {} (last written {at})", t.thread_id);
    }

    // The retention job: idle threads keep only what they need to go on.
    let idle = ThreadQuery::new().updated_before(cutoff).limit(100);
    let before = history(&g, "support/1").await?;
    let pruned = sweep(&*saver, &idle, Prune::KeepLatest).await?;
    let after = history(&g, "support/1").await?;
    println!("pruned {pruned} idle threads: support/1 kept {after} of {before} checkpoints");
    assert_eq!(pruned, 2, "support/1 and support/2 were idle");
    assert_eq!(after, 1);
    let busy = history(&g, "support/3").await?;
    assert_eq!(
        busy, 9,
        "support/3 was written after the cutoff: its history stays"
    );
    let out = g
        .invoke(
            SupportUpdate::new().lines(vec!["thanks!".into()]),
            &RunConfig::thread("support/1").metadata("user", "ann"),
        )
        .await?;
    println!("support/1 goes on: {:?}", out.lines.last());
    assert_eq!(out.lines.len(), 6);

    // Ann asks to be forgotten.
    let anns = ThreadQuery::new().metadata("user", "ann");
    let erased = sweep(&*saver, &anns, Prune::Delete).await?;
    let left: Vec<String> = saver
        .threads(&ThreadQuery::new())
        .await?
        .into_iter()
        .map(|t| t.thread_id)
        .collect();
    println!("erased ann's {erased} threads; left: {left:?}");
    assert_eq!(erased, 2);
    assert_eq!(left, ["support/2", "support/3"]);

    // What the file holds is sealed: read past the wrapper, a value is not the text.
    let raw = sqlite
        .head("support/3", "")
        .await?
        .checkpoint
        .ok_or("no head")?;
    let stored = raw.values["lines"].to_string();
    assert!(!stored.contains("order 1234"));
    println!(
        "support/3 as stored: {}...",
        &stored[..40.min(stored.len())]
    );
    Ok(())
}
