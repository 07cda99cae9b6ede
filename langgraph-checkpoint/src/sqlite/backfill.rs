//! Copying the write-ahead log back into the database off the committing thread, with
//! [`Synchronous::Normal`](super::Synchronous::Normal).
//!
//! SQLite copies the log into the database file once the log holds `wal_autocheckpoint`
//! pages, inside the commit that crossed that threshold. Without an fsync per commit, this
//! checkpoint is the only sync: it writes megabytes of log and pages back and syncs both files,
//! so one commit in a few hundred stalls for milliseconds. The direct connection hands that
//! work to a thread of its own instead. From the threshold on, every quarter threshold of new
//! pages wakes the thread to run a `PASSIVE` checkpoint, which never blocks a writer.
//!
//! SQLite starts the log over only after a checkpoint has copied all of it, which a checkpoint
//! racing a stream of commits seldom manages. So at twice the threshold, the committing
//! connection runs one itself, after waiting for a checkpoint the thread may be running (SQLite
//! refuses a second checkpoint at once, without waiting, so a refused one would let the log
//! grow for as long as the thread's takes). The thread has copied most of the log by then, so
//! little is left, and the log restarts at the next commit. Unless a reader still needs old
//! pages, the log thus stays within twice the threshold, the size that opening preallocates.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

use super::worker::Stopped;

/// How many times the automatic checkpoint's threshold the log may reach.
pub(super) const LOG_LIMIT_FACTOR: u64 = 2;

/// What a commit that left `frames` pages in the log calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Nothing yet.
    Nothing,
    /// Wake the checkpointing thread.
    Wake,
    /// Checkpoint on the committing connection: the log reached its limit.
    Inline,
}

/// Decides what a commit that left `frames` pages in the log calls for, given the threshold
/// and the page count at which the thread is to be woken next (updated).
pub(super) fn plan(frames: i32, threshold: i32, next_wake: &mut i32) -> Action {
    let step = (threshold / 4).max(1);
    if frames < threshold {
        // Below the threshold (the log may have started over).
        *next_wake = threshold;
        Action::Nothing
    } else if i64::from(frames) >= i64::from(threshold) * LOG_LIMIT_FACTOR as i64 {
        *next_wake = threshold;
        Action::Inline
    } else if frames >= *next_wake {
        *next_wake = frames.saturating_add(step);
        Action::Wake
    } else {
        Action::Nothing
    }
}

thread_local! {
    /// The page count of the log after this thread's last commit on a hooked connection.
    static FRAMES: Cell<i32> = const { Cell::new(-1) };
}

/// The log hook: records the log's page count for the committing thread. Installing it also
/// turns SQLite's automatic checkpoint off on that connection.
fn record(_: &Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    FRAMES.with(|f| f.set(pages));
    Ok(())
}

/// The page count recorded by this thread's last commit on a hooked connection, once.
fn take_frames() -> Option<i32> {
    let frames = FRAMES.with(|f| f.replace(-1));
    (frames >= 0).then_some(frames)
}

