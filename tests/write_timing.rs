//! When a run's writes reach its saver: under each durability mode, what is stored while the
//! run goes on, how writes queue up and go out in batches under `async`, and which commits
//! skip their fsync.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use langgraph::checkpoint::{
    CheckpointError, CheckpointTuple, Fence, Head, PutCheckpoint, PutWrites, SaveOp, async_trait,
};
use langgraph::prelude::*;

#[path = "support/counter.rs"]
mod counter;
use counter::*;

/// What is stored while a run of `steps` supersteps is still going: each step notes how many
/// checkpoints `saver` held when it started and, if it `awaits`, after its first await.
/// Returns (step, stored at start, stored after the await).
async fn noting<C: Checkpointer>(
    saver: std::sync::Arc<C>,
    d: Durability,
    steps: i64,
    awaits: bool,
) -> Vec<(i64, usize, usize)> {
    let probe = saver.clone();
    let g = StateGraph::<Counter>::new()
        .node("step", move |s: &Counter, ctx: Ctx| {
            let probe = probe.clone();
            let n = s.counter + 1;
            async move {
                let all = ListOptions::new();
                let stored = || probe.list("t", "", &all);
                let before = stored().await.unwrap().len();
                let mut after = before;
                if awaits {
                    tokio::task::yield_now().await;
                    after = stored().await.unwrap().len();
                }
                CounterUpdate::new()
                    .counter(n)
                    .log(vec![format!("{} {before} {after}", ctx.step())])
            }
        })
        .edge(START, "step")
        .route(
            "step",
            move |s: &Counter| if s.counter < steps { "step" } else { END },
            ["step", END],
        )
        .compile_with_shared(saver)
        .unwrap();
    let out = g
        .invoke(Counter::default(), &RunConfig::thread("t").durability(d))
        .await
        .unwrap();
    if d != Durability::Exit {
        assert_eq!(checkpoints(&g, "t").await.len() as i64, steps + 2, "{d:?}");
    }
    out.log
        .iter()
        .map(|l| {
            let v: Vec<&str> = l.split(' ').collect();
            (
                v[0].parse().unwrap(),
                v[1].parse().unwrap(),
                v[2].parse().unwrap(),
            )
        })
        .collect()
}

/// What is stored while the run goes on, on an `InMemorySaver` (which stores at once).
async fn stored_while_running(d: Durability) -> Vec<(i64, usize)> {
    let notes = noting(std::sync::Arc::new(InMemorySaver::new()), d, 8, true).await;
    notes
        .into_iter()
        .map(|(k, before, _)| (k, before))
        .collect()
}

/// Durability is about what a crash loses: with `sync` the checkpoint of every superstep is
/// stored before the next one starts; with `async` at most the newest one is still in flight;
/// with `exit` nothing is stored before the end (but the input).
#[tokio::test]
async fn checkpoints_are_stored_while_the_run_goes_on() {
    // Superstep k runs after the input checkpoint (step -1) and those of steps 0..k-1.
    for (step, stored) in stored_while_running(Durability::Sync).await {
        assert_eq!(stored as i64, step + 1, "sync, step {step}");
    }
    for (step, stored) in stored_while_running(Durability::Async).await {
        assert!(stored as i64 >= step, "async, step {step}: {stored} stored");
    }
    for (step, stored) in stored_while_running(Durability::Exit).await {
        assert!(stored <= 2, "exit, step {step}: {stored} stored");
    }
}

/// A saver that counts the write calls it forwards (each is one commit on a SQL saver):
/// the size of each durable one in `calls`, of each unsynced one in `unsynced`, and the
/// calls of `sync`.
struct Counting<C> {
    inner: C,
    calls: std::sync::Mutex<Vec<usize>>,
    unsynced: std::sync::Mutex<Vec<usize>>,
    syncs: std::sync::atomic::AtomicUsize,
}

