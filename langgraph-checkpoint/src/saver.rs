//! The `Checkpointer` contract that every saver implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::CheckpointError;
use crate::model::{
    CheckpointTuple, Fence, Head, ListOptions, PutCheckpoint, PutNow, PutWrites, SaveOp,
};
use crate::prune::Prune;
use crate::threads::{ThreadInfo, ThreadQuery};

/// Stores and loads checkpoints of threads.
///
/// A thread is a sequence (a tree, after forks) of checkpoints, one per superstep, in one or
/// more namespaces (`""` for the root graph, `"node:task"` paths for subgraphs). Savers are
/// shared by many runs at once, so every method takes `&self`.
///
/// **Concurrency.** A run first reads the thread's [`Head`] and then *claims* the thread
/// (`claim`, or a [`Fence`] with `claim: true` on its first write). Every later write carries
/// the fence; a saver must reject, with [`CheckpointError::Conflict`] and without storing
/// anything, a write whose fence epoch is not the thread's current epoch or whose
/// `expected_head` is not the namespace's newest checkpoint. This is what turns two concurrent
/// runs on one thread into one run and one typed error instead of a silent fork.
///
/// **What this trait does not do:** it never interprets channel values (they are JSON), never
/// plans tasks and never runs user code; it stores and returns plain data.
#[async_trait::async_trait]
pub trait Checkpointer: Send + Sync + 'static {
    /// The thread's epoch and the newest checkpoint of namespace `ns`, read atomically.
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError>;

    /// One checkpoint by id, with resolved values and its pending writes.
    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError>;

    /// Checkpoints of a namespace, newest first, filtered and limited by `opts`.
    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError>;

    /// Claims the thread for a writer that read epoch `seen_epoch`: the epoch becomes
    /// `seen_epoch + 1` unless another writer claimed it first (then `Conflict`).
    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError>;

    /// Stores a checkpoint, its new blobs and the final writes of its superstep atomically.
    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError>;

    /// Stores a checkpoint at once, if this saver can do so without waiting.
    ///
    /// A run offers every checkpoint it stores on its own here first. A saver that keeps
    /// checkpoints in memory answers [`PutNow::Done`] and spares the run the future (and its
    /// allocations) of an asynchronous call; the default hands the checkpoint back
    /// ([`PutNow::Later`]) and the run awaits [`put`](Self::put) with it. A saver that
    /// implements this must store exactly what `put` would, with the same checks.
    fn put_now(&self, put: PutCheckpoint) -> PutNow {
        PutNow::Later(put)
    }

    /// Stores writes of tasks against an existing checkpoint.
    async fn put_writes(&self, writes: PutWrites) -> Result<(), CheckpointError>;

    /// Stores several checkpoints and writes of one writer, in order.
    ///
    /// Each op is fenced as if it were stored on its own. If one is rejected, it and every op
    /// after it are not stored and its error is returned; the ops before it may or may not be
    /// stored (a saver that stores the batch in one transaction may roll all of it back). A
    /// run stores in batches what piled up while the previous write was in flight (durability
    /// `async`), so a saver that commits a batch at once pays one commit (one fsync) for it.
    ///
    /// The default stores the ops one by one with [`put`](Self::put) and
    /// [`put_writes`](Self::put_writes).
    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        for op in ops {
            match op {
                SaveOp::Checkpoint(p) => self.put(p).await?,
                SaveOp::Writes(w) => self.put_writes(w).await?,
            }
        }
        Ok(())
    }

    /// Stores a batch like [`put_batch`](Self::put_batch), except that the commit need not
    /// be on disk when this returns.
    ///
    /// What it stores must be seen at once by every other reader and writer (a claim in it
    /// fences other runs out from then on). It must reach the disk no later than the next
    /// durable commit of this saver, so that a crash of the machine loses it only together
    /// with everything stored after it. A run stores this way the commit it starts with (its
    /// claim with the input checkpoints, or with the answers to interrupts) under durability
    /// `async` or `exit`: that commit must be seen before any node runs, but those modes
    /// allow a crash of the machine to lose the newest steps of a run. A log written in order
    /// (SQLite's write-ahead log, PostgreSQL's WAL) provides this by skipping the sync of
    /// that one commit. The default is [`put_batch`](Self::put_batch), which is durable.
    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.put_batch(ops).await
    }

    /// Makes every commit this saver made so far durable, those of
    /// [`put_batch_unsynced`](Self::put_batch_unsynced) included. A run whose last write
    /// was unsynced calls it before it returns. The default does nothing: it suits a saver
    /// whose commits are all durable.
    async fn sync(&self) -> Result<(), CheckpointError> {
        Ok(())
    }

    /// Deletes every checkpoint, blob and write of a thread, in all namespaces.
    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError>;

    /// Prunes the history of each of `thread_ids`, each thread on its own (atomically, in
    /// one transaction for the database savers); a thread that does not exist is skipped.
    ///
    /// [`Prune::Delete`] deletes the threads. [`Prune::KeepLatest`] keeps what the threads
    /// need to be read and resumed as before and deletes the rest of their history:
    ///
    /// - the newest checkpoint of the root namespace, with its pending writes (so a paused
    ///   run resumes with its answers and finished tasks), and the checkpoints it follows
    ///   through `update_state` edits;
    /// - the newest checkpoint of each per-thread subgraph history, and of each subgraph call
    ///   still in progress (paused inside the subgraph), whose checkpoints back to the call's
    ///   input stay as well; the checkpoints of finished calls go.
    ///
    /// Kept checkpoints whose values were stored with older ones store them again, whole; a
    /// kept checkpoint whose parent goes has no parent from then on. A thread with nothing to
    /// delete is left as it is. A thread that changes is claimed, like a new run claims it: a
    /// run writing to it meanwhile gets [`CheckpointError::Conflict`] at its next write and
    /// nothing it stored before is lost (run it again to go on). Replays and forks from the
    /// deleted checkpoints are no longer possible. An error (a corrupt checkpoint, a lost
    /// connection) leaves the failing thread as it was; the threads before it stay pruned.
    async fn prune(&self, thread_ids: &[&str], strategy: Prune) -> Result<(), CheckpointError>;

    /// Copies every checkpoint, value and pending write of thread `from`, in all namespaces, to
    /// thread `to`, atomically: `to` then reads, resumes, replays and forks as `from` does, and
    /// the two threads go their own ways from then on (try two answers to one question, or
    /// branch a conversation). `to` must have no checkpoints: otherwise the copy is refused
    /// with [`CheckpointError::Conflict`] and nothing is written. Copying a thread that has
    /// no checkpoints does nothing. A run that claimed an empty `to` meanwhile gets a conflict
    /// at its first write.
    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError>;

    /// The threads that have a checkpoint in their root namespace and match `query`, in the
    /// byte order of their ids, with the id of each one's newest root checkpoint: how a
    /// maintenance job finds the threads to [`prune`](Checkpointer::prune) or
    /// [`delete`](Checkpointer::delete_thread) (by id prefix, by the time of their last
    /// write, by their head's metadata), and how an application finds the threads waiting
    /// for an answer or a retry (by their head's pending writes, see
    /// [`ThreadStatus`](crate::ThreadStatus)), a page at a time. A thread being written
    /// meanwhile is listed with the head it had when it was read.
    async fn threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadInfo>, CheckpointError>;
}