/// The checkpointing thread of one database, started at its first wake-up.
pub(super) struct Backfill {
    path: PathBuf,
    threshold: i32,
    next_wake: AtomicI32,
    wake: Mutex<Option<Sender<()>>>,
    /// The thread, for closing to wait for.
    stopped: Stopped,
    /// The saver is closed: no thread is started any more.
    closed: AtomicBool,
    /// Checkpoints the thread ran.
    runs: Arc<AtomicU64>,
    /// Held by whoever of this saver checkpoints: the thread, or a commit at the limit.
    gate: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Backfill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backfill")
            .field("threshold", &self.threshold)
            .field("runs", &self.runs.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Backfill {
    /// Hooks `conn` (the database at `path`) to checkpoint off its thread, if SQLite's
    /// automatic checkpoint is on for it. `None`: it is off, and stays so.
    pub(super) fn install(conn: &Connection, path: &Path) -> rusqlite::Result<Option<Self>> {
        let threshold: i32 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
        if threshold <= 0 {
            return Ok(None);
        }
        conn.wal_hook(Some(record));
        Ok(Some(Self {
            path: path.to_path_buf(),
            threshold,
            next_wake: AtomicI32::new(threshold),
            wake: Mutex::new(None),
            stopped: Stopped::default(),
            closed: AtomicBool::new(false),
            runs: Arc::default(),
            gate: Arc::default(),
        }))
    }

    /// After a statement on the hooked connection `conn`: if it committed, acts on the log's
    /// size. A failed checkpoint is left for the next commit, as SQLite's automatic one is.
    pub(super) fn after(&self, conn: &Connection) {
        let Some(frames) = take_frames() else {
            return;
        };
        let mut next = self.next_wake.load(Ordering::Relaxed);
        let action = plan(frames, self.threshold, &mut next);
        self.next_wake.store(next, Ordering::Relaxed);
        match action {
            Action::Nothing => {}
            Action::Wake => self.wake(),
            Action::Inline => {
                let _turn = take_turn(&self.gate);
                let _ = checkpoint(conn);
            }
        }
    }

    /// Wakes the thread, starting it if it is not running.
    fn wake(&self) {
        let Ok(mut slot) = self.wake.lock() else {
            return;
        };
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        if let Some(tx) = slot.as_ref()
            && tx.send(()).is_ok()
        {
            return;
        }
        let (tx, rx) = channel();
        let (path, runs, gate) = (self.path.clone(), self.runs.clone(), self.gate.clone());
        let started = self.stopped.spawn("lg-sqlite-checkpoint", move || {
            run(&path, &rx, &runs, &gate)
        });
        if started.is_ok() && tx.send(()).is_ok() {
            *slot = Some(tx);
        } else {
            *slot = None;
        }
    }

    /// Stops the thread (after the checkpoint it may be running) and waits for it; no thread
    /// starts after this.
    pub(super) async fn close(&self) {
        if let Ok(mut slot) = self.wake.lock() {
            self.closed.store(true, Ordering::Relaxed);
            // Dropping the sender ends the thread's loop.
            slot.take();
        }
        self.stopped.wait().await;
    }

    /// No thread runs, and none will start.
    #[cfg(test)]
    pub(super) fn is_stopped(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
            && self.wake.lock().is_ok_and(|w| w.is_none())
            && self.stopped.is_waited()
    }

    /// Checkpoints the thread has run.
    #[cfg(test)]
    pub(super) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}

/// Waits for the checkpoint another thread of this saver may be running. A thread that
/// panicked while holding the gate left nothing to repair: the gate guards no data.
fn take_turn(gate: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    gate.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `PASSIVE` checkpoint: copies what no reader still needs, without waiting for anyone.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The thread: one checkpoint per batch of wake-ups, until the saver is gone (the sender
/// dropped) or the database cannot be opened.
fn run(path: &Path, wake: &Receiver<()>, runs: &AtomicU64, gate: &Mutex<()>) {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return;
    };
    // The checkpoint syncs the log before it overwrites pages, and the database after.
    if conn.pragma_update(None, "synchronous", "NORMAL").is_err() {
        return;
    }
    while wake.recv().is_ok() {
        while wake.try_recv().is_ok() {}
        let _turn = take_turn(gate);
        if checkpoint(&conn).is_ok() {
            runs.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn wakes_every_quarter_threshold_and_checkpoints_inline_at_twice_it() {
        let mut next = 1000;
        let actions: Vec<(i32, Action)> = [10, 999, 1000, 1001, 1249, 1250, 1600, 1700, 1999]
            .into_iter()
            .map(|f| (f, plan(f, 1000, &mut next)))
            .collect();
        use Action::*;
        assert_eq!(
            actions,
            [
                (10, Nothing),
                (999, Nothing),
                (1000, Wake),
                (1001, Nothing),
                (1249, Nothing),
                (1250, Wake),
                (1600, Wake),
                (1700, Nothing),
                (1999, Wake)
            ]
        );
        assert_eq!(plan(2000, 1000, &mut next), Inline);
        // Refused (a checkpoint was running): the next commit tries again.
        assert_eq!(plan(2003, 1000, &mut next), Inline);
        // The log started over.
        assert_eq!(plan(3, 1000, &mut next), Nothing);
        assert_eq!(plan(1000, 1000, &mut next), Wake);
        // A tiny threshold still steps forward.
        let mut next = 2;
        assert_eq!(plan(2, 2, &mut next), Wake);
        assert_eq!(plan(2, 2, &mut next), Nothing);
        assert_eq!(plan(3, 2, &mut next), Wake);
        assert_eq!(plan(4, 2, &mut next), Inline);
    }

    /// A new database in WAL mode with one table `t (v)`, at `path`.
    fn database(name: &str) -> (Connection, PathBuf) {
        let dir = std::env::temp_dir().join(format!("lg-backfill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.sqlite"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (v)").unwrap();
        (conn, path)
    }

    /// The log at its limit while the thread checkpoints: the committing connection waits for
    /// it instead of being refused, then copies the rest, and the log starts over.
    #[test]
    fn a_commit_at_the_limit_waits_for_the_threads_checkpoint() {
        let (conn, path) = database("limit");
        // A limit of 4 pages, which one commit of a 16 KiB value passes: no wake-up first.
        conn.pragma_update(None, "wal_autocheckpoint", 2).unwrap();
        let backfill = Arc::new(Backfill::install(&conn, &path).unwrap().unwrap());
        let insert = |conn: &Connection| {
            conn.execute("INSERT INTO t VALUES (zeroblob(16384))", [])
                .unwrap();
        };
        // The thread's checkpoint, running.
        let running = backfill.gate.lock().unwrap();
        let b = backfill.clone();
        let committer = std::thread::spawn(move || {
            insert(&conn);
            let frames = FRAMES.with(Cell::get);
            b.after(&conn);
            (conn, frames)
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!committer.is_finished(), "the commit did not wait");
        drop(running);
        let (conn, frames) = committer.join().unwrap();
        assert!(frames >= 4, "{frames}");
        // Everything was copied: the next commit starts the log over.
        insert(&conn);
        let after = take_frames().unwrap();
        assert!(after < frames, "{after} pages after {frames}");
        assert_eq!(backfill.runs(), 0, "no thread was started");
    }

    #[test]
    fn the_hook_reports_each_commit_once() {
        let (conn, path) = database("hook");
        let backfill = Backfill::install(&conn, &path).unwrap().unwrap();
        assert_eq!(backfill.threshold, 1000);
        assert_eq!(take_frames(), None);
        conn.execute("INSERT INTO t VALUES ('a')", []).unwrap();
        let first = take_frames().unwrap();
        assert!(first >= 1, "{first}");
        assert_eq!(take_frames(), None);
        // A read commits nothing.
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(take_frames(), None);
        conn.execute("INSERT INTO t VALUES ('b')", []).unwrap();
        assert!(take_frames().unwrap() > first);
        // With the automatic checkpoint off, there is nothing to hook.
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        assert!(Backfill::install(&conn, &path).unwrap().is_none());
    }
}
