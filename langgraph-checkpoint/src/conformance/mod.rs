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

use serde_json::Value;

use crate::model::{
    Blob, BlobValue, Checkpoint, CheckpointMetadata, Fence, PendingWrite, PutCheckpoint, Source,
    next_checkpoint_id,
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
    let mut cp = Checkpoint::with_id(next_checkpoint_id(head));
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

/// The first checkpoint of a fresh thread (claiming it), with channel `x` set to `x`.
fn first_put(thread: &str, x: Value) -> PutCheckpoint {
    put(
        thread,
        "",
        None,
        Fence::claim_from(0),
        0,
        vec![("x", full(x))],
        &[],
    )
}

/// The fence of a writer that holds `epoch` (its follow-up writes, or a stale writer's).
fn held(epoch: i64) -> Fence {
    Fence {
        epoch,
        claim: false,
    }
}

fn full(v: Value) -> BlobValue {
    BlobValue::Full { value: v }
}

/// A pending write of `task` to `channel`.
fn write(task: &str, channel: &str, value: Value) -> PendingWrite {
    PendingWrite {
        task_id: task.into(),
        task_name: format!("node-{task}"),
        channel: channel.into(),
        value,
    }
}

/// Every checkpoint of the root namespace of `thread`, listed (a page of them at once in the
/// database savers), is the tuple `get` reads: the same values and its own pending writes.
async fn list_equals_get(s: &dyn Checkpointer, thread: &str) -> Check {
    let listed = s
        .list(thread, "", &crate::model::ListOptions::default())
        .await
        .map_err(err)?;
    ensure!(listed.len() > 1, "{} listed checkpoints", listed.len());
    for l in &listed {
        let one = s
            .get(thread, "", &l.checkpoint.id)
            .await
            .map_err(err)?
            .ok_or("a listed checkpoint is missing")?;
        ensure!(
            *l == one,
            "listed {} differs from get: {l:?} against {one:?}",
            l.checkpoint.id
        );
    }
    Ok(())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

mod batches;
mod copy;
mod fencing;
mod prune;
mod reads;
mod threads;
mod writes;

use batches::{batches, unsynced_batches};
use copy::copy_thread;
use fencing::{fencing, racing_writers};
use prune::{prune_keep_latest, prune_namespaces};
use reads::{
    delta_chains, empty_thread, listing, namespaces_and_deletion, put_and_read_back, sparse_listing,
};
use threads::{thread_metadata, thread_status, threads};
use writes::{immediate_puts, pending_writes};

/// Runs every check against `saver`; the first failure is returned.
pub async fn run_all<C: Checkpointer>(saver: &C) -> Result<(), Failure> {
    let s: &dyn Checkpointer = saver;
    let checks: [(&'static str, Check); 18] = [
        ("empty_thread", empty_thread(s).await),
        ("put_and_read_back", put_and_read_back(s).await),
        ("delta_chains", delta_chains(s).await),
        ("fencing", fencing(s).await),
        ("pending_writes", pending_writes(s).await),
        ("immediate_puts", immediate_puts(s).await),
        ("batches", batches(s).await),
        ("unsynced_batches", unsynced_batches(s).await),
        ("listing", listing(s).await),
        ("sparse_listing", sparse_listing(s).await),
        ("namespaces_and_deletion", namespaces_and_deletion(s).await),
        ("racing_writers", racing_writers(s).await),
        ("prune_keep_latest", prune_keep_latest(s).await),
        ("prune_namespaces", prune_namespaces(s).await),
        ("copy_thread", copy_thread(s).await),
        ("threads", threads(s).await),
        ("thread_status", thread_status(s).await),
        ("thread_metadata", thread_metadata(s).await),
    ];
    for (check, result) in checks {
        result.map_err(|reason| Failure { check, reason })?;
    }
    Ok(())
}