impl<C> Counting<C> {
    fn new(inner: C) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            inner,
            calls: Default::default(),
            unsynced: Default::default(),
            syncs: Default::default(),
        })
    }

    /// Durable write calls, unsynced ones and syncs so far, and resets them.
    fn take(&self) -> (Vec<usize>, Vec<usize>, usize) {
        (
            std::mem::take(&mut *self.calls.lock().unwrap()),
            std::mem::take(&mut *self.unsynced.lock().unwrap()),
            self.syncs.swap(0, std::sync::atomic::Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl<C: Checkpointer> Checkpointer for Counting<C> {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        self.inner.head(thread_id, ns).await
    }
    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        self.inner.get(thread_id, ns, id).await
    }
    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        self.inner.list(thread_id, ns, opts).await
    }
    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        self.inner.claim(thread_id, seen_epoch).await
    }
    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        self.calls.lock().unwrap().push(1);
        self.inner.put(put).await
    }
    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        self.calls.lock().unwrap().push(1);
        self.inner.put_writes(w).await
    }
    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.calls.lock().unwrap().push(ops.len());
        self.inner.put_batch(ops).await
    }
    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.unsynced.lock().unwrap().push(ops.len());
        self.inner.put_batch_unsynced(ops).await
    }
    async fn sync(&self) -> Result<(), CheckpointError> {
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.sync().await
    }
    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.inner.delete_thread(thread_id).await
    }
    async fn prune(&self, threads: &[&str], strategy: Prune) -> Result<(), CheckpointError> {
        self.inner.prune(threads, strategy).await
    }
    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        self.inner.copy_thread(from, to).await
    }
    async fn threads(
        &self,
        query: &langgraph::ThreadQuery,
    ) -> Result<Vec<langgraph::ThreadInfo>, CheckpointError> {
        self.inner.threads(query).await
    }
}

/// Runs `steps` supersteps under `async` on a saver that stores nothing at once (no
/// `put_now`, like a server-grade saver) but finishes each write without waiting (see
/// [`noting`]). Returns the notes and the saver's batch sizes.
async fn async_lag(steps: i64, awaits: bool) -> (Vec<(i64, usize, usize)>, Vec<usize>) {
    let saver = Counting::new(InMemorySaver::new());
    let notes = noting(saver.clone(), Durability::Async, steps, awaits).await;
    let (mut calls, unsynced, _) = saver.take();
    assert_eq!(
        unsynced,
        [2],
        "the run's start: input and first loop checkpoints"
    );
    calls.extend(unsynced);
    (notes, calls)
}

/// `async` (the default): a step that finishes without awaiting leaves its checkpoint to be
/// stored with the next ones (fewer commits), but a run is never more than two checkpoints
/// ahead of its saver, and a step that awaits (a model call) has everything before it stored
/// while it waits.
#[tokio::test]
async fn async_durability_stores_no_later_than_the_next_await() {
    // Superstep k starts after k + 1 checkpoints were taken (the input one, steps 0..k-1).
    let (notes, calls) = async_lag(12, false).await;
    assert_eq!(notes.len(), 12);
    for &(k, before, _) in &notes {
        let taken = k as usize + 1;
        assert!(before + 2 >= taken, "step {k}: {before} of {taken} stored");
    }
    assert!(
        notes
            .iter()
            .any(|&(k, before, _)| before + 2 == k as usize + 1),
        "fast steps let two checkpoints wait: {notes:?}"
    );
    assert_eq!(calls.iter().sum::<usize>(), 14, "every checkpoint once");
    assert!(
        calls.iter().all(|&n| n <= 3) && calls.len() <= 6,
        "batches of at most three: {calls:?}"
    );

    let (notes, _) = async_lag(12, true).await;
    for &(k, _, after) in &notes {
        assert_eq!(
            after,
            k as usize + 1,
            "step {k}: all stored while it awaits"
        );
    }
}

