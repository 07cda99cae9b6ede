//! The write queue of a run: its saver writes, stored one after another in order, with what
//! piles up meanwhile batched into one commit, and how far a run may get ahead of it.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use langgraph_checkpoint::{CheckpointError, Checkpointer, PutNow, SaveOp};

type SaveFuture = BoxFuture<'static, Result<(), CheckpointError>>;

/// Writes a run under durability `async` may leave unstored when a superstep ends: the last
/// superstep's checkpoint and the one before it. Nothing is stored before the next superstep's
/// task is first polled, so a task that finishes without awaiting (a fast step, or a node
/// that interrupts at once) leaves both to be stored with the next checkpoint in one commit;
/// a task that awaits anything (a model call, I/O) lets them go out at once, while it waits.
/// More unstored writes than this make the run wait for them.
pub(crate) const ASYNC_BACKLOG: usize = 2;

/// Saver writes of one run, stored one after another in order. What piles up while a write
/// is in flight goes to the saver as one batch ([`Checkpointer::put_batch`]): one commit for
/// all of it.
pub(crate) struct WriteQueue {
    saver: Arc<dyn Checkpointer>,
    current: Option<SaveFuture>,
    /// Ops in `current`.
    in_flight: usize,
    /// `current` is a durable write.
    current_synced: bool,
    queued: Vec<SaveOp>,
    error: Option<CheckpointError>,
    /// A write stored with [`Checkpointer::put_batch_unsynced`] has had no durable write
    /// after it yet.
    owes_sync: bool,
}

impl WriteQueue {
    pub(crate) fn new(saver: Arc<dyn Checkpointer>) -> Self {
        Self {
            saver,
            current: None,
            in_flight: 0,
            current_synced: true,
            queued: Vec::new(),
            error: None,
            owes_sync: false,
        }
    }

    /// Queues a write. A checkpoint that nothing is waiting before (no write queued or in
    /// flight, no failure to report) is first offered to [`Checkpointer::put_now`]: a saver
    /// that stores it at once spares the queue; a failure is reported by the next flush, like
    /// one found while driving the queue.
    pub(crate) fn push(&mut self, op: SaveOp) {
        let idle = self.current.is_none() && self.queued.is_empty() && self.error.is_none();
        let op = match op {
            SaveOp::Checkpoint(p) if idle => match self.saver.put_now(p) {
                PutNow::Done(r) => return self.finished(r, true),
                PutNow::Later(p) => SaveOp::Checkpoint(p),
            },
            op => op,
        };
        self.queued.push(op);
    }

    /// Starts storing everything queued: durably, one op as itself and several as a batch
    /// (the queue keeps its capacity: a run queues about one op per superstep); or, when not
    /// `synced`, as one batch whose commit need not reach the disk before it returns
    /// ([`Checkpointer::put_batch_unsynced`]).
    fn start(&mut self, synced: bool) {
        let saver = self.saver.clone();
        let n = self.queued.len();
        let fut: SaveFuture = if !synced {
            let ops: Vec<SaveOp> = self.queued.drain(..).collect();
            Box::pin(async move { saver.put_batch_unsynced(ops).await })
        } else if n > 1 {
            let ops: Vec<SaveOp> = self.queued.drain(..).collect();
            Box::pin(async move { saver.put_batch(ops).await })
        } else {
            match self.queued.pop() {
                Some(SaveOp::Checkpoint(p)) => Box::pin(async move { saver.put(p).await }),
                Some(SaveOp::Writes(w)) => Box::pin(async move { saver.put_writes(w).await }),
                None => return,
            }
        };
        self.in_flight = n;
        self.current = Some(fut);
        self.current_synced = synced;
    }

    /// Records the outcome of a finished write: a failure drops the writes queued after it
    /// (they depend on it) and is reported by the next flush. A durable write makes every
    /// write before it durable too.
    fn finished(&mut self, r: Result<(), CheckpointError>, synced: bool) {
        match r {
            Ok(()) => self.owes_sync = !synced,
            Err(e) => {
                self.queued.clear();
                self.error.get_or_insert(e);
            }
        }
    }

