//! A conformance suite for [`Checkpointer`] implementations (feature `test-utils`).
//!
//! Run it against a saver in a test:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use langgraph_checkpoint::{InMemorySaver, conformance};
//! conformance::run_all(&InMemorySaver::new()).await.unwrap();
//! # });
//! ```
//!
//! Every check uses fresh thread ids, so the suite can run against a shared database.

use serde_json::{Value, json};

use crate::model::{
    Blob, BlobValue, Checkpoint, CheckpointMetadata, Fence, ListOptions, PendingWrite,
    PutCheckpoint, PutWrites, Source, next_checkpoint_id,
};
use crate::saver::Checkpointer;

/// A failed check: which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "conformance check `{}` failed: {}",
            self.check, self.reason
        )
    }
}

impl std::error::Error for Failure {}

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn thread() -> String {
    format!("conformance-{}", uuid::Uuid::new_v4())
}

/// A checkpoint put on `thread` after `head`, with the given blobs.
fn put(
    thread: &str,
    ns: &str,
    head: Option<&str>,
    fence: Fence,
    step: i64,
    blobs: Vec<(&str, BlobValue)>,
    inherited: &[(&str, &str)],
) -> PutCheckpoint {
    let mut cp = Checkpoint::empty();
    cp.id = next_checkpoint_id(head);
    for (channel, version) in inherited {
        cp.channel_versions
            .insert((*channel).into(), (*version).into());
    }
    let blobs: Vec<Blob> = blobs
        .into_iter()
        .map(|(channel, value)| {
            cp.channel_versions.insert(channel.into(), cp.id.clone());
            Blob {
                channel: channel.into(),
                version: cp.id.clone(),
                value,
            }
        })
        .collect();
    cp.next = vec!["a".into()];
    PutCheckpoint {
        thread_id: thread.into(),
        ns: ns.into(),
        metadata: CheckpointMetadata::new(
            if step < 0 {
                Source::Input
            } else {
                Source::Loop
            },
            step,
        ),
        parent_id: head.map(Into::into),
        expected_head: head.map(Into::into),
        checkpoint: cp,
        blobs,
        parent_writes: Vec::new(),
        fence,
    }
}

