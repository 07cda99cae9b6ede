//! Checks of pending writes: stored per task, replaced on retry, read back with their checkpoint.

use serde_json::json;

use super::{Check, err, first_put, full, held, put, thread, write};
use crate::model::{Fence, PutCheckpoint, PutNow, PutWrites};
use crate::saver::Checkpointer;

pub(super) async fn pending_writes(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(&t, "", None, Fence::claim_from(0), 0, vec![], &[]);
    let id1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    let held = held(1);
    let w = |writes| PutWrites {
        thread_id: t.clone().into(),
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
        thread_id: t.clone().into(),
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
    super::list_equals_get(s, &t).await
}

/// Offers `p` to `put_now`; if the saver hands it back, it must be unchanged, and it is
/// stored with `put`.
async fn store_now(s: &dyn Checkpointer, p: PutCheckpoint) -> Check {
    match s.put_now(p.clone()) {
        PutNow::Done(r) => r.map_err(err),
        PutNow::Later(back) => {
            ensure!(back == p, "put_now handed back a changed checkpoint");
            s.put(back).await.map_err(err)
        }
    }
}

/// A checkpoint offered to `put_now` is stored as `put` would store it, or handed back
/// unchanged; a stale one is refused either way.
pub(super) async fn immediate_puts(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = first_put(&t, json!(1));
    let id1 = p1.checkpoint.id.clone();
    store_now(s, p1).await?;
    // A writer that did not see the first checkpoint expects no head.
    let stale = put(&t, "", None, held(1), 1, vec![], &[]);
    match s.put_now(stale.clone()) {
        PutNow::Done(Ok(())) => {
            return Err("put_now stored a checkpoint whose expected head is stale".into());
        }
        PutNow::Done(Err(e)) => ensure!(e.is_conflict(), "stale put_now: {e}"),
        PutNow::Later(back) => {
            ensure!(back == stale, "put_now handed back a changed checkpoint");
            let refused = s.put(back).await.map_err(|e| e.is_conflict());
            ensure!(refused == Err(true), "stale put: expected a conflict");
        }
    }
    let p2 = put(
        &t,
        "",
        Some(&id1),
        held(1),
        1,
        vec![("x", full(json!(2)))],
        &[],
    );
    let id2 = p2.checkpoint.id.clone();
    store_now(s, p2).await?;
    let c = s
        .head(&t, "")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no head after put_now")?;
    ensure!(
        c.checkpoint.id == id2 && c.parent_id.as_deref() == Some(id1.as_str()),
        "head after put_now: {} (parent {:?})",
        c.checkpoint.id,
        c.parent_id
    );
    ensure!(
        c.values.get("x") == Some(&json!(2)),
        "value after put_now: {:?}",
        c.values
    );
    Ok(())
}