    /// Drives the queue; ready when it is empty (or a write failed).
    pub(crate) fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.current.is_none() {
                if self.queued.is_empty() {
                    return Poll::Ready(());
                }
                self.start(true);
            }
            let Some(cur) = self.current.as_mut() else {
                continue;
            };
            match cur.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => {
                    self.current = None;
                    self.in_flight = 0;
                    let failed = r.is_err();
                    self.finished(r, self.current_synced);
                    if failed {
                        return Poll::Ready(());
                    }
                }
            }
        }
    }

    /// Ops queued or in flight.
    pub(crate) fn len(&self) -> usize {
        self.queued.len() + self.in_flight
    }

    /// Waits until every queued write is stored.
    pub(crate) async fn flush(&mut self) -> Result<(), CheckpointError> {
        self.flush_to(0).await
    }

    /// Waits until every queued write is stored, as one commit that need not be on disk
    /// yet (see [`Checkpointer::put_batch_unsynced`]); [`sync`](Self::sync) later makes it
    /// durable if no durable write did so meanwhile.
    /// A write already in flight goes first; what is queued then follows it durably.
    pub(crate) async fn flush_unsynced(&mut self) -> Result<(), CheckpointError> {
        if self.error.is_none() && self.current.is_none() && !self.queued.is_empty() {
            self.start(false);
        }
        self.flush().await
    }

    /// Makes what [`flush_unsynced`](Self::flush_unsynced) stored durable, if no durable
    /// write has since ([`Checkpointer::sync`]).
    pub(crate) async fn sync(&mut self) -> Result<(), CheckpointError> {
        if self.owes_sync {
            self.saver.sync().await?;
            self.owes_sync = false;
        }
        Ok(())
    }

    /// Waits until at most `left` writes (the newest) are queued or in flight.
    pub(crate) async fn flush_to(&mut self, left: usize) -> Result<(), CheckpointError> {
        poll_fn(|cx| {
            if self.len() <= left || self.error.is_some() {
                return Poll::Ready(());
            }
            let _ = self.poll_drive(cx);
            if self.len() <= left || self.error.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use langgraph_checkpoint::{
        CheckpointTuple, Fence, Head, InMemorySaver, ListOptions, PutCheckpoint, PutWrites,
        async_trait,
    };
    use std::sync::Mutex;
    use tokio::sync::Semaphore;

    /// Records the size of each write call (unsynced batches apart) and counts syncs; a
    /// write waits for a permit of `gate` and the `fail_at`-th call (from 0) fails.
    struct Recorder {
        inner: InMemorySaver,
        calls: Mutex<Vec<usize>>,
        unsynced: Mutex<Vec<usize>>,
        syncs: Mutex<usize>,
        gate: Semaphore,
        fail_at: Option<usize>,
    }

    impl Recorder {
        fn new(open: bool, fail_at: Option<usize>) -> Arc<Self> {
            Arc::new(Self {
                inner: InMemorySaver::new(),
                calls: Mutex::new(Vec::new()),
                unsynced: Mutex::new(Vec::new()),
                syncs: Mutex::new(0),
                gate: Semaphore::new(if open { Semaphore::MAX_PERMITS } else { 0 }),
                fail_at,
            })
        }

        fn calls(&self) -> Vec<usize> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }

        async fn write(&self, n: usize) -> Result<(), CheckpointError> {
            let k = {
                let mut calls = self
                    .calls
                    .lock()
                    .map_err(|_| CheckpointError::backend("t", "poisoned"))?;
                calls.push(n);
                calls.len() - 1
            };
            let permit = self.gate.acquire().await;
            drop(permit);
            if self.fail_at == Some(k) {
                return Err(CheckpointError::backend("put", "refused"));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Checkpointer for Recorder {
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
        async fn put(&self, _put: PutCheckpoint) -> Result<(), CheckpointError> {
            self.write(1).await
        }
        async fn put_writes(&self, _w: PutWrites) -> Result<(), CheckpointError> {
            self.write(1).await
        }
        async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
            self.write(ops.len()).await
        }
        async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
            self.unsynced.lock().unwrap().push(ops.len());
            Ok(())
        }
        async fn sync(&self) -> Result<(), CheckpointError> {
            *self.syncs.lock().unwrap() += 1;
            Ok(())
        }
        async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
            self.inner.delete_thread(thread_id).await
        }
        async fn prune(
            &self,
            threads: &[&str],
            strategy: langgraph_checkpoint::Prune,
        ) -> Result<(), CheckpointError> {
            self.inner.prune(threads, strategy).await
        }
        async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
            self.inner.copy_thread(from, to).await
        }
        async fn threads(
            &self,
            query: &langgraph_checkpoint::ThreadQuery,
        ) -> Result<Vec<langgraph_checkpoint::ThreadInfo>, CheckpointError> {
            self.inner.threads(query).await
        }
    }

    fn op(i: usize) -> SaveOp {
        SaveOp::Writes(PutWrites {
            thread_id: "t".into(),
            ns: String::new(),
            checkpoint_id: format!("c{i}").into(),
            writes: Vec::new(),
            fence: Fence::claim_from(0),
        })
    }

    /// Polls the queue once, as a run does while its task waits.
    async fn drive_once(q: &mut WriteQueue) {
        poll_fn(|cx| {
            let _ = q.poll_drive(cx);
            Poll::Ready(())
        })
        .await;
    }

    #[tokio::test]
    async fn writes_queued_while_one_is_in_flight_go_out_as_one_batch() {
        let saver = Recorder::new(false, None);
        let mut q = WriteQueue::new(saver.clone());
        q.push(op(0));
        drive_once(&mut q).await;
        assert_eq!(saver.calls(), [1], "the first write is in flight");
        for i in 1..4 {
            q.push(op(i));
        }
        assert_eq!(q.len(), 4);
        drive_once(&mut q).await;
        assert_eq!(saver.calls(), [1], "nothing more while it is in flight");
        saver.gate.add_permits(Semaphore::MAX_PERMITS);
        q.flush().await.unwrap();
        assert_eq!(
            saver.calls(),
            [1, 3],
            "then the three queued ones, together"
        );
        assert_eq!(q.len(), 0);
    }

    #[tokio::test]
    async fn flush_to_starts_nothing_within_the_backlog() {
        let saver = Recorder::new(true, None);
        let mut q = WriteQueue::new(saver.clone());
        for i in 0..ASYNC_BACKLOG {
            q.push(op(i));
        }
        q.flush_to(ASYNC_BACKLOG).await.unwrap();
        assert!(
            saver.calls().is_empty(),
            "within the backlog: {:?}",
            saver.calls()
        );
        q.push(op(ASYNC_BACKLOG));
        q.flush_to(ASYNC_BACKLOG).await.unwrap();
        assert_eq!(
            saver.calls(),
            [ASYNC_BACKLOG + 1],
            "past it: all, as one batch"
        );
        assert_eq!(q.len(), 0);
    }

    #[tokio::test]
    async fn a_failed_write_drops_the_writes_after_it_and_is_reported_once() {
        let saver = Recorder::new(false, Some(0));
        let mut q = WriteQueue::new(saver.clone());
        q.push(op(0));
        drive_once(&mut q).await;
        q.push(op(1));
        q.push(op(2));
        saver.gate.add_permits(Semaphore::MAX_PERMITS);
        let e = q.flush().await.unwrap_err();
        assert!(e.to_string().contains("refused"), "{e}");
        assert_eq!(
            saver.calls(),
            [1],
            "the writes that depend on it were not sent"
        );
        assert_eq!(q.len(), 0);
        q.flush().await.unwrap();
        q.push(op(3));
        q.flush().await.unwrap();
        assert_eq!(saver.calls(), [1, 1], "the queue goes on after the report");
    }

    #[tokio::test]
    async fn an_unsynced_write_is_synced_once_unless_a_durable_write_follows_it() {
        let saver = Recorder::new(true, None);
        let mut q = WriteQueue::new(saver.clone());
        q.sync().await.unwrap();
        assert_eq!(*saver.syncs.lock().unwrap(), 0, "nothing to sync");
        q.push(op(0));
        q.push(op(1));
        q.flush_unsynced().await.unwrap();
        assert_eq!(*saver.unsynced.lock().unwrap(), [2], "one unsynced batch");
        q.sync().await.unwrap();
        q.sync().await.unwrap();
        assert_eq!(*saver.syncs.lock().unwrap(), 1, "synced once");
        // A durable write after an unsynced one makes it durable: no sync.
        q.push(op(2));
        q.flush_unsynced().await.unwrap();
        q.push(op(3));
        q.flush().await.unwrap();
        q.sync().await.unwrap();
        assert_eq!(*saver.syncs.lock().unwrap(), 1);
        assert_eq!(saver.calls(), [1]);
        // A write in flight goes first, and what follows it is stored the durable way.
        let saver = Recorder::new(false, None);
        let mut q = WriteQueue::new(saver.clone());
        q.push(op(0));
        drive_once(&mut q).await;
        q.push(op(1));
        saver.gate.add_permits(Semaphore::MAX_PERMITS);
        q.flush_unsynced().await.unwrap();
        assert_eq!(saver.calls(), [1, 1]);
        assert!(saver.unsynced.lock().unwrap().is_empty());
    }
}
