//! Checks of [`Checkpointer::threads`].

use chrono::{Duration, Utc};
use serde_json::json;

use super::{Check, err, first_put, full, held, put, thread};
use crate::model::Fence;
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::threads::{ThreadInfo, ThreadQuery};

/// The ids of the threads `q` lists.
async fn ids(s: &dyn Checkpointer, q: ThreadQuery) -> Result<Vec<String>, String> {
    let found = s.threads(&q).await.map_err(err)?;
    Ok(found.into_iter().map(|t| t.thread_id).collect())
}

/// Threads with a root checkpoint are listed in byte order with their head, filtered by
/// prefix and time, a page at a time; a thread without root checkpoints is not; deleting,
/// pruning and copying show.
pub(super) async fn threads(s: &dyn Checkpointer) -> Check {
    let start = Utc::now() - Duration::milliseconds(1);
    let base = thread();
    let name = |suffix: &str| format!("{base}/{suffix}");
    // `B` sorts before `a` and `é` after `z` in byte order (not in most locales' orders).
    let (upper, a, b, accented) = (name("B"), name("a"), name("b"), name("é"));
    // Whose threads they are: `user` in the metadata of the head (bob's `a` becomes ann's).
    let owned = |thread: &str, user: &str| {
        let mut p = first_put(thread, json!(0));
        p.metadata.extra.insert("user".into(), json!(user));
        p
    };
    for (t, user) in [
        (&upper, "bob"),
        (&b, "carl"),
        (&accented, "ann"),
        (&a, "bob"),
    ] {
        s.put(owned(t, user)).await.map_err(err)?;
    }
    let first_id = s
        .head(&a, "")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no head")?
        .checkpoint
        .id;
    let mut second = put(
        &a,
        "",
        Some(&first_id),
        held(1),
        1,
        vec![("x", full(json!(2)))],
        &[],
    );
    second.metadata.extra.insert("user".into(), json!("ann"));
    let a_head = second.checkpoint.id.to_string();
    s.put(second).await.map_err(err)?;
    // A thread with a subgraph checkpoint only, and one claimed without any.
    let (sub_only, claimed) = (name("c"), name("d"));
    let sub = put(&sub_only, "n:t", None, Fence::claim_from(0), 0, vec![], &[]);
    s.put(sub).await.map_err(err)?;
    s.claim(&claimed, 0).await.map_err(err)?;

    let mine = || ThreadQuery::new().prefix(format!("{base}/"));
    let all = s.threads(&mine()).await.map_err(err)?;
    let expected = [&upper, &a, &b, &accented];
    ensure!(
        all.iter().map(|t| &t.thread_id).eq(expected),
        "listed {all:?}, expected {expected:?} in byte order"
    );
    ensure!(
        all[1] == ThreadInfo::new(a.as_str(), a_head.as_str()),
        "head of {a}: {:?}",
        all[1]
    );
    let at = all[1].updated_at().ok_or("a head id without its time")?;
    ensure!(
        at >= start && at <= Utc::now(),
        "head of {a} written at {at}, not during the check"
    );

    let page = ids(s, mine().limit(2)).await?;
    ensure!(
        page == [upper.clone(), a.clone()],
        "first page of two: {page:?}"
    );
    let next = ids(s, mine().after(&a).limit(2)).await?;
    ensure!(
        next == [b.clone(), accented.clone()],
        "second page of two: {next:?}"
    );
    let rest = ids(s, mine().after(&accented)).await?;
    ensure!(rest.is_empty(), "after the last thread: {rest:?}");
    // Without a prefix, the page after `a` starts at `b` (no other thread id lies between).
    let any = ids(s, ThreadQuery::new().after(&a).limit(1)).await?;
    ensure!(
        any == [b.clone()],
        "one thread after {a} without a prefix: {any:?}"
    );

    let hour = Duration::hours(1);
    let old = ids(s, mine().updated_before(Utc::now() - hour)).await?;
    ensure!(old.is_empty(), "threads written an hour ago: {old:?}");
    let recent = ids(s, mine().updated_since(Utc::now() - hour)).await?;
    ensure!(
        recent.len() == 4,
        "threads written in the last hour: {recent:?}"
    );
    let window = mine()
        .updated_since(Utc::now() - hour)
        .updated_before(Utc::now() + hour);
    ensure!(
        ids(s, window).await?.len() == 4,
        "threads written in a two-hour window"
    );
    let later = ids(s, mine().updated_since(Utc::now() + hour)).await?;
    ensure!(
        later.is_empty(),
        "threads written an hour from now: {later:?}"
    );

    let anns = ids(s, mine().metadata("user", "ann")).await?;
    ensure!(
        anns == [a.clone(), accented.clone()],
        "ann's threads by their heads: {anns:?}"
    );
    let page = ids(s, mine().metadata("user", "ann").limit(1)).await?;
    ensure!(
        page == [a.clone()],
        "a page of one of ann's threads: {page:?}"
    );
    let next = ids(s, mine().metadata("user", "ann").after(&a)).await?;
    ensure!(
        next == [accented.clone()],
        "ann's threads after {a}: {next:?}"
    );
    let none = ids(s, mine().metadata("user", "ann").metadata("step", 7)).await?;
    ensure!(none.is_empty(), "every key must match: {none:?}");

    s.delete_thread(&b).await.map_err(err)?;
    s.prune(&[a.as_str()], Prune::KeepLatest)
        .await
        .map_err(err)?;
    let copy = name("e");
    s.copy_thread(&a, &copy).await.map_err(err)?;
    let after = s.threads(&mine()).await.map_err(err)?;
    let expected = [
        ThreadInfo::new(upper.as_str(), all[0].head.as_str()),
        ThreadInfo::new(a.as_str(), a_head.as_str()),
        ThreadInfo::new(copy.as_str(), a_head.as_str()),
        ThreadInfo::new(accented.as_str(), all[3].head.as_str()),
    ];
    ensure!(
        after == expected,
        "after deleting b, pruning a and copying it to e: {after:?}, expected {expected:?}"
    );
    let anns = ids(s, mine().metadata("user", "ann")).await?;
    ensure!(
        anns == [a.clone(), copy.clone(), accented.clone()],
        "ann's threads after the prune and the copy: {anns:?}"
    );
    Ok(())
}
