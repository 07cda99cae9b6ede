//! Group commit: while several runs store at once, a thread of the saver's own commits what
//! they queued in one transaction (one commit, and one fsync with `Synchronous::Full`)
//! instead of one transaction each.
//!
//! SQLite takes one writer at a time, so runs that store side by side otherwise wait for each
//! other's commits: fifty runs on one file cost fifty fsyncs per superstep. A lone run keeps
//! storing on its own thread (`direct.rs`), because handing a transaction to another thread
//! costs more than it saves when nothing shares it. A save joins the queue when the queue's
//! thread is at work, when the connection is in use, or when another thread of checkpoints
//! saved after this thread's previous save and less than [`WINDOW`] before: then runs take
//! turns at storing, however long their steps take. Runs that follow each other (a new thread
//! per invoke) never queue.
//!
//! A shared transaction keeps each job's outcome its own (`batch.rs`).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::backfill::Backfill;
use super::batch::{Job, Outcome, commit};
use super::direct::Slot;
use super::script::Params;
use super::worker::Stopped;
use crate::error::CheckpointError;
use crate::model::SaveOp;

/// How recent another thread's save must be for two runs to count as storing side by side.
pub(super) const WINDOW: Duration = Duration::from_millis(1);

/// The longest the committing thread waits for runs to queue again.
const MAX_GATHER: Duration = Duration::from_millis(1);
/// The shortest wait worth it: below, commits are cheap (no fsync) and waking the thread for
/// each arrival costs more than sharing a transaction saves.
const MIN_GATHER: Duration = Duration::from_micros(50);

/// The thread of checkpoints ops belong to, as a number.
pub(super) fn thread_key(ops: &[SaveOp]) -> u64 {
    let mut h = DefaultHasher::new();
    match ops.first() {
        Some(SaveOp::Checkpoint(p)) => p.thread_id.hash(&mut h),
        Some(SaveOp::Writes(w)) => w.thread_id.hash(&mut h),
        None => {}
    }
    h.finish()
}

/// Which threads of checkpoints stored lately.
#[derive(Debug, Default)]
pub(super) struct Recent {
    /// Each thread's last save, for the threads that saved less than [`HORIZON`] ago.
    last: Vec<(u64, Instant)>,
}

/// How long [`Recent`] remembers a thread's last save.
const HORIZON: Duration = Duration::from_millis(100);
/// The most threads [`Recent`] follows at once.
const MAX_RECENT: usize = 4096;

impl Recent {
    /// Records a save of thread `key` at `now`; true if another thread saved since this
    /// thread's previous save, less than [`WINDOW`] ago. A run that follows another (a new
    /// thread each invoke) is not side by side with it; runs that take turns are, however
    /// long each of their steps takes.
    pub(super) fn record(&mut self, key: u64, now: Instant) -> bool {
        let previous = self
            .last
            .iter()
            .find(|&&(k, _)| k == key)
            .map(|&(_, at)| at);
        let interleaved = previous.is_some_and(|p| {
            self.last
                .iter()
                .any(|&(k, at)| k != key && at >= p && now.saturating_duration_since(at) < WINDOW)
        });
        self.last
            .retain(|&(k, at)| k != key && now.saturating_duration_since(at) < HORIZON);
        if self.last.len() < MAX_RECENT {
            self.last.push((key, now));
        }
        interleaved
    }

    /// How many threads saved less than [`WINDOW`] before `now`.
    pub(super) fn active(&self, now: Instant) -> usize {
        self.last
            .iter()
            .filter(|&&(_, at)| now.saturating_duration_since(at) < WINDOW)
            .count()
    }
}