/// The future a saver method returns (what `#[async_trait]` makes of an `async fn`).
type SaverFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CheckpointError>> + Send + 'a>>;

// A shared saver hands out its inner saver's future as it is: an `async fn` here would box
// every call a second time (and move its arguments into the second box), and a run calls its
// saver through an `Arc<dyn Checkpointer>`.
impl<T: Checkpointer + ?Sized> Checkpointer for Arc<T> {
    fn head<'s, 'a, 'b, 'f>(&'s self, thread_id: &'a str, ns: &'b str) -> SaverFuture<'f, Head>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        (**self).head(thread_id, ns)
    }
    fn get<'s, 'a, 'b, 'c, 'f>(
        &'s self,
        thread_id: &'a str,
        ns: &'b str,
        checkpoint_id: &'c str,
    ) -> SaverFuture<'f, Option<CheckpointTuple>>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        'c: 'f,
        Self: 'f,
    {
        (**self).get(thread_id, ns, checkpoint_id)
    }
    fn list<'s, 'a, 'b, 'c, 'f>(
        &'s self,
        thread_id: &'a str,
        ns: &'b str,
        opts: &'c ListOptions,
    ) -> SaverFuture<'f, Vec<CheckpointTuple>>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        'c: 'f,
        Self: 'f,
    {
        (**self).list(thread_id, ns, opts)
    }
    fn claim<'s, 'a, 'f>(&'s self, thread_id: &'a str, seen_epoch: i64) -> SaverFuture<'f, Fence>
    where
        's: 'f,
        'a: 'f,
        Self: 'f,
    {
        (**self).claim(thread_id, seen_epoch)
    }
    fn put<'s, 'f>(&'s self, put: PutCheckpoint) -> SaverFuture<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).put(put)
    }
    fn put_now(&self, put: PutCheckpoint) -> PutNow {
        (**self).put_now(put)
    }
    fn put_writes<'s, 'f>(&'s self, writes: PutWrites) -> SaverFuture<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).put_writes(writes)
    }
    fn put_batch<'s, 'f>(&'s self, ops: Vec<SaveOp>) -> SaverFuture<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).put_batch(ops)
    }
    fn put_batch_unsynced<'s, 'f>(&'s self, ops: Vec<SaveOp>) -> SaverFuture<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).put_batch_unsynced(ops)
    }
    fn sync<'s, 'f>(&'s self) -> SaverFuture<'f, ()>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).sync()
    }
    fn delete_thread<'s, 'a, 'f>(&'s self, thread_id: &'a str) -> SaverFuture<'f, ()>
    where
        's: 'f,
        'a: 'f,
        Self: 'f,
    {
        (**self).delete_thread(thread_id)
    }
    fn prune<'s, 'a, 'b, 'f>(
        &'s self,
        thread_ids: &'a [&'b str],
        strategy: Prune,
    ) -> SaverFuture<'f, ()>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        (**self).prune(thread_ids, strategy)
    }
    fn copy_thread<'s, 'a, 'b, 'f>(&'s self, from: &'a str, to: &'b str) -> SaverFuture<'f, ()>
    where
        's: 'f,
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        (**self).copy_thread(from, to)
    }
    fn threads<'s, 'a, 'f>(&'s self, query: &'a ThreadQuery) -> SaverFuture<'f, Vec<ThreadInfo>>
    where
        's: 'f,
        'a: 'f,
        Self: 'f,
    {
        (**self).threads(query)
    }
}
