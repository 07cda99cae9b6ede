//! Checks of fencing: claims, stale heads and racing writers never fork a thread.

use serde_json::json;

use super::{Check, err, held, put, thread, write};
use crate::model::{Fence, ListOptions, PutWrites};
use crate::saver::Checkpointer;

pub(super) async fn fencing(s: &dyn Checkpointer) -> Check {
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
    let p2 = put(&t, "", Some(&id1), held(1), 1, vec![], &[]);
    let id2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let behind = put(&t, "", Some(&id1), held(1), 1, vec![], &[]);
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
    let p3 = put(&t, "", Some(&id2), held(1), 1, vec![], &[]);
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
    let old = put(&t, "", Some(&id2), held(1), 2, vec![], &[]);
    ensure!(
        s.put(old).await.err().is_some_and(|e| e.is_conflict()),
        "the fenced-out writer conflicts"
    );
    let w = PutWrites {
        thread_id: t.clone().into(),
        ns: String::new(),
        checkpoint_id: id2.clone(),
        writes: vec![write("task", "__writes__", json!(1))],
        fence: held(1),
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
        thread_id: t.clone().into(),
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
    let ok = put(&t, "", Some(&id2), held(2), 2, vec![], &[]);
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

pub(super) async fn racing_writers(s: &dyn Checkpointer) -> Check {
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
