//! `SqliteSaver`: the embedded default. One file, no server, WAL journal.
//!
//! Storage layout (see `schema.rs`): a thread row holds the fencing epoch; a checkpoint row
//! holds the checkpoint, its metadata and the values of the channels that changed in it
//! (`blobs`, a JSON object by channel). A channel's version *is* the id of the checkpoint that
//! changed it, so a value is found by `(thread, ns, version)` and an unchanged channel costs
//! nothing. Appends are stored as deltas that point at their base version.
//!
//! A superstep's checkpoint is one `INSERT … SELECT … WHERE` statement whose condition checks
//! the writer's fence and that the expected head is still the newest checkpoint, in one
//! transaction: one commit (one fsync with `synchronous = FULL`). What a graph waits on (head
//! reads, claims, checkpoints, pending writes) runs on the caller's thread through a direct
//! connection when it is free (`direct.rs`); everything else, and everything when the database
//! is locked by another connection, goes through the `sqlx` pool. Runs that store side by
//! side hand their writes to a thread that commits them together (`group.rs`).

mod backfill;
mod batch;
mod copy;
mod direct;
mod group;
mod prune;
mod read;
mod schema;
mod script;
mod threads;
mod wal;
mod worker;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Row};

use crate::assemble;
use crate::error::CheckpointError;
use crate::model::{CheckpointTuple, Fence, Head, ListOptions, PutCheckpoint, PutWrites, SaveOp};
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::spin::Spin;
use crate::stats::StorageStats;
use crate::threads::{ThreadInfo, ThreadQuery};
use crate::value_cache::ValueCache;
use direct::Direct;

/// How much SQLite waits for the disk at each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// An fsync at every commit: nothing committed is lost on power failure (SQLite's default).
    #[default]
    Full,
    /// No fsync per commit in WAL mode (only at WAL checkpoints): a power failure may lose the
    /// last commits, a process crash loses nothing.
    Normal,
}

/// Options of [`SqliteSaver::open_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Durability of each commit.
    pub synchronous: Synchronous,
    /// Connections in the pool (SQLite allows one writer at a time; more connections serve
    /// concurrent reads).
    pub max_connections: u32,
    /// How long a writer waits for the database lock held by another connection or process.
    pub busy_timeout: Duration,
    /// The most a caller polls a statement in flight before it parks its thread (statements
    /// run on the connection's worker thread; a short statement is back before a parked
    /// thread would be woken). The saver polls for twice the recent statements' average
    /// within this cap, and not at all while they take longer; no more callers poll at once
    /// than the process has cores. Zero always parks.
    pub spin: Duration,
    /// Runs head reads, claims, checkpoints and pending writes on the caller's thread through
    /// a second connection whenever it is free, instead of handing each to a pooled
    /// connection's worker thread (on by default). It saves the hand-over, about as long as
    /// the statement itself, but the calling task holds its executor thread while the
    /// statement runs, including the commit's fsync with [`Synchronous::Full`] (unless
    /// [`group_commit`](Self::group_commit) hands it to the saver's thread). Turn it off
    /// where an executor thread must never wait for the disk (a slow disk under a runtime
    /// serving latency-critical tasks). When another connection or process holds the write
    /// lock, the operation goes to the pool, which waits for it.
    pub direct: bool,
    /// Writes the write-ahead log's usual size (about 4 MiB with SQLite's default page size
    /// and checkpoint threshold) as zeros at open, so that commits overwrite blocks that exist
    /// instead of growing the file (on by default). With [`Synchronous::Full`] a growing file
    /// makes each commit's fsync also allocate blocks and journal the new size, which costs
    /// about as much again; with [`Synchronous::Normal`] each commit's write allocates blocks
    /// instead of overwriting them. SQLite deletes the log when the last connection closes,
    /// so without this every process pays it for its first thousand or so pages of commits.
    /// Opening costs one 4 MiB write and fsync (a few milliseconds); 8 MiB with
    /// [`background_checkpoints`](Self::background_checkpoints) in effect.
    pub preallocate_wal: bool,
    /// With [`Synchronous::Normal`] and the direct connection, copies the write-ahead log back
    /// into the database on a thread of the saver's own (started when first needed) instead
    /// of inside the commit that fills the log (on by default). Without an fsync per commit,
    /// that copy is the only sync: it writes back megabytes and syncs both files, so about one
    /// superstep in 350 would stall for milliseconds. The log then grows to twice SQLite's
    /// checkpoint threshold (about 8 MiB) before the committing connection finishes the
    /// copy itself. No effect with [`Synchronous::Full`], where each commit already syncs and
    /// a second thread's syncs would compete with it for the disk.
    pub background_checkpoints: bool,
    /// With the direct connection, runs that store side by side share transactions: a thread
    /// of the saver's own (started when first needed) commits what they queued in one
    /// transaction, one fsync with [`Synchronous::Full`], instead of one each (on by
    /// default). A run storing alone, or runs that follow each other, still commit on their
    /// own thread. A job that fails in a shared transaction is retried alone, so that one
    /// run's error is never another's. On a current-thread runtime a run committing in place
    /// holds the thread until it awaits something else, so runs there take turns (and share)
    /// only if their nodes await.
    pub group_commit: bool,
    /// How many bytes of long lists (64 items or more) the saver keeps in memory, the last
    /// full value of each it wrote or read, so that reading a long thread's head does not
    /// walk the list's deltas (about 64 MiB by default, at most 256 lists; 0 keeps none).
    pub value_cache_bytes: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            max_connections: 4,
            busy_timeout: Duration::from_secs(10),
            spin: DEFAULT_SPIN,
            direct: true,
            preallocate_wal: true,
            background_checkpoints: true,
            group_commit: true,
            value_cache_bytes: crate::value_cache::MAX_BYTES,
        }
    }
}

