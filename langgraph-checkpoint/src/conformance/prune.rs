//! Checks of [`Checkpointer::prune`]: what stays, how it reads and resumes, what goes.

use serde_json::json;

use super::{Check, err, full, held, put, thread, write};
use crate::model::{BlobValue, Fence, ListOptions, PutCheckpoint, PutWrites, Source};
use crate::prune::Prune;
use crate::saver::Checkpointer;

fn delta(base: &str, items: serde_json::Value, depth: u32) -> BlobValue {
    BlobValue::Delta {
        base: base.into(),
        items,
        depth,
    }
}

/// The ids of a namespace's checkpoints, newest first.
async fn ids(s: &dyn Checkpointer, t: &str, ns: &str) -> Result<Vec<String>, String> {
    let all = s.list(t, ns, &ListOptions::default()).await.map_err(err)?;
    Ok(all
        .into_iter()
        .map(|c| c.checkpoint.id.to_string())
        .collect())
}

/// Keeping the latest checkpoint of a root namespace: values rebuilt from deleted rows, its
/// pending writes, the fence, and a run that goes on from it.
pub(super) async fn prune_keep_latest(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(
        &t,
        "",
        None,
        Fence::claim_from(0),
        -1,
        vec![("m", full(json!([1]))), ("y", full(json!("a")))],
        &[],
    );
    let v1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    let p2 = put(
        &t,
        "",
        Some(&v1),
        held(1),
        0,
        vec![("m", delta(&v1, json!([2]), 1))],
        &[("y", &v1)],
    );
    let v2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let p3 = put(
        &t,
        "",
        Some(&v2),
        held(1),
        1,
        vec![("m", delta(&v2, json!([3]), 2))],
        &[("y", &v1)],
    );
    let v3 = p3.checkpoint.id.clone();
    s.put(p3).await.map_err(err)?;
    for (at, task) in [(&v2, "old"), (&v3, "new")] {
        let w = PutWrites {
            thread_id: t.as_str().into(),
            ns: String::new(),
            checkpoint_id: at.clone(),
            writes: vec![write(task, "m", json!([9]))],
            fence: held(1),
        };
        s.put_writes(w).await.map_err(err)?;
    }
    let before = s.get(&t, "", &v3).await.map_err(err)?.ok_or("no head")?;
    s.prune(
        &[t.as_str(), "conformance-no-such-thread"],
        Prune::KeepLatest,
    )
    .await
    .map_err(err)?;
    ensure!(
        ids(s, &t, "").await? == [v3.to_string()],
        "only the head stays: {:?}",
        ids(s, &t, "").await?
    );
    let h = s.head(&t, "").await.map_err(err)?;
    let head = h.checkpoint.ok_or("no head after prune")?;
    ensure!(
        head.values == before.values,
        "values {:?} != {:?}",
        head.values,
        before.values
    );
    ensure!(
        head.pending_writes == before.pending_writes,
        "the head's pending writes stay"
    );
    ensure!(
        head.parent_id.is_none(),
        "the head's parent went: {:?}",
        head.parent_id
    );
    ensure!(head.metadata == before.metadata, "metadata stays");
    ensure!(
        head.checkpoint.next == before.checkpoint.next,
        "the checkpoint stays as it was but for its versions"
    );
    ensure!(
        s.get(&t, "", &v1).await.map_err(err)?.is_none(),
        "older checkpoints go"
    );
    // Claimed: the writer that held the thread is fenced out.
    ensure!(h.epoch == 2, "prune claims the thread: epoch {}", h.epoch);
    let stale = put(
        &t,
        "",
        Some(&v3),
        held(1),
        2,
        vec![("y", full(json!("b")))],
        &[],
    );
    ensure!(
        s.put(stale).await.is_err(),
        "a write with the old fence is refused"
    );
    // A run goes on from the head: an append over the head's version of `m`.
    let base = head
        .checkpoint
        .channel_versions
        .get("m")
        .ok_or("no version of m")?
        .to_string();
    let y = head
        .checkpoint
        .channel_versions
        .get("y")
        .ok_or("no version of y")?
        .to_string();
    let p4 = put(
        &t,
        "",
        Some(&v3),
        Fence::claim_from(2),
        2,
        vec![("m", delta(&base, json!([4]), 1))],
        &[("y", &y)],
    );
    let v4 = p4.checkpoint.id.clone();
    s.put(p4).await.map_err(err)?;
    let c4 = s
        .get(&t, "", &v4)
        .await
        .map_err(err)?
        .ok_or("no checkpoint after prune")?;
    ensure!(
        c4.values.get("m") == Some(&json!([1, 2, 3, 4])) && c4.values.get("y") == Some(&json!("a")),
        "values after going on: {:?}",
        c4.values
    );
    // A loop checkpoint after it: the next prune keeps that one alone.
    s.prune(&[t.as_str()], Prune::KeepLatest)
        .await
        .map_err(err)?;
    ensure!(
        ids(s, &t, "").await? == [v4.to_string()],
        "second prune: {:?}",
        ids(s, &t, "").await?
    );
    // Nothing left to delete: the thread stays as it is (not claimed again).
    let epoch = s.head(&t, "").await.map_err(err)?.epoch;
    s.prune(&[t.as_str()], Prune::KeepLatest)
        .await
        .map_err(err)?;
    ensure!(
        s.head(&t, "").await.map_err(err)?.epoch == epoch,
        "a prune that deletes nothing claims nothing"
    );
    s.prune(&[t.as_str()], Prune::Delete).await.map_err(err)?;
    let gone = s.head(&t, "").await.map_err(err)?;
    ensure!(
        gone.checkpoint.is_none() && gone.epoch == 0,
        "Prune::Delete deletes the thread: {gone:?}"
    );
    Ok(())
}

