//! Checks of batches: ops stored in order, and nothing stored from a rejected op on.

use serde_json::json;

use super::{Check, err, held, put, thread, write};
use crate::model::{Fence, ListOptions, PutWrites, SaveOp};
use crate::saver::Checkpointer;
use crate::shared_str::SharedStr;

fn writes(t: &str, checkpoint: &str, fence: Fence, task: &str) -> SaveOp {
    SaveOp::Writes(PutWrites {
        thread_id: t.into(),
        ns: String::new(),
        checkpoint_id: checkpoint.into(),
        writes: vec![write(task, "__writes__", json!({ "task": task }))],
        fence,
    })
}

async fn ids(s: &dyn Checkpointer, t: &str) -> Result<Vec<SharedStr>, String> {
    let all = s.list(t, "", &ListOptions::default()).await.map_err(err)?;
    Ok(all.into_iter().map(|c| c.checkpoint.id).collect())
}

/// The thread's epoch and the id of its newest checkpoint.
async fn head(s: &dyn Checkpointer, t: &str) -> Result<(i64, Option<SharedStr>), String> {
    let h = s.head(t, "").await.map_err(err)?;
    Ok((h.epoch, h.checkpoint.map(|c| c.checkpoint.id)))
}

async fn write_tasks(s: &dyn Checkpointer, t: &str, id: &str) -> Result<Vec<String>, String> {
    let c = s
        .get(t, "", id)
        .await
        .map_err(err)?
        .ok_or("checkpoint missing")?;
    Ok(c.pending_writes.into_iter().map(|w| w.task_id).collect())
}

pub(super) async fn batches(s: &dyn Checkpointer) -> Check {
    s.put_batch(Vec::new()).await.map_err(err)?;
    // A claim, writes, a checkpoint carrying its parent's last writes, empty writes, another
    // checkpoint: all stored, in order.
    let t = thread();
    let p1 = put(&t, "", None, Fence::claim_from(0), -1, vec![], &[]);
    let id1 = p1.checkpoint.id.clone();
    let mut p2 = put(&t, "", Some(&id1), held(1), 0, vec![], &[]);
    p2.parent_writes = vec![write("last", "__writes__", json!(2))];
    let id2 = p2.checkpoint.id.clone();
    let p3 = put(&t, "", Some(&id2), held(1), 1, vec![], &[]);
    let id3 = p3.checkpoint.id.clone();
    let mut empty = writes(&t, &id2, held(1), "none");
    if let SaveOp::Writes(w) = &mut empty {
        w.writes.clear();
    }
    s.put_batch(vec![
        SaveOp::Checkpoint(p1),
        writes(&t, &id1, held(1), "first"),
        SaveOp::Checkpoint(p2),
        empty,
        SaveOp::Checkpoint(p3),
    ])
    .await
    .map_err(err)?;
    let stored = ids(s, &t).await?;
    ensure!(
        stored == [id3.clone(), id2.clone(), id1.clone()],
        "three checkpoints, newest first: {stored:?}"
    );
    let mut tasks = write_tasks(s, &t, &id1).await?;
    tasks.sort();
    ensure!(
        tasks == ["first", "last"],
        "writes and parent writes stored on the first checkpoint: {tasks:?}"
    );
    let (epoch, newest) = head(s, &t).await?;
    ensure!(
        epoch == 1 && newest.as_deref() == Some(id3.as_str()),
        "the claim took epoch 1 and the last checkpoint is the head: {epoch}, {newest:?}"
    );
    // Held-fence writes and a chain of checkpoints (each carrying its parent's last writes).
    let mut p4 = put(&t, "", Some(&id3), held(1), 2, vec![], &[]);
    p4.parent_writes = vec![write("p4-last", "__writes__", json!(4))];
    let id4 = p4.checkpoint.id.clone();
    let mut p5 = put(&t, "", Some(&id4), held(1), 3, vec![], &[]);
    p5.parent_writes = vec![write("p5-last", "__writes__", json!(5))];
    let id5 = p5.checkpoint.id.clone();
    s.put_batch(vec![
        writes(&t, &id3, held(1), "on-3"),
        SaveOp::Checkpoint(p4),
        SaveOp::Checkpoint(p5),
        writes(&t, &id5, held(1), "on-5"),
    ])
    .await
    .map_err(err)?;
    let mut tasks = write_tasks(s, &t, &id3).await?;
    tasks.sort();
    ensure!(
        tasks == ["on-3", "p4-last"],
        "writes on the old head: {tasks:?}"
    );
    ensure!(
        write_tasks(s, &t, &id4).await? == ["p5-last"]
            && write_tasks(s, &t, &id5).await? == ["on-5"],
        "writes on the new checkpoints"
    );
    let (_, newest) = head(s, &t).await?;
    ensure!(
        newest.as_deref() == Some(id5.as_str()) && ids(s, &t).await?.len() == 5,
        "the chain moved the head: {newest:?}"
    );
    let id3 = id5;
    // A checkpoint with a stale head is rejected, and so is everything after it, even writes
    // that would be stored on their own.
    let stale = put(&t, "", Some(&id1), held(1), 4, vec![], &[]);
    let stale_id = stale.checkpoint.id.clone();
    let after = put(&t, "", Some(&stale_id), held(1), 5, vec![], &[]);
    let after_id = after.checkpoint.id.clone();
    let e = s
        .put_batch(vec![
            SaveOp::Checkpoint(stale),
            writes(&t, &id3, held(1), "late"),
            SaveOp::Checkpoint(after),
        ])
        .await
        .err()
        .ok_or("a batch with a stale head must conflict")?;
    ensure!(e.is_conflict(), "stale head gives Conflict, got {e}");
    let stored = ids(s, &t).await?;
    ensure!(
        !stored.contains(&stale_id) && !stored.contains(&after_id),
        "nothing from the rejected op on is stored: {stored:?}"
    );
    ensure!(
        !write_tasks(s, &t, &id3)
            .await?
            .contains(&"late".to_string()),
        "writes after a rejected op are not stored"
    );
    // A valid op before the rejected one may be stored or rolled back; either way the head
    // and the epoch stay consistent.
    let ok = put(&t, "", Some(&id3), held(1), 4, vec![], &[]);
    let ok_id = ok.checkpoint.id.clone();
    let bad = writes(&t, &id3, held(7), "stale-fence");
    let e = s
        .put_batch(vec![SaveOp::Checkpoint(ok), bad])
        .await
        .err()
        .ok_or("a batch with a stale fence must conflict")?;
    ensure!(e.is_conflict(), "stale fence gives Conflict, got {e}");
    let (epoch, newest) = head(s, &t).await?;
    let stored = ids(s, &t).await?;
    let expected = if stored.contains(&ok_id) {
        &ok_id
    } else {
        &id3
    };
    ensure!(
        epoch == 1 && newest.as_ref() == Some(expected) && stored.first() == Some(expected),
        "the head is the newest stored checkpoint: {newest:?}, {stored:?}"
    );
    // A writer fenced out by a claim stores nothing.
    s.claim(&t, 1).await.map_err(err)?;
    let (_, newest) = head(s, &t).await?;
    let fenced = put(&t, "", newest.as_deref(), held(1), 5, vec![], &[]);
    let fenced_id = fenced.checkpoint.id.clone();
    let e = s
        .put_batch(vec![SaveOp::Checkpoint(fenced)])
        .await
        .err()
        .ok_or("a fenced-out batch must conflict")?;
    ensure!(e.is_conflict(), "fenced-out batch gives Conflict, got {e}");
    ensure!(
        !ids(s, &t).await?.contains(&fenced_id),
        "the fenced-out checkpoint is not stored"
    );
    Ok(())
}