struct Queued {
    job: Job,
    done: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Queued>,
    /// The thread took jobs (it gathers or commits them); otherwise it waits for a first job
    /// (or is starting).
    working: bool,
    /// The thread runs.
    started: bool,
    /// The saver is gone: the thread stops once the queue is empty.
    closed: bool,
    recent: Recent,
    /// The thread gathers jobs: it is to be woken once this many are queued.
    wanted: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Transactions and jobs the thread committed.
    #[cfg(test)]
    counts: Mutex<(u64, u64)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The queue of one direct connection and its committing thread.
pub(super) struct Group {
    shared: Arc<Shared>,
    conn: Slot,
    backfill: Option<Arc<Backfill>>,
    /// The thread, for closing to wait for.
    stopped: Stopped,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

impl Group {
    pub(super) fn new(conn: Slot, backfill: Option<Arc<Backfill>>) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                wanted: usize::MAX,
                ..Queue::default()
            }),
            ready: Condvar::new(),
            #[cfg(test)]
            counts: Mutex::default(),
        });
        Self {
            shared,
            conn,
            backfill,
            stopped: Stopped::default(),
        }
    }

    /// Records a save of thread `key`; true if it should join the queue rather than run on
    /// the caller's thread.
    pub(super) fn shared_now(&self, key: u64) -> bool {
        let mut q = lock(&self.shared.queue);
        let interleaved = q.recent.record(key, Instant::now());
        interleaved || q.working || !q.jobs.is_empty()
    }

    /// Queues `job` and waits for the transaction that stores it.
    pub(super) async fn run(&self, job: Job) -> Outcome {
        let (done, rx) = oneshot::channel();
        match self.push(Queued { job, done }) {
            Ok(true) => self.shared.ready.notify_one(),
            Ok(false) => {}
            // No thread: the pool stores it.
            Err(params) => return Outcome::Busy(params),
        }
        match rx.await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed(CheckpointError::backend(
                "save",
                "the saver's committing thread stopped",
            )),
        }
    }

    /// Queues a job, starting the thread if needed; true if the thread is to be woken (it
    /// waits for a first job, or gathers and now has as many as it wants).
    fn push(&self, queued: Queued) -> Result<bool, Vec<Params>> {
        let mut q = lock(&self.shared.queue);
        if q.closed {
            return Err(queued.job.params);
        }
        if !q.started {
            let (shared, conn) = (self.shared.clone(), self.conn.clone());
            let backfill = self.backfill.clone();
            let spawned = self.stopped.spawn("lg-sqlite-commit", move || {
                serve(&shared, &conn, backfill.as_deref());
            });
            if spawned.is_err() {
                return Err(queued.job.params);
            }
            q.started = true;
        }
        q.jobs.push(queued);
        Ok(!q.working || q.jobs.len() >= q.wanted)
    }

    /// Transactions and jobs committed by the thread so far.
    #[cfg(test)]
    pub(super) fn counts(&self) -> (u64, u64) {
        *lock(&self.shared.counts)
    }
}

impl Group {
    /// Commits what is queued and waits for the thread to stop; later saves go to the pool.
    pub(super) async fn close(&self) {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_one();
        self.stopped.wait().await;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_one();
    }
}