/// A checkpoint of a subgraph namespace run from root checkpoint `from`.
fn sub(
    t: &str,
    ns: &str,
    head: Option<&str>,
    epoch: i64,
    source: Source,
    from: &str,
) -> PutCheckpoint {
    let mut p = put(
        t,
        ns,
        head,
        held(epoch),
        0,
        vec![("v", full(json!(ns)))],
        &[],
    );
    p.metadata.source = source;
    p.metadata.parents.insert(String::new(), from.to_string());
    p
}

/// Stores subgraph checkpoints `(ns, source)` run from root checkpoint `from`, each after the
/// namespace's newest in `stored`, and notes them there.
async fn calls<'a>(
    s: &dyn Checkpointer,
    t: &str,
    stored: &mut Vec<(&'a str, String)>,
    puts: &[(&'a str, Source)],
    from: &str,
) -> Check {
    for &(ns, source) in puts {
        let head = stored
            .iter()
            .rev()
            .find(|(n, _)| *n == ns)
            .map(|(_, id)| id.clone());
        let p = sub(t, ns, head.as_deref(), 1, source, from);
        stored.push((ns, p.checkpoint.id.to_string()));
        s.put(p).await.map_err(err)?;
    }
    Ok(())
}

/// Which subgraph namespaces stay: a per-thread history's head, a paused call whole, a
/// finished call not at all; and the edits the root's head follows.
pub(super) async fn prune_namespaces(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let p1 = put(
        &t,
        "",
        None,
        Fence::claim_from(0),
        0,
        vec![("x", full(json!(1)))],
        &[],
    );
    let r1 = p1.checkpoint.id.clone();
    s.put(p1).await.map_err(err)?;
    // Stored checkpoints of subgraph namespaces, in order: (ns, id).
    let mut subs: Vec<(&str, String)> = Vec::new();
    let first_turn = [("a:t1", Source::Input), ("a:t1", Source::Loop)];
    calls(s, &t, &mut subs, &first_turn, &r1).await?;
    calls(
        s,
        &t,
        &mut subs,
        &[("talk", Source::Input), ("talk", Source::Loop)],
        &r1,
    )
    .await?;
    let p2 = put(
        &t,
        "",
        Some(&r1),
        held(1),
        1,
        vec![("x", full(json!(2)))],
        &[],
    );
    let r2 = p2.checkpoint.id.clone();
    s.put(p2).await.map_err(err)?;
    let before = subs.len();
    let second_turn = [("a:t2", Source::Input), ("a:t2", Source::Loop)];
    calls(s, &t, &mut subs, &second_turn, &r2).await?;
    calls(
        s,
        &t,
        &mut subs,
        &[("talk", Source::Input), ("talk", Source::Loop)],
        &r2,
    )
    .await?;
    let paused = subs.split_off(before);
    // The root edited while its subgraphs are paused.
    let mut p3 = put(
        &t,
        "",
        Some(&r2),
        held(1),
        1,
        vec![("x", full(json!(3)))],
        &[],
    );
    p3.metadata.source = Source::Update;
    let r3 = p3.checkpoint.id.clone();
    s.put(p3).await.map_err(err)?;
    s.prune(&[t.as_str()], Prune::KeepLatest)
        .await
        .map_err(err)?;
    ensure!(
        ids(s, &t, "").await? == [r3.to_string(), r2.to_string()],
        "root: the head and the checkpoint it edits"
    );
    ensure!(ids(s, &t, "a:t1").await?.is_empty(), "a finished call goes");
    let want = |ns: &str| {
        paused
            .iter()
            .rev()
            .filter(|(n, _)| *n == ns)
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>()
    };
    ensure!(
        ids(s, &t, "a:t2").await? == want("a:t2"),
        "a paused call stays whole: {:?}",
        ids(s, &t, "a:t2").await?
    );
    ensure!(
        ids(s, &t, "talk").await? == want("talk"),
        "a per-thread history keeps the turn in progress: {:?}",
        ids(s, &t, "talk").await?
    );
    let r = s
        .head(&t, "")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no root head")?;
    ensure!(
        r.values.get("x") == Some(&json!(3)) && r.parent_id.as_deref() == Some(r2.as_str()),
        "root head: {:?}",
        r.values
    );
    let talk = s
        .head(&t, "talk")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no talk head")?;
    ensure!(
        talk.values.get("v") == Some(&json!("talk")),
        "talk values: {:?}",
        talk.values
    );
    // Once the caller moves on, the per-thread history keeps its head only.
    let e = s.head(&t, "").await.map_err(err)?.epoch;
    let p4 = put(
        &t,
        "",
        Some(&r3),
        Fence::claim_from(e),
        2,
        vec![("x", full(json!(4)))],
        &[],
    );
    s.put(p4).await.map_err(err)?;
    s.prune(&[t.as_str()], Prune::KeepLatest)
        .await
        .map_err(err)?;
    ensure!(
        ids(s, &t, "talk").await? == want("talk")[..1],
        "talk after the turn: {:?}",
        ids(s, &t, "talk").await?
    );
    ensure!(
        ids(s, &t, "a:t2").await?.is_empty(),
        "a call whose caller moved on goes"
    );
    ensure!(ids(s, &t, "").await?.len() == 1, "root after the turn");
    Ok(())
}
