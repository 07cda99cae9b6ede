//! Long threads on SQLite and PostgreSQL: the saver keeps the last full value of each long
//! list it wrote or read, so that reading a long thread's head stops its delta chain early. What it reads
//! must equal what a read without kept values gives, through every way a thread can change
//! behind the kept value: more turns, another process writing, a fork, a prune, a deletion.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use langgraph::checkpoint::{CheckpointTuple, ListOptions};
use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    lines: Vec<String>,
}

fn chat(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Chat> {
    StateGraph::<Chat>::new()
        .node("reply", |s: &Chat| {
            ChatUpdate::new().lines(vec![format!("reply {}", s.lines.len())])
        })
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn say(line: impl Into<String>) -> ChatUpdate {
    ChatUpdate::new().lines(vec![line.into()])
}

/// The head as `saver` reads it (kept values allowed), checked against the same checkpoint
/// read through a listing and through a new saver on the file, neither of which has kept
/// anything of it.
async fn checked_head(saver: &dyn Checkpointer, store: &Store) -> CheckpointTuple {
    let head = saver.head("chat", "").await.unwrap().checkpoint.unwrap();
    let one = ListOptions {
        limit: Some(1),
        ..ListOptions::default()
    };
    let listed = saver.list("chat", "", &one).await.unwrap();
    assert_eq!(
        listed,
        std::slice::from_ref(&head),
        "the head against a listing"
    );
    let fresh = store.open().await;
    let other = fresh.head("chat", "").await.unwrap().checkpoint.unwrap();
    assert_eq!(other, head, "the head against a new saver");
    head
}

fn lines(t: &CheckpointTuple) -> usize {
    t.values["lines"].as_array().map_or(0, Vec::len)
}

on_both!(long_thread:
    a_long_threads_head_reads_the_same_with_kept_values_on_sqlite,
    a_long_threads_head_reads_the_same_with_kept_values_on_postgres);

async fn long_thread(store: &Store) {
    let saver = store.open().await;
    let g = chat(saver.clone());
    let cfg = RunConfig::thread("chat");
    // 120 turns: the list passes the length worth keeping and several full snapshots.
    for turn in 0..120 {
        g.invoke(say(format!("user {turn}")), &cfg).await.unwrap();
        if turn % 10 == 9 {
            let head = checked_head(&*saver, store).await;
            assert_eq!(lines(&head), 2 * (turn + 1));
        }
    }

    // Another process writes five turns; this saver's kept value is older than the head.
    {
        let g2 = chat(store.open().await);
        for turn in 0..5 {
            g2.invoke(say(format!("elsewhere {turn}")), &cfg)
                .await
                .unwrap();
        }
    }
    let head = checked_head(&*saver, store).await;
    assert_eq!(lines(&head), 250);
    assert_eq!(
        head.values["lines"][249],
        serde_json::json!("reply 249"),
        "the other process's last reply"
    );

    // A fork from an older checkpoint: its appends follow another version than the kept one.
    let history = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    let old = history[100].checkpoint_id.clone().unwrap();
    let fork = cfg.clone().checkpoint_id(old);
    let forked = g.invoke(say("forked"), &fork).await.unwrap();
    let head = checked_head(&*saver, store).await;
    assert_eq!(lines(&head), forked.lines.len());
    assert!(forked.lines.len() < 250);
    // And back on the long branch's last checkpoint: a turn from there.
    let long = cfg
        .clone()
        .checkpoint_id(history[0].checkpoint_id.clone().unwrap());
    g.invoke(say("back"), &long).await.unwrap();
    assert_eq!(lines(&checked_head(&*saver, store).await), 252);

    // A prune stores the kept checkpoint's values again, under other versions.
    saver.prune(&["chat"], Prune::KeepLatest).await.unwrap();
    assert_eq!(lines(&checked_head(&*saver, store).await), 252);
    g.invoke(say("after the prune"), &cfg).await.unwrap();
    assert_eq!(lines(&checked_head(&*saver, store).await), 254);

    // Deleted, then started again under the same id.
    saver.delete_thread("chat").await.unwrap();
    assert!(saver.head("chat", "").await.unwrap().checkpoint.is_none());
    let out = g.invoke(say("new"), &cfg).await.unwrap();
    assert_eq!(out.lines, ["new", "reply 1"]);
    assert_eq!(lines(&checked_head(&*saver, store).await), 2);
}

/// `value_cache_bytes(0)` keeps no list (reads walk the deltas, as before the cache), and a
/// budget keeps the chat's list; the heads read the same either way.
#[tokio::test]
async fn a_saver_told_to_keep_nothing_keeps_no_list() {
    let dir = std::env::temp_dir().join(format!("lg-keep-nothing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut heads = Vec::new();
    for (bytes, kept) in [(0, "values: 0"), (1 << 20, "values: 1")] {
        let opts = langgraph::SqliteOptions::default().value_cache_bytes(bytes);
        let saver = SqliteSaver::open_with(dir.join(format!("{bytes}.db")), opts)
            .await
            .unwrap();
        let g = chat(Arc::new(saver.clone()));
        for turn in 0..40 {
            g.invoke(say(format!("user {turn}")), &RunConfig::thread("chat"))
                .await
                .unwrap();
        }
        let head = saver.head("chat", "").await.unwrap().checkpoint.unwrap();
        assert_eq!(lines(&head), 80);
        assert!(format!("{saver:?}").contains(kept), "{saver:?}");
        heads.push(head.values);
        saver.close().await;
    }
    assert_eq!(heads[0], heads[1]);
    let _ = std::fs::remove_dir_all(&dir);
}