/// With `async`, what piled up while a write was in flight goes to the saver as one batch
/// (one commit); with `sync`, every checkpoint is its own write. Both store the same history.
#[tokio::test]
async fn async_durability_stores_in_batches_with_the_same_history() {
    let mut histories = Vec::new();
    for d in [Durability::Sync, Durability::Async] {
        let saver = Counting::new(SqliteSaver::in_memory().await.unwrap());
        let g = looping(10).compile_with_shared(saver.clone()).unwrap();
        g.invoke(Counter::default(), &RunConfig::thread("t").durability(d))
            .await
            .unwrap();
        let (calls, unsynced, syncs) = saver.take();
        let h = checkpoints(&g, "t").await;
        assert_eq!(h.len(), 12, "{d:?}: input + start + 10 supersteps");
        assert_eq!(
            calls.iter().chain(&unsynced).sum::<usize>(),
            12,
            "{d:?}: every checkpoint written once"
        );
        assert_eq!(syncs, 0, "{d:?}: the last write was durable");
        match d {
            // The input checkpoint and the first loop checkpoint are stored together before
            // any node runs; then one write per superstep.
            Durability::Sync => {
                assert_eq!(calls, [vec![2], vec![1; 10]].concat(), "sync");
                assert!(unsynced.is_empty(), "sync: every commit durable");
            }
            _ => {
                assert_eq!(unsynced, [2], "async: the start need not be on disk");
                assert!(
                    calls.len() <= 6 && calls.iter().any(|&n| n > 1),
                    "async: batches, got {calls:?}"
                );
            }
        }
        histories.push(
            h.iter()
                .map(|s| {
                    (
                        s.values.clone(),
                        s.metadata.as_ref().map(|m| m.step),
                        s.next.clone(),
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(histories[0], histories[1]);
}

fn asking() -> StateGraph<Counter> {
    StateGraph::<Counter>::new()
        .node("a", |s: &Counter| {
            CounterUpdate::new().counter(s.counter + 1)
        })
        .node("ask", |_: &Counter, ctx: Ctx| async move {
            let ok: bool = ctx.interrupt(json!("go on?")).await?;
            Ok::<_, NodeError>(CounterUpdate::new().log(vec![format!("ok={ok}")]))
        })
        .edge(START, "a")
        .edge("a", "ask")
        .edge("ask", END)
}

/// A run's first commit (its claim, with the input checkpoints or the answers to interrupts)
/// must be seen by other runs before any node runs, but only durability `sync` needs it on
/// disk first. Under `async` and `exit` it is stored unsynced, and the run's next durable
/// write makes it durable; a run that has none syncs before it returns, however it ends.
/// Under `exit` a new input stores no checkpoints at the start (only the claim): the one the
/// run ends or pauses on is durable.
#[tokio::test]
async fn a_run_starts_unsynced_unless_sync_and_returns_only_what_is_durable() {
    for d in [Durability::Async, Durability::Exit, Durability::Sync] {
        let saver = Counting::new(InMemorySaver::new());
        let g = asking().compile_with_shared(saver.clone()).unwrap();
        // Under `async` a new input's start carries the input checkpoints, unsynced.
        let lazy = d == Durability::Async;
        let start = |n: usize| if lazy { vec![n] } else { vec![] };

        // Paused before its first node: the mark of the breakpoint (which lists the thread
        // as waiting) is a durable write after the start, so no sync is needed.
        let cfg = RunConfig::thread("b").durability(d).interrupt_before(["a"]);
        let out = g.invoke(Counter::default(), &cfg).await.unwrap();
        assert!(out.paused);
        let (calls, unsynced, syncs) = saver.take();
        assert_eq!(unsynced, start(2), "{d:?}: the start");
        assert_eq!(syncs, 0, "{d:?}: no sync needed");
        assert!(!calls.is_empty(), "{d:?}: the mark is durable");

        // A dynamic interrupt: its writes are a durable write after the start.
        let cfg = RunConfig::thread("i").durability(d);
        let out = g.invoke(Counter::default(), &cfg).await.unwrap();
        assert!(out.is_interrupted());
        let (calls, unsynced, syncs) = saver.take();
        assert_eq!(unsynced, start(2), "{d:?}");
        assert!(
            !calls.is_empty(),
            "{d:?}: the interrupt's writes are durable"
        );
        assert_eq!(syncs, 0, "{d:?}: no sync needed");
        // The resume starts with the answer (unsynced), the rest is durable.
        let out = g.resume(&cfg, true).await.unwrap();
        assert_eq!((out.counter, out.log.clone()), (1, vec!["ok=true".into()]));
        let (calls, unsynced, syncs) = saver.take();
        let answer = if d == Durability::Sync {
            vec![]
        } else {
            vec![1]
        };
        assert_eq!(unsynced, answer, "{d:?}: the resume's answer");
        assert!(!calls.is_empty() && syncs == 0, "{d:?}: {calls:?}, {syncs}");

        // A run that fails in its first step: whatever it stored after its start (the
        // failure's record, if any) is durable, or it syncs before returning the error.
        let failing = StateGraph::<Counter>::new()
            .node("fail", |s: &Counter| {
                let c = s.counter;
                async move {
                    if c > 100 {
                        return Err(NodeError::msg("too far").permanent());
                    }
                    Ok(CounterUpdate::new())
                }
            })
            .edge(START, "fail")
            .edge("fail", END)
            .compile_with_shared(saver.clone())
            .unwrap();
        let cfg = RunConfig::thread("f").durability(d);
        let input = Counter {
            counter: 1000,
            log: Vec::new(),
        };
        let e = failing.invoke(input, &cfg).await.unwrap_err();
        assert!(e.to_string().contains("too far"), "{e}");
        let (calls, unsynced, syncs) = saver.take();
        assert_eq!(unsynced, start(2), "{d:?}");
        if lazy {
            assert_eq!(
                syncs == 1,
                calls.is_empty(),
                "{d:?}: {calls:?}, {syncs} syncs"
            );
        } else {
            assert!(!calls.is_empty() && syncs == 0, "{d:?}: {calls:?}, {syncs}");
        }
        let state = failing.get_state(&cfg).await.unwrap();
        assert_eq!(state.values.counter, 1000, "{d:?}: the input is stored");
        assert_eq!(state.next, ["fail"], "{d:?}: and the failed task is next");
    }
}