fn full(v: Value) -> BlobValue {
    BlobValue::Full { value: v }
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

async fn empty_thread(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let h = s.head(&t, "").await.map_err(err)?;
    ensure!(
        h.epoch == 0 && h.checkpoint.is_none(),
        "a new thread has epoch 0 and no head: {h:?}"
    );
    ensure!(
        s.get(&t, "", "nope").await.map_err(err)?.is_none(),
        "unknown id must be None"
    );
    ensure!(
        s.list(&t, "", &ListOptions::default())
            .await
            .map_err(err)?
            .is_empty(),
        "empty list"
    );
    Ok(())
}

async fn put_and_read_back(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(
        &t,
        "",
        None,
        Fence::claim_from(0),
        -1,
        vec![("x", full(json!(1))), ("s", full(json!("héllo ✓")))],
        &[],
    );
    let id1 = p1.checkpoint.id.clone();
    s.put(p1.clone()).await.map_err(err)?;
    let h = s.head(&t, "").await.map_err(err)?;
    ensure!(h.epoch == 1, "the claim sets epoch 1, got {}", h.epoch);
    let c = h.checkpoint.ok_or("no head after put")?;
    ensure!(
        c.checkpoint == p1.checkpoint,
        "checkpoint round trip: {:?} != {:?}",
        c.checkpoint,
        p1.checkpoint
    );
    ensure!(c.metadata == p1.metadata, "metadata round trip");
    ensure!(
        c.values.get("x") == Some(&json!(1)) && c.values.get("s") == Some(&json!("héllo ✓")),
        "values: {:?}",
        c.values
    );
    ensure!(c.parent_id.is_none(), "first checkpoint has no parent");
    // a second checkpoint changes only y; x is inherited by version
    let p2 = put(
        &t,
        "",
        Some(&id1),
        Fence {
            epoch: 1,
            claim: false,
        },
        0,
        vec![("y", full(json!([1, 2])))],
        &[("x", &id1)],
    );
    let id2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let c2 = s
        .get(&t, "", &id2)
        .await
        .map_err(err)?
        .ok_or("second checkpoint missing")?;
    ensure!(
        c2.values.get("x") == Some(&json!(1)) && c2.values.get("y") == Some(&json!([1, 2])),
        "inherited values: {:?}",
        c2.values
    );
    ensure!(c2.parent_id.as_deref() == Some(id1.as_str()), "parent link");
    let big = "x".repeat(1 << 20);
    let p3 = put(
        &t,
        "",
        Some(&id2),
        Fence {
            epoch: 1,
            claim: false,
        },
        1,
        vec![("big", full(json!(big)))],
        &[],
    );
    let id3 = p3.checkpoint.id.clone();
    s.put(p3).await.map_err(err)?;
    let c3 = s
        .get(&t, "", &id3)
        .await
        .map_err(err)?
        .ok_or("third checkpoint missing")?;
    ensure!(
        c3.values.get("big").and_then(Value::as_str).map(str::len) == Some(1 << 20),
        "a 1 MiB value round trips"
    );
    Ok(())
}

async fn delta_chains(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(
        &t,
        "",
        None,
        Fence::claim_from(0),
        0,
        vec![("m", full(json!([1])))],
        &[],
    );
    let v1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    let mut head = v1.clone();
    for (depth, i) in (1u32..).zip(2..=4) {
        let p = put(
            &t,
            "",
            Some(&head),
            Fence {
                epoch: 1,
                claim: false,
            },
            i,
            vec![(
                "m",
                BlobValue::Delta {
                    base: head.clone(),
                    items: json!([i]),
                    depth,
                },
            )],
            &[],
        );
        head = p.checkpoint.id.clone();
        s.put(p).await.map_err(err)?;
    }
    let c = s
        .get(&t, "", &head)
        .await
        .map_err(err)?
        .ok_or("head missing")?;
    ensure!(
        c.values.get("m") == Some(&json!([1, 2, 3, 4])),
        "delta chain resolves in order: {:?}",
        c.values
    );
    let old = s
        .get(&t, "", &v1)
        .await
        .map_err(err)?
        .ok_or("first missing")?;
    ensure!(
        old.values.get("m") == Some(&json!([1])),
        "older versions stay intact"
    );
    Ok(())
}

async fn fencing(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(&t, "", None, Fence::claim_from(0), 0, vec![], &[]);
    let id1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    // A second claimer that read epoch 0 loses and stores nothing.
    let stale = put(&t, "", Some(&id1), Fence::claim_from(0), 1, vec![], &[]);
    let e = s
        .put(stale)
        .await
        .err()
        .ok_or("a stale claim must conflict")?;
    ensure!(e.is_conflict(), "stale claim gives Conflict, got {e}");
    // A writer that expects an old head loses.
    let p2 = put(
        &t,
        "",
        Some(&id1),
        Fence {
            epoch: 1,
            claim: false,
        },
        1,
        vec![],
        &[],
    );
    let id2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let behind = put(
        &t,
        "",
        Some(&id1),
        Fence {
            epoch: 1,
            claim: false,
        },
        1,
        vec![],
        &[],
    );
    let e = s
        .put(behind)
        .await
        .err()
        .ok_or("a stale head must conflict")?;
    ensure!(e.is_conflict(), "stale head gives Conflict, got {e}");
    // A claim that read the current epoch but an old head loses, and keeps the epoch: the
    // writer holding the thread goes on.
    let late = put(&t, "", Some(&id1), Fence::claim_from(1), 1, vec![], &[]);
    let e = s
        .put(late)
        .await
        .err()
        .ok_or("a claim with a stale head must conflict")?;
    ensure!(
        e.is_conflict(),
        "claim with a stale head gives Conflict, got {e}"
    );
    let held = Fence {
        epoch: 1,
        claim: false,
    };
    let p3 = put(&t, "", Some(&id2), held, 1, vec![], &[]);
    let id2 = p3.checkpoint.id.clone();
    s.put(p3)
        .await
        .map_err(|e| format!("a failed claim must not fence out the holder: {e}"))?;
    // claim() fences the old writer out.
    let f = s.claim(&t, 1).await.map_err(err)?;
    ensure!(
        f.epoch == 2 && !f.claim,
        "claim returns the new held fence, got {f:?}"
    );
    let old = put(
        &t,
        "",
        Some(&id2),
        Fence {
            epoch: 1,
            claim: false,
        },
        2,
        vec![],
        &[],
    );
    ensure!(
        s.put(old).await.err().is_some_and(|e| e.is_conflict()),
        "the fenced-out writer conflicts"
    );
    let w = PutWrites {
        thread_id: t.clone(),
        ns: String::new(),
        checkpoint_id: id2.clone(),
        writes: vec![write("task", "__writes__", json!(1))],
        fence: Fence {
            epoch: 1,
            claim: false,
        },
    };
    ensure!(
        s.put_writes(w).await.err().is_some_and(|e| e.is_conflict()),
        "fenced-out writes conflict"
    );
    ensure!(
        s.claim(&t, 1).await.err().is_some_and(|e| e.is_conflict()),
        "a stale claim() conflicts"
    );
    // A second claimer that read the same epoch and head as the claim() above: the epoch it
    // would set is already set, by someone else, and nothing moved the head. It must lose.
    let twin = put(&t, "", Some(&id2), Fence::claim_from(1), 2, vec![], &[]);
    ensure!(
        s.put(twin).await.err().is_some_and(|e| e.is_conflict()),
        "a claim that lost to claim() conflicts, although epoch and head match"
    );
    let twin_writes = PutWrites {
        thread_id: t.clone(),
        ns: String::new(),
        checkpoint_id: id2.clone(),
        writes: vec![write("task", "__resume__", json!(1))],
        fence: Fence::claim_from(1),
    };
    ensure!(
        s.put_writes(twin_writes)
            .await
            .err()
            .is_some_and(|e| e.is_conflict()),
        "claiming writes that lost to claim() conflict"
    );
    let ok = put(
        &t,
        "",
        Some(&id2),
        Fence {
            epoch: 2,
            claim: false,
        },
        2,
        vec![],
        &[],
    );
    s.put(ok).await.map_err(err)?;
    // Nothing of the losers was stored.
    let all = s.list(&t, "", &ListOptions::default()).await.map_err(err)?;
    ensure!(
        all.len() == 4,
        "exactly the four accepted checkpoints are stored, got {}",
        all.len()
    );
    Ok(())
}

fn write(task: &str, channel: &str, value: Value) -> PendingWrite {
    PendingWrite {
        task_id: task.into(),
        task_name: format!("node-{task}"),
        channel: channel.into(),
        value,
    }
}

async fn pending_writes(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(&t, "", None, Fence::claim_from(0), 0, vec![], &[]);
    let id1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    let held = Fence {
        epoch: 1,
        claim: false,
    };
    let w = |writes| PutWrites {
        thread_id: t.clone(),
        ns: String::new(),
        checkpoint_id: id1.clone(),
        writes,
        fence: held.clone(),
    };
    s.put_writes(w(vec![
        write("t1", "__writes__", json!({"update": {"x": 1}})),
        write("t2", "__interrupt__", json!(["q"])),
    ]))
    .await
    .map_err(err)?;
    // Same (task, channel) replaces; another channel adds.
    s.put_writes(w(vec![
        write("t1", "__writes__", json!({"update": {"x": 2}})),
        write("t2", "__resume__", json!(["a"])),
    ]))
    .await
    .map_err(err)?;
    let c = s
        .get(&t, "", &id1)
        .await
        .map_err(err)?
        .ok_or("checkpoint missing")?;
    let find = |task: &str, ch: &str| {
        c.pending_writes
            .iter()
            .find(|w| w.task_id == task && w.channel == ch)
            .map(|w| w.value.clone())
    };
    ensure!(
        c.pending_writes.len() == 3,
        "three writes after the upsert, got {:?}",
        c.pending_writes
    );
    ensure!(
        find("t1", "__writes__") == Some(json!({"update": {"x": 2}})),
        "upsert replaced the value"
    );
    ensure!(
        find("t2", "__resume__") == Some(json!(["a"])),
        "resume write stored"
    );
    ensure!(
        c.pending_writes
            .iter()
            .all(|w| w.task_name == format!("node-{}", w.task_id)),
        "task names stored"
    );
    // Writes ride along a put onto its parent.
    let mut p2 = put(&t, "", Some(&id1), held.clone(), 1, vec![], &[]);
    p2.parent_writes = vec![write("t3", "__writes__", json!("last"))];
    s.put(p2).await.map_err(err)?;
    let c = s
        .get(&t, "", &id1)
        .await
        .map_err(err)?
        .ok_or("checkpoint missing")?;
    ensure!(
        c.pending_writes.iter().any(|w| w.task_id == "t3"),
        "parent writes land on the parent"
    );
    // Writes that claim the thread (a resume) bump the epoch.
    let claim = PutWrites {
        thread_id: t.clone(),
        ns: String::new(),
        checkpoint_id: id1.clone(),
        writes: vec![write("t4", "__resume__", json!(1))],
        fence: Fence::claim_from(1),
    };
    s.put_writes(claim).await.map_err(err)?;
    ensure!(
        s.head(&t, "").await.map_err(err)?.epoch == 2,
        "claiming writes bump the epoch"
    );
    Ok(())
}

async fn listing(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let mut ids = Vec::new();
    let mut head: Option<String> = None;
    for step in -1..4 {
        let fence = if head.is_none() {
            Fence::claim_from(0)
        } else {
            Fence {
                epoch: 1,
                claim: false,
            }
        };
        let mut p = put(&t, "", head.as_deref(), fence, step, vec![], &[]);
        p.metadata.extra.insert(
            "user".into(),
            json!(if step % 2 == 0 { "ann" } else { "bob" }),
        );
        head = Some(p.checkpoint.id.clone());
        ids.push(p.checkpoint.id.clone());
        s.put(p).await.map_err(err)?;
    }
    let steps =
        |v: &[crate::CheckpointTuple]| v.iter().map(|c| c.metadata.step).collect::<Vec<_>>();
    let all = s.list(&t, "", &ListOptions::default()).await.map_err(err)?;
    ensure!(
        steps(&all) == [3, 2, 1, 0, -1],
        "newest first: {:?}",
        steps(&all)
    );
    let lim = s
        .list(
            &t,
            "",
            &ListOptions {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    ensure!(steps(&lim) == [3, 2], "limit: {:?}", steps(&lim));
    let before = s
        .list(
            &t,
            "",
            &ListOptions {
                before: Some(ids[2].clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    ensure!(steps(&before) == [0, -1], "before: {:?}", steps(&before));
    let mut f = serde_json::Map::new();
    f.insert("source".into(), json!("input"));
    let input = s
        .list(
            &t,
            "",
            &ListOptions {
                filter: f,
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    ensure!(
        steps(&input) == [-1],
        "filter by source: {:?}",
        steps(&input)
    );
    let mut f = serde_json::Map::new();
    f.insert("user".into(), json!("ann"));
    let ann = s
        .list(
            &t,
            "",
            &ListOptions {
                filter: f,
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?;
    ensure!(
        steps(&ann) == [2],
        "filter by user metadata with limit: {:?}",
        steps(&ann)
    );
    Ok(())
}

async fn namespaces_and_deletion(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let other = thread();
    let root = put(
        &t,
        "",
        None,
        Fence::claim_from(0),
        0,
        vec![("x", full(json!(1)))],
        &[],
    );
    s.put(root).await.map_err(err)?;
    let sub = put(
        &t,
        "child:1",
        None,
        Fence {
            epoch: 1,
            claim: false,
        },
        0,
        vec![("x", full(json!(2)))],
        &[],
    );
    let sub_id = sub.checkpoint.id.clone();
    s.put(sub).await.map_err(err)?;
    let keep = put(&other, "", None, Fence::claim_from(0), 0, vec![], &[]);
    s.put(keep).await.map_err(err)?;
    let h = s.head(&t, "child:1").await.map_err(err)?;
    let c = h.checkpoint.ok_or("subgraph head missing")?;
    ensure!(
        c.checkpoint.id == sub_id && c.values.get("x") == Some(&json!(2)),
        "namespaces are separate"
    );
    ensure!(
        s.head(&t, "")
            .await
            .map_err(err)?
            .checkpoint
            .map(|c| c.values.get("x").cloned())
            == Some(Some(json!(1))),
        "root untouched"
    );
    s.delete_thread(&t).await.map_err(err)?;
    ensure!(
        s.head(&t, "").await.map_err(err)?.checkpoint.is_none(),
        "deleted root"
    );
    ensure!(
        s.head(&t, "child:1")
            .await
            .map_err(err)?
            .checkpoint
            .is_none(),
        "deleted subgraph"
    );
    ensure!(
        s.head(&other, "").await.map_err(err)?.checkpoint.is_some(),
        "other threads survive a delete"
    );
    Ok(())
}

async fn racing_writers(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p = put(&t, "", None, Fence::claim_from(0), 0, vec![], &[]);
    let id = p.checkpoint.id.clone();
    s.put(p).await.map_err(err)?;
    // Two writers claim from the same epoch at once: exactly one wins.
    let (a, b) = futures_join(s.claim(&t, 1), s.claim(&t, 1)).await;
    ensure!(
        a.is_ok() != b.is_ok(),
        "exactly one concurrent claim wins: {a:?} / {b:?}"
    );
    let epoch = 2;
    let pa = put(
        &t,
        "",
        Some(&id),
        Fence {
            epoch,
            claim: false,
        },
        1,
        vec![],
        &[],
    );
    let pb = put(
        &t,
        "",
        Some(&id),
        Fence {
            epoch,
            claim: false,
        },
        1,
        vec![],
        &[],
    );
    let (a, b) = futures_join(s.put(pa), s.put(pb)).await;
    ensure!(
        a.is_ok() != b.is_ok(),
        "exactly one of two puts on the same head wins: {a:?} / {b:?}"
    );
    let all = s.list(&t, "", &ListOptions::default()).await.map_err(err)?;
    ensure!(all.len() == 2, "no silent fork: {} checkpoints", all.len());
    Ok(())
}

/// Polls two futures to completion concurrently.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

/// Runs every check against `saver`; the first failure is returned.
pub async fn run_all<C: Checkpointer>(saver: &C) -> Result<(), Failure> {
    let s: &dyn Checkpointer = saver;
    let checks: [(&'static str, Check); 8] = [
        ("empty_thread", empty_thread(s).await),
        ("put_and_read_back", put_and_read_back(s).await),
        ("delta_chains", delta_chains(s).await),
        ("fencing", fencing(s).await),
        ("pending_writes", pending_writes(s).await),
        ("listing", listing(s).await),
        ("namespaces_and_deletion", namespaces_and_deletion(s).await),
        ("racing_writers", racing_writers(s).await),
    ];
    for (check, result) in checks {
        result.map_err(|reason| Failure { check, reason })?;
    }
    Ok(())
}
