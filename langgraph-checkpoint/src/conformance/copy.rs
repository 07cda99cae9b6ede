//! Checks of [`Checkpointer::copy_thread`].

use serde_json::json;

use super::{Check, err, full, held, put, thread, write};
use crate::model::{BlobValue, CheckpointTuple, Fence, ListOptions, PutWrites};
use crate::saver::Checkpointer;

/// A namespace's checkpoints, newest first, without the thread id.
async fn history(s: &dyn Checkpointer, t: &str, ns: &str) -> Result<Vec<CheckpointTuple>, String> {
    let mut all = s.list(t, ns, &ListOptions::default()).await.map_err(err)?;
    for c in &mut all {
        c.thread_id.clear();
    }
    Ok(all)
}

/// A copy reads as its source (values through delta chains, pending writes, subgraph
/// namespaces); the two go their own ways; a copy onto a thread with checkpoints is refused.
pub(super) async fn copy_thread(s: &dyn Checkpointer) -> Check {
    let (from, to) = (thread(), thread());
    s.copy_thread(&from, &to).await.map_err(err)?;
    ensure!(
        s.head(&to, "").await.map_err(err)?.checkpoint.is_none(),
        "copying an empty thread writes nothing"
    );
    let p1 = put(
        &from,
        "",
        None,
        Fence::claim_from(0),
        -1,
        vec![("m", full(json!([1])))],
        &[],
    );
    let v1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    let delta = BlobValue::Delta {
        base: v1.clone(),
        items: json!([2]),
        depth: 1,
    };
    let p2 = put(&from, "", Some(&v1), held(1), 0, vec![("m", delta)], &[]);
    let v2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let mut sub = put(
        &from,
        "a:t",
        None,
        held(1),
        0,
        vec![("x", full(json!("in")))],
        &[],
    );
    sub.metadata.parents.insert(String::new(), v2.to_string());
    s.put(sub).await.map_err(err)?;
    let w = PutWrites {
        thread_id: from.as_str().into(),
        ns: String::new(),
        checkpoint_id: v2.clone(),
        writes: vec![write("t1", "m", json!([3])), write("t2", "m", json!([4]))],
        fence: held(1),
    };
    s.put_writes(w).await.map_err(err)?;
    s.copy_thread(&from, &to).await.map_err(err)?;
    for ns in ["", "a:t"] {
        let (a, b) = (history(s, &from, ns).await?, history(s, &to, ns).await?);
        ensure!(a == b, "namespace {ns:?}: the copy differs: {a:?} != {b:?}");
    }
    let copied = s
        .head(&to, "")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no copied head")?;
    ensure!(
        copied.thread_id == to && copied.values.get("m") == Some(&json!([1, 2])),
        "the copy reads on its own thread: {copied:?}"
    );
    // A second copy onto the copy is refused and changes nothing.
    let refused = s.copy_thread(&from, &to).await;
    ensure!(
        matches!(&refused, Err(e) if e.is_conflict()),
        "a copy onto a thread with checkpoints is a conflict: {refused:?}"
    );
    ensure!(
        history(s, &to, "").await?.len() == 2,
        "the refused copy wrote nothing"
    );
    // The copy goes its own way.
    let epoch = s.head(&to, "").await.map_err(err)?.epoch;
    let p3 = put(
        &to,
        "",
        Some(&v2),
        Fence::claim_from(epoch),
        1,
        vec![("y", full(json!(1)))],
        &[],
    );
    s.put(p3).await.map_err(err)?;
    ensure!(history(s, &to, "").await?.len() == 3, "the copy moved on");
    let source = s.head(&from, "").await.map_err(err)?;
    ensure!(
        source.checkpoint.map(|c| c.checkpoint.id) == Some(v2) && source.epoch == 1,
        "the source is untouched by the copy's runs"
    );
    Ok(())
}