/// A batch stored without a sync ([`Checkpointer::put_batch_unsynced`]) is stored, checked and
/// seen like any other batch; `sync` then succeeds.
pub(super) async fn unsynced_batches(s: &dyn Checkpointer) -> Check {
    s.put_batch_unsynced(Vec::new()).await.map_err(err)?;
    // A run's start: its claim with the input checkpoint, the loop checkpoint and a write.
    let t = thread();
    let p1 = put(&t, "", None, Fence::claim_from(0), -1, vec![], &[]);
    let id1 = p1.checkpoint.id.clone();
    let p2 = put(&t, "", Some(&id1), held(1), 0, vec![], &[]);
    let id2 = p2.checkpoint.id.clone();
    s.put_batch_unsynced(vec![
        SaveOp::Checkpoint(p1),
        SaveOp::Checkpoint(p2),
        writes(&t, &id2, held(1), "start"),
    ])
    .await
    .map_err(err)?;
    let (epoch, newest) = head(s, &t).await?;
    ensure!(
        epoch == 1 && newest.as_deref() == Some(id2.as_str()),
        "seen at once: the claim and the new head: {epoch}, {newest:?}"
    );
    ensure!(
        write_tasks(s, &t, &id2).await? == ["start"],
        "the write is stored"
    );
    let e = s
        .claim(&t, 0)
        .await
        .err()
        .ok_or("a writer that read epoch 0 must be fenced out by the unsynced claim")?;
    ensure!(e.is_conflict(), "a stale claim gives Conflict, got {e}");
    // Checked like any batch: a stale head is rejected and stores nothing.
    let stale = put(&t, "", Some(&id1), held(1), 1, vec![], &[]);
    let stale_id = stale.checkpoint.id.clone();
    let e = s
        .put_batch_unsynced(vec![SaveOp::Checkpoint(stale)])
        .await
        .err()
        .ok_or("an unsynced batch with a stale head must conflict")?;
    ensure!(e.is_conflict(), "stale head gives Conflict, got {e}");
    ensure!(
        !ids(s, &t).await?.contains(&stale_id),
        "the rejected checkpoint is not stored"
    );
    s.sync().await.map_err(err)?;
    let p3 = put(&t, "", Some(&id2), held(1), 1, vec![], &[]);
    let id3 = p3.checkpoint.id.clone();
    s.put(p3).await.map_err(err)?;
    s.sync().await.map_err(err)?;
    ensure!(
        ids(s, &t).await? == [id3, id2, id1],
        "a durable write follows as usual"
    );
    Ok(())
}