impl SqliteOptions {
    /// Sets the commit durability.
    pub fn synchronous(mut self, s: Synchronous) -> Self {
        self.synchronous = s;
        self
    }
    /// Sets the pool size (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }
    /// Sets the lock wait.
    pub fn busy_timeout(mut self, d: Duration) -> Self {
        self.busy_timeout = d;
        self
    }
    /// Sets the most a caller polls a statement in flight before parking.
    pub fn spin(mut self, d: Duration) -> Self {
        self.spin = d;
        self
    }
    /// Sets whether the direct connection runs statements on the caller's thread.
    pub fn direct(mut self, on: bool) -> Self {
        self.direct = on;
        self
    }
    /// Sets whether opening preallocates the write-ahead log.
    pub fn preallocate_wal(mut self, on: bool) -> Self {
        self.preallocate_wal = on;
        self
    }
    /// Sets whether, with [`Synchronous::Normal`], the log is checkpointed off the
    /// committing thread.
    pub fn background_checkpoints(mut self, on: bool) -> Self {
        self.background_checkpoints = on;
        self
    }

    /// Sets whether runs that store side by side share transactions.
    pub fn group_commit(mut self, on: bool) -> Self {
        self.group_commit = on;
        self
    }
    /// Sets how many bytes of long lists the saver keeps in memory (0: none).
    ///
    /// ```
    /// use langgraph_checkpoint::SqliteOptions;
    /// let opts = SqliteOptions::default().value_cache_bytes(0);
    /// assert_eq!(opts.value_cache_bytes, 0);
    /// assert_eq!(SqliteOptions::default().value_cache_bytes, 64 << 20);
    /// ```
    pub fn value_cache_bytes(mut self, bytes: usize) -> Self {
        self.value_cache_bytes = bytes;
        self
    }

    /// Whether the log is checkpointed off the committing thread: asked for, and possible.
    fn backfill(&self) -> bool {
        self.background_checkpoints && self.direct && self.synchronous == Synchronous::Normal
    }
}

/// About one statement without an fsync.
const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// Checkpoints in a SQLite file.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use langgraph_checkpoint::{Checkpointer, SqliteSaver};
/// let dir = std::env::temp_dir().join(format!("lg-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let saver = SqliteSaver::open(dir.join("agent.db")).await.unwrap(); // created if missing
/// assert_eq!(saver.head("thread-1", "").await.unwrap().epoch, 0);
/// # std::fs::remove_dir_all(&dir).ok();
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SqliteSaver {
    pool: SqlitePool,
    spin: Arc<Spin>,
    direct: Option<Arc<Direct>>,
    /// Long lists this process wrote or read, so that a read of a long thread's head stops
    /// its delta chains early (see `crate::value_cache`).
    cache: Arc<ValueCache>,
}

