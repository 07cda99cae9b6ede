//! Checks of what a saver gives back: heads, delta chains, listings, namespaces, deletion.

use serde_json::{Value, json};

use super::{Check, err, first_put, full, held, put, thread};
use crate::model::{BlobValue, Fence, ListOptions};
use crate::saver::Checkpointer;

pub(super) async fn empty_thread(s: &dyn Checkpointer) -> Check {
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

pub(super) async fn put_and_read_back(s: &dyn Checkpointer) -> Check {
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
        held(1),
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
        held(1),
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

pub(super) async fn delta_chains(s: &dyn Checkpointer) -> Check {
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
            held(1),
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
    super::list_equals_get(s, &t).await
}

pub(super) async fn listing(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let mut ids = Vec::new();
    let mut head: Option<String> = None;
    for step in -1..4 {
        let fence = if head.is_none() {
            Fence::claim_from(0)
        } else {
            held(1)
        };
        let mut p = put(&t, "", head.as_deref(), fence, step, vec![], &[]);
        p.metadata.extra.insert(
            "user".into(),
            json!(if step % 2 == 0 { "ann" } else { "bob" }),
        );
        head = Some(p.checkpoint.id.to_string());
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
        .list(&t, "", &ListOptions::new().limit(2))
        .await
        .map_err(err)?;
    ensure!(steps(&lim) == [3, 2], "limit: {:?}", steps(&lim));
    let before = s
        .list(&t, "", &ListOptions::new().before(ids[2].to_string()))
        .await
        .map_err(err)?;
    ensure!(steps(&before) == [0, -1], "before: {:?}", steps(&before));
    let input = s
        .list(&t, "", &ListOptions::new().filter("source", "input"))
        .await
        .map_err(err)?;
    ensure!(
        steps(&input) == [-1],
        "filter by source: {:?}",
        steps(&input)
    );
    let ann = s
        .list(&t, "", &ListOptions::new().filter("user", "ann").limit(1))
        .await
        .map_err(err)?;
    ensure!(
        steps(&ann) == [2],
        "filter by user metadata with limit: {:?}",
        steps(&ann)
    );
    Ok(())
}

/// A filter that few checkpoints of a long thread match, with a limit: the page holds the
/// newest matches, however far down the thread they are (a saver may read the rows in
/// windows), and no more than the thread has.
pub(super) async fn sparse_listing(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let mut head: Option<String> = None;
    for step in 0..300 {
        let fence = if head.is_none() {
            Fence::claim_from(0)
        } else {
            held(1)
        };
        let mut p = put(&t, "", head.as_deref(), fence, step, vec![], &[]);
        if step % 60 == 0 {
            // A string (which SQL can narrow to on its own) and a float (matched by the one rule
            // on every row read).
            p.metadata.extra.insert("flag".into(), json!("rare"));
            p.metadata.extra.insert("weight".into(), json!(0.5));
        }
        head = Some(p.checkpoint.id.to_string());
        s.put(p).await.map_err(err)?;
    }
    let tr = t.as_str();
    let steps = |opts: ListOptions| async move {
        let listed = s.list(tr, "", &opts).await.map_err(err)?;
        Ok::<_, String>(listed.iter().map(|c| c.metadata.step).collect::<Vec<_>>())
    };
    let rare = || ListOptions::new().filter("flag", "rare");
    let page = steps(rare().limit(3)).await?;
    ensure!(
        page == [240, 180, 120],
        "the newest three matches: {page:?}"
    );
    let all = steps(rare().limit(50)).await?;
    ensure!(
        all == [240, 180, 120, 60, 0],
        "a limit past the matches: {all:?}"
    );
    let unlimited = steps(rare()).await?;
    ensure!(unlimited == all, "no limit: {unlimited:?}");
    let light = || ListOptions::new().filter("weight", 0.5);
    for (limit, want) in [(1, &all[..1]), (3, &all[..3]), (50, &all[..])] {
        let got = steps(light().limit(limit)).await?;
        ensure!(got == want, "a float filter, limit {limit}: {got:?}");
    }
    let every = s.list(&t, "", &ListOptions::default()).await.map_err(err)?;
    let id_180 = every
        .iter()
        .find(|c| c.metadata.step == 180)
        .ok_or("a checkpoint at step 180")?
        .checkpoint
        .id
        .to_string();
    let below = steps(rare().before(id_180.clone()).limit(2)).await?;
    ensure!(below == [120, 60], "two matches before step 180: {below:?}");
    let below = steps(light().before(id_180).limit(2)).await?;
    ensure!(
        below == [120, 60],
        "two float matches before step 180: {below:?}"
    );
    let none = steps(ListOptions::new().filter("flag", "never").limit(1)).await?;
    ensure!(none.is_empty(), "a filter nothing matches: {none:?}");
    Ok(())
}

pub(super) async fn namespaces_and_deletion(s: &dyn Checkpointer) -> Check {
    let t = thread();
    let other = thread();
    let root = first_put(&t, json!(1));
    s.put(root).await.map_err(err)?;
    let sub = put(
        &t,
        "child:1",
        None,
        held(1),
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
