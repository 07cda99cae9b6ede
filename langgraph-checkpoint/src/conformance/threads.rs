//! Checks of [`Checkpointer::threads`].

use chrono::{Duration, Utc};
use serde_json::json;

use super::{Check, err, first_put, full, held, put, thread, write};
use crate::model::{ERROR, Fence, INTERRUPT, PendingWrite, PutWrites, RESUME, WRITES};
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::thread_status::ThreadStatus;
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

/// The status filter reads the pending writes of the root head only: a task with a question
/// (or an error) and no output is waiting; one that finished since, another task's output, a
/// moved-on head or a subgraph's writes are not.
pub(super) async fn thread_status(s: &dyn Checkpointer) -> Check {
    let base = thread();
    let name = |suffix: &str| format!("{base}/{suffix}");
    // (thread, writes on its first checkpoint); ann owns the threads whose name ends in `-2`.
    let cases: Vec<(String, Vec<PendingWrite>)> = vec![
        (name("asked"), vec![write("t1", INTERRUPT, json!(["q"]))]),
        (
            name("asked-2"),
            vec![
                write("t1", INTERRUPT, json!(["q"])),
                write("t2", WRITES, json!({})),
                // An answer stored before the process stopped: the question stays open.
                write("t1", RESUME, json!(["a"])),
            ],
        ),
        (
            name("answered"),
            vec![
                write("t1", INTERRUPT, json!(["q"])),
                write("t1", WRITES, json!({})),
            ],
        ),
        (
            name("both-2"),
            vec![
                write("t1", INTERRUPT, json!(["q"])),
                write("t2", ERROR, json!({"message": "boom"})),
            ],
        ),
        (name("failed"), vec![write("t1", ERROR, json!({}))]),
        (name("moved-on"), vec![write("t1", INTERRUPT, json!(["q"]))]),
        (name("quiet"), vec![]),
    ];
    for (t, writes) in &cases {
        let mut p = first_put(t, json!(0));
        let user = if t.ends_with("-2") { "ann" } else { "bob" };
        p.metadata.extra.insert("user".into(), json!(user));
        let id = p.checkpoint.id.clone();
        s.put(p).await.map_err(err)?;
        if !writes.is_empty() {
            let w = PutWrites {
                thread_id: t.as_str().into(),
                ns: String::new(),
                checkpoint_id: id.clone(),
                writes: writes.clone(),
                fence: held(1),
            };
            s.put_writes(w).await.map_err(err)?;
        }
        if t.ends_with("moved-on") {
            let next = put(
                t,
                "",
                Some(id.as_str()),
                held(1),
                1,
                vec![],
                &[("x", id.as_str())],
            );
            s.put(next).await.map_err(err)?;
        }
    }
    // A subgraph's question under a quiet root head.
    let sub = put(&name("quiet"), "n:t", None, held(1), 0, vec![], &[]);
    let sub_id = sub.checkpoint.id.clone();
    s.put(sub).await.map_err(err)?;
    let sub_writes = PutWrites {
        thread_id: name("quiet").into(),
        ns: "n:t".into(),
        checkpoint_id: sub_id,
        writes: vec![write("t9", INTERRUPT, json!(["q"]))],
        fence: held(1),
    };
    s.put_writes(sub_writes).await.map_err(err)?;

    let mine = || ThreadQuery::new().prefix(format!("{base}/"));
    let asking = || mine().status(ThreadStatus::Interrupted);
    let found = ids(s, asking()).await?;
    let expected = [name("asked"), name("asked-2"), name("both-2")];
    ensure!(
        found == expected,
        "threads waiting for an answer: {found:?}, expected {expected:?}"
    );
    let found = ids(s, mine().status(ThreadStatus::Failed)).await?;
    let expected = [name("both-2"), name("failed")];
    ensure!(
        found == expected,
        "threads with a failed task: {found:?}, expected {expected:?}"
    );
    let page = ids(s, asking().limit(1).after(name("asked"))).await?;
    ensure!(
        page == [name("asked-2")],
        "a page of one after {}: {page:?}",
        name("asked")
    );
    let anns = ids(s, asking().metadata("user", "ann")).await?;
    ensure!(
        anns == [name("asked-2"), name("both-2")],
        "ann's threads waiting for an answer: {anns:?}"
    );
    let anns = ids(s, asking().metadata("user", "ann").limit(1)).await?;
    ensure!(
        anns == [name("asked-2")],
        "a page of one of ann's threads waiting for an answer: {anns:?}"
    );

    // The task finishes: the thread waits no more.
    let asked = name("asked");
    let head = s
        .head(&asked, "")
        .await
        .map_err(err)?
        .checkpoint
        .ok_or("no head")?
        .checkpoint
        .id;
    let finished = PutWrites {
        thread_id: asked.as_str().into(),
        ns: String::new(),
        checkpoint_id: head,
        writes: vec![write("t1", WRITES, json!({}))],
        fence: held(1),
    };
    s.put_writes(finished).await.map_err(err)?;
    let found = ids(s, asking()).await?;
    ensure!(
        found == [name("asked-2"), name("both-2")],
        "after {asked}'s task finished: {found:?}"
    );
    Ok(())
}

/// The metadata filter matches values of every JSON kind by equality (the database savers
/// narrow the rows in SQL first, which must never drop a match): strings, integers, a large
/// unsigned, booleans, floats, `null`, arrays and objects, under keys with a dot or a quote.
pub(super) async fn thread_metadata(s: &dyn Checkpointer) -> Check {
    let base = thread();
    let (rich, plain) = (format!("{base}/rich"), format!("{base}/plain"));
    let kept = json!({
        "name": "zoë \"q\"", "n": 3, "big": u64::MAX, "flag": true, "ratio": 0.5,
        "none": null, "tags": {"a": [1, 2], "b": "x"}, "list": [1, "two"],
        "dot.ted": "y", "we\"ird": "w"
    });
    let serde_json::Value::Object(kept) = kept else {
        return Err("not an object".into());
    };
    for (t, meta) in [(&rich, kept.clone()), (&plain, serde_json::Map::new())] {
        let mut p = first_put(t, json!(0));
        p.metadata.extra.extend(meta);
        s.put(p).await.map_err(err)?;
    }
    let mine = || ThreadQuery::new().prefix(format!("{base}/"));
    for (k, v) in &kept {
        let found = ids(s, mine().metadata(k.clone(), v.clone())).await?;
        ensure!(found == [rich.clone()], "metadata {k} = {v}: {found:?}");
    }
    let all = kept
        .iter()
        .fold(mine(), |q, (k, v)| q.metadata(k.clone(), v.clone()));
    let found = ids(s, all.limit(1)).await?;
    ensure!(found == [rich.clone()], "every key at once: {found:?}");
    let misses = [
        ("n", json!("3")),
        ("n", json!(3.5)),
        ("flag", json!(1)),
        ("ratio", json!(0.25)),
        ("none", json!("null")),
        ("tags", json!({"a": [1, 2]})),
        ("list", json!([1])),
        ("name", json!("zoë")),
        ("missing", json!(null)),
    ];
    for (k, v) in misses {
        let found = ids(s, mine().metadata(k, v.clone())).await?;
        ensure!(found.is_empty(), "metadata {k} = {v} matched {found:?}");
    }
    Ok(())
}