/// Wraps a driver's error (`sqlx` or `rusqlite`) as a backend error of operation `op`.
pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(
    op: &'static str,
) -> impl FnOnce(E) -> CheckpointError {
    move |e| CheckpointError::backend(op, e)
}

impl SqliteSaver {
    /// Opens (or creates) the database file at `path` with WAL and `synchronous = FULL`, and
    /// creates the tables if needed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the database file at `path` with `options`.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, CheckpointError> {
        let connect = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(options.busy_timeout)
            .foreign_keys(false);
        // A local file cannot drop its connection: no ping before each use (it would double
        // the round trips to the connection's worker thread), and one connection stays open.
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(1)
            .idle_timeout(None)
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(backend("open"))?;
        let mut saver = Self::from_pool(pool).await?;
        if options.preallocate_wal {
            let limit = if options.backfill() {
                backfill::LOG_LIMIT_FACTOR
            } else {
                1
            };
            wal::preallocate(&saver.pool, path.as_ref(), limit).await?;
        }
        saver.spin = Arc::new(Spin::new(options.spin));
        saver.cache = Arc::new(ValueCache::new(options.value_cache_bytes));
        if options.direct {
            let direct = Direct::open(
                path.as_ref(),
                options.synchronous,
                options.backfill(),
                options.group_commit,
            )?;
            saver.direct = Some(Arc::new(direct));
        }
        Ok(saver)
    }

    /// A private in-memory database (one connection, no direct connection), for tests.
    pub async fn in_memory() -> Result<Self, CheckpointError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend("open"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(backend("open"))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (its connect options are the caller's), creating the tables if
    /// needed. Every statement goes through the pool (no direct connection).
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, CheckpointError> {
        schema::migrate(&pool).await?;
        Ok(Self {
            pool,
            spin: Arc::new(Spin::new(DEFAULT_SPIN)),
            direct: None,
            cache: Arc::default(),
        })
    }

    /// Stores ops in order: through the direct connection if it is free, else the pool.
    /// The ops are serialized once, whichever path stores them.
    /// Stores `ops` in one transaction: on the direct connection if it is free (its commit
    /// skipping the sync unless `synced`), else through the pool.
    async fn save(
        &self,
        op: &'static str,
        ops: &[SaveOp],
        synced: bool,
    ) -> Result<(), CheckpointError> {
        let mut params = script::params(ops)?;
        let stored = 'store: {
            if let Some(d) = &self.direct {
                match d.save(op, ops, params, synced).await {
                    batch::Outcome::Stored(n) => break 'store script::rejected(ops, n),
                    batch::Outcome::Failed(e) => break 'store Err(e),
                    batch::Outcome::Busy(p) => params = p,
                }
            }
            self.spin
                .run(write::save(&self.pool, op, ops, &params))
                .await
        };
        if stored.is_ok() {
            for o in ops {
                if let SaveOp::Checkpoint(put) = o {
                    self.cache.after_put(put);
                }
            }
        }
        stored
    }

    /// The thread's epoch and a checkpoint (the newest of `ns` when `checkpoint_id` is
    /// `None`): through the direct connection if it is free, else the pool.
    async fn load(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
        let fetch = |kept: Option<String>| async move {
            self.load_rows(thread_id, ns, checkpoint_id, kept.as_deref())
                .await
        };
        self.cache.read(thread_id, ns, fetch).await
    }

    /// The rows of a checkpoint read (chains stopping at the `kept` versions): through the
    /// direct connection if it is free, else the pool.
    async fn load_rows(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: Option<&str>,
        kept: Option<&str>,
    ) -> Result<Vec<assemble::Row>, CheckpointError> {
        let direct = self.direct.as_ref();
        if let Some(done) = direct.and_then(|d| d.load_rows(thread_id, ns, checkpoint_id, kept)) {
            return done;
        }
        let rows = read::load_rows(&self.pool, thread_id, ns, checkpoint_id, kept);
        self.spin.run(rows).await
    }

    /// Closes the saver: commits what runs have queued, stops its threads and closes every
    /// connection. When it returns, nothing of the saver holds the database files open, so
    /// they may be moved, deleted or opened by a new saver. Every clone of this saver is
    /// closed too: later operations fail with a backend error.
    ///
    /// Dropping the last clone also closes everything, but the pool's connections close in
    /// the background. A connection that closes after its files were deleted and created
    /// again removes the new write-ahead log, so call this before replacing the files.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use langgraph_checkpoint::{Checkpointer, SqliteSaver};
    /// let dir = std::env::temp_dir().join(format!("lg-doc-close-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let saver = SqliteSaver::open(dir.join("agent.db")).await.unwrap();
    /// saver.close().await;
    /// assert!(saver.head("thread-1", "").await.is_err());
    /// std::fs::remove_dir_all(&dir).unwrap(); // and a new database may take its place
    /// # });
    /// ```
    pub async fn close(&self) {
        if let Some(d) = &self.direct {
            d.close().await;
        }
        self.pool.close().await;
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Rows and bytes stored for a thread.
    pub async fn stats(&self, thread_id: &str) -> Result<StorageStats, CheckpointError> {
        let r = sqlx::query(
            "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0), \
             coalesce(sum(length(blobs)), 0) FROM lg_checkpoints WHERE thread_id = ?1",
        )
        .bind(thread_id)
        .fetch_one(&self.pool)
        .await
        .map_err(backend("stats"))?;
        let w = sqlx::query(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM lg_writes WHERE thread_id = ?1",
        )
        .bind(thread_id)
        .fetch_one(&self.pool)
        .await
        .map_err(backend("stats"))?;
        let get =
            |row: &sqlx::sqlite::SqliteRow, i: usize| row.try_get::<i64, _>(i).unwrap_or(0) as u64;
        let blob_bytes = get(&r, 2);
        Ok(StorageStats {
            checkpoints: get(&r, 0),
            checkpoint_bytes: get(&r, 1),
            // Channel values live in the checkpoint rows: count non-empty blob objects.
            blobs: if blob_bytes > 0 { get(&r, 0) } else { 0 },
            blob_bytes,
            writes: get(&w, 0),
            write_bytes: get(&w, 1),
        })
    }

    /// Moves the WAL into the main file (`PRAGMA wal_checkpoint(TRUNCATE)`).
    pub async fn wal_checkpoint(&self) -> Result<(), CheckpointError> {
        self.pool
            .execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .map_err(backend("wal_checkpoint"))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Checkpointer for SqliteSaver {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        let (epoch, checkpoint) = self.load(thread_id, ns, None).await?;
        Ok(Head { epoch, checkpoint })
    }

    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        Ok(self.load(thread_id, ns, Some(checkpoint_id)).await?.1)
    }

    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        let direct = self.direct.as_deref();
        read::list(&self.pool, direct, &self.spin, thread_id, ns, opts).await
    }

    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        if let Some(done) = self
            .direct
            .as_ref()
            .and_then(|d| d.claim(thread_id, seen_epoch))
        {
            return done;
        }
        self.spin
            .run(write::claim(&self.pool, thread_id, seen_epoch))
            .await
    }

    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        self.save("put", &[SaveOp::Checkpoint(put)], true).await
    }

    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        if w.writes.is_empty() {
            return Ok(());
        }
        self.save("put_writes", &[SaveOp::Writes(w)], true).await
    }

    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.save("put_batch", &script::nonempty(ops), true).await
    }

    /// On the direct connection, the commit skips the sync (with [`Synchronous::Full`]).
    /// Through the pool, when the direct connection is in use, it syncs.
    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.save("put_batch", &script::nonempty(ops), false).await
    }

    /// Syncs the write-ahead log, which holds what [`put_batch_unsynced`] and claims
    /// committed without a sync (with [`Synchronous::Full`]; with `Normal` nothing is synced
    /// per commit, by choice).
    ///
    /// [`put_batch_unsynced`]: Checkpointer::put_batch_unsynced
    async fn sync(&self) -> Result<(), CheckpointError> {
        match &self.direct {
            Some(d) => d.sync(),
            None => Ok(()),
        }
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.cache.forget(thread_id);
        self.spin
            .run(write::delete_thread(&self.pool, thread_id))
            .await
    }

    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        copy::copy_thread(&self.pool, from, to).await
    }

    async fn threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadInfo>, CheckpointError> {
        threads::threads(&self.pool, query).await
    }

    async fn prune(&self, thread_ids: &[&str], strategy: Prune) -> Result<(), CheckpointError> {
        for id in thread_ids {
            match strategy {
                Prune::Delete => write::delete_thread(&self.pool, id).await?,
                Prune::KeepLatest => prune::keep_latest(&self.pool, id).await?,
            }
        }
        Ok(())
    }
}