/// The committing thread: takes every queued job, commits them in one transaction and tells
/// each caller, until the saver is gone and the queue empty.
///
/// Runs that store side by side come back one after another: each takes its next superstep
/// once its last save is done, and queues again. So when fewer jobs are queued than threads
/// stored in the last [`WINDOW`], the thread waits for the rest, for at most half as long as
/// its last transaction took (if that is at least [`MIN_GATHER`]).
fn serve(shared: &Shared, conn: &Mutex<Option<Connection>>, backfill: Option<&Backfill>) {
    let mut took = Duration::ZERO;
    loop {
        let batch = {
            let mut q = lock(&shared.queue);
            q.working = false;
            while q.jobs.is_empty() && !q.closed {
                q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            if q.jobs.is_empty() {
                return;
            }
            q.working = true;
            let now = Instant::now();
            let deadline = now + (took / 2).min(MAX_GATHER);
            let expected = if took / 2 >= MIN_GATHER {
                q.recent.active(now)
            } else {
                0
            };
            q.wanted = expected;
            while q.jobs.len() < expected && !q.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                q = shared
                    .ready
                    .wait_timeout(q, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            q.wanted = usize::MAX;
            std::mem::take(&mut q.jobs)
        };
        let started = Instant::now();
        let (jobs, senders): (Vec<Job>, Vec<_>) =
            batch.into_iter().map(|q| (q.job, q.done)).unzip();
        let outcomes = match lock(conn).as_ref() {
            Some(conn) => {
                let outcomes = commit(conn, jobs);
                if let Some(b) = backfill {
                    b.after(conn);
                }
                outcomes
            }
            // Closed: the pool stores them.
            None => jobs.into_iter().map(|j| Outcome::Busy(j.params)).collect(),
        };
        took = started.elapsed();
        #[cfg(test)]
        {
            let mut c = lock(&shared.counts);
            c.0 += 1;
            c.1 += senders.len() as u64;
        }
        for (done, outcome) in senders.into_iter().zip(outcomes) {
            // A caller that went away (its run was cancelled) no longer waits.
            let _ = done.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use super::*;
    use crate::Checkpointer;
    use crate::sqlite::SqliteOptions;
    use crate::sqlite::SqliteSaver;
    use crate::sqlite::batch::testing::{database, put};

    #[test]
    fn runs_taking_turns_are_side_by_side_and_runs_in_succession_are_not() {
        let mut r = Recent::default();
        let t = Instant::now();
        let at = |us| t + Duration::from_micros(us);
        // One run after another: each first save follows the other thread's saves.
        assert!(!r.record(1, at(0)));
        assert!(!r.record(1, at(10)));
        assert!(!r.record(2, at(20)));
        assert!(!r.record(2, at(30)));
        // Thread 1 again, after thread 2 saved: they take turns.
        assert!(r.record(1, at(40)));
        assert!(r.record(2, at(50)));
        assert_eq!(r.active(at(60)), 2);
        // A third thread joins.
        assert!(!r.record(3, at(70)));
        assert_eq!(r.active(at(80)), 3);
        // Runs whose steps take longer than the window still take turns: thread 1 saved
        // 20 ms ago, thread 2 just now.
        assert!(!r.record(2, at(20_000)));
        assert!(r.record(1, at(20_050)));
        // Another thread's save older than the window does not count.
        assert!(!r.record(1, at(30_000)));
        assert_eq!(r.active(at(30_010)), 1);
        // Past the horizon a thread is forgotten: its next save is like a first one.
        assert!(!r.record(2, at(31_000)));
        let later = at(31_000) + HORIZON;
        assert!(!r.record(3, later));
        assert!(!r.record(2, later + Duration::from_micros(5)));
    }

    #[test]
    fn thread_keys_tell_threads_apart() {
        let a = [SaveOp::Checkpoint(put("a", None, 0))];
        let a2 = [SaveOp::Checkpoint(put("a", Some("x"), 1))];
        let b = [SaveOp::Checkpoint(put("b", None, 0))];
        assert_eq!(thread_key(&a), thread_key(&a2));
        assert_ne!(thread_key(&a), thread_key(&b));
    }

    /// Runs `threads` runs of `steps` checkpoints each on the saver at once.
    async fn side_by_side(saver: &SqliteSaver, prefix: &str, threads: usize, steps: i64) {
        let runs = (0..threads).map(|t| {
            let saver = saver.clone();
            let thread = format!("{prefix}-{t}");
            tokio::spawn(async move {
                let mut prev: Option<String> = None;
                for step in 0..steps {
                    let p = put(&thread, prev.as_deref(), step);
                    let id = p.checkpoint.id.to_string();
                    saver.put(p).await.unwrap();
                    prev = Some(id);
                    // A node's work between two checkpoints.
                    tokio::task::yield_now().await;
                }
                prev
            })
        });
        let last = futures::future::join_all(runs).await;
        for (t, last) in last.into_iter().enumerate() {
            let head = saver.head(&format!("{prefix}-{t}"), "").await.unwrap();
            let head = head.checkpoint.unwrap();
            assert_eq!(Some(head.checkpoint.id.to_string()), last.unwrap());
            assert_eq!(head.metadata.step, steps - 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_storing_side_by_side_share_transactions() {
        let (saver, _path) = database("shared", SqliteOptions::default()).await;
        side_by_side(&saver, "run", 16, 30).await;
        let (transactions, jobs) = saver.direct.as_ref().unwrap().group().unwrap().counts();
        assert!(jobs > 0, "runs side by side went through the queue");
        assert!(
            transactions < jobs,
            "{jobs} jobs took {transactions} transactions"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lone_runs_store_on_their_own_thread() {
        let (saver, _path) = database("alone", SqliteOptions::default()).await;
        // One run, then others one after another (a new thread each).
        for run in 0..4 {
            side_by_side(&saver, &format!("alone{run}"), 1, 30).await;
        }
        let group = saver.direct.as_ref().unwrap().group().unwrap();
        assert_eq!(group.counts(), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_group_commit_runs_store_one_transaction_each() {
        let options = SqliteOptions::default().group_commit(false);
        let (saver, _path) = database("off", options).await;
        side_by_side(&saver, "run", 8, 20).await;
        assert!(saver.direct.as_ref().unwrap().group().is_none());
    }

    #[tokio::test]
    async fn the_thread_stops_with_the_saver() {
        let (saver, path) = database("stop", SqliteOptions::default()).await;
        side_by_side(&saver, "run", 4, 10).await;
        let group = saver.direct.as_ref().unwrap().group().unwrap();
        assert!(group.counts().1 > 0, "the thread ran");
        let shared = Arc::downgrade(&group.shared);
        drop(saver);
        // The thread holds the queue until it has stopped.
        let t = Instant::now();
        while shared.upgrade().is_some() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the thread still runs"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
