//! `SqliteSaver`: the embedded default. One file, no server, WAL journal.
//!
//! Storage layout (see `schema.rs`): a thread row holds the fencing epoch; a checkpoint row
//! holds the checkpoint, its metadata and the values of the channels that changed in it
//! (`blobs`, a JSON object by channel). A channel's version *is* the id of the checkpoint that
//! changed it, so a value is found by `(thread, ns, version)` and an unchanged channel costs
//! nothing. Appends are stored as deltas that point at their base version.
//!
//! A superstep's checkpoint is one `INSERT … SELECT … WHERE` statement whose condition checks
//! the writer's fence and that the expected head is still the newest checkpoint: one round
//! trip, one commit (one fsync with `synchronous = FULL`).

mod read;
mod schema;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Row};

use crate::error::CheckpointError;
use crate::model::{
    CheckpointTuple, Fence, Head, ListOptions, PendingWrite, PutCheckpoint, PutWrites,
};
use crate::saver::Checkpointer;
use crate::stats::StorageStats;

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
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            max_connections: 4,
            busy_timeout: Duration::from_secs(10),
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
}

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
}

pub(crate) fn backend(op: &'static str) -> impl FnOnce(sqlx::Error) -> CheckpointError {
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
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(connect)
            .await
            .map_err(backend("open"))?;
        Self::from_pool(pool).await
    }

    /// A private in-memory database (one connection), for tests.
    pub async fn in_memory() -> Result<Self, CheckpointError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend("open"))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await
            .map_err(backend("open"))?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (its connect options are the caller's), creating the tables if
    /// needed.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, CheckpointError> {
        schema::migrate(&pool).await?;
        Ok(Self { pool })
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

fn conflict(thread_id: &str, detail: impl Into<String>) -> CheckpointError {
    CheckpointError::Conflict {
        thread_id: thread_id.to_string(),
        detail: detail.into(),
    }
}

fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, CheckpointError> {
    serde_json::to_string(v).map_err(|source| CheckpointError::Serialize {
        what: what.to_string(),
        source,
    })
}

/// The claim statement: bumps the epoch if it is still `fence.epoch - 1`.
const CLAIM: &str = "INSERT INTO lg_threads (thread_id, epoch) VALUES (?1, ?2) \
     ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch WHERE lg_threads.epoch = ?3";

/// Inserts a checkpoint if the writer's epoch is current and its expected head is still the
/// newest checkpoint of the namespace.
const PUT: &str = "INSERT INTO lg_checkpoints \
     (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
     WHERE (SELECT epoch FROM lg_threads WHERE thread_id = ?1) = ?8 \
       AND (SELECT max(checkpoint_id) FROM lg_checkpoints WHERE thread_id = ?1 AND ns = ?2) IS ?9";

/// Upserts writes (a JSON array) if the writer's epoch is current.
const WRITES: &str = "INSERT INTO lg_writes \
     (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
     SELECT ?1, ?2, ?3, j.value ->> '$.task_id', j.value ->> '$.channel', \
            j.value ->> '$.task_name', j.value -> '$.value' \
     FROM json_each(?4) AS j \
     WHERE (SELECT epoch FROM lg_threads WHERE thread_id = ?1) = ?5 \
     ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
     DO UPDATE SET value = excluded.value, task_name = excluded.task_name";

async fn claim_in<'c, E: sqlx::SqliteExecutor<'c>>(
    ex: E,
    thread_id: &str,
    epoch: i64,
) -> Result<bool, CheckpointError> {
    let r = sqlx::query(CLAIM)
        .bind(thread_id)
        .bind(epoch)
        .bind(epoch - 1)
        .execute(ex)
        .await
        .map_err(backend("claim"))?;
    Ok(r.rows_affected() == 1)
}

async fn writes_in<'c, E: sqlx::SqliteExecutor<'c>>(
    ex: E,
    thread_id: &str,
    ns: &str,
    checkpoint_id: &str,
    writes: &[PendingWrite],
    epoch: i64,
) -> Result<bool, CheckpointError> {
    if writes.is_empty() {
        return Ok(true);
    }
    let r = sqlx::query(WRITES)
        .bind(thread_id)
        .bind(ns)
        .bind(checkpoint_id)
        .bind(to_json("pending writes", &writes)?)
        .bind(epoch)
        .execute(ex)
        .await
        .map_err(backend("put_writes"))?;
    Ok(r.rows_affected() as usize == writes.len())
}

#[async_trait::async_trait]
impl Checkpointer for SqliteSaver {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        read::head(&self.pool, thread_id, ns).await
    }

    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        read::tuple(&self.pool, thread_id, ns, checkpoint_id).await
    }

    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        read::list(&self.pool, thread_id, ns, opts).await
    }

    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        if claim_in(&self.pool, thread_id, seen_epoch + 1).await? {
            Ok(Fence {
                epoch: seen_epoch + 1,
                claim: false,
            })
        } else {
            Err(conflict(thread_id, "another run claimed the thread first"))
        }
    }

    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        let mut blobs = serde_json::Map::new();
        for b in &put.blobs {
            let v =
                serde_json::to_value(&b.value).map_err(|source| CheckpointError::Serialize {
                    what: format!("channel `{}`", b.channel),
                    source,
                })?;
            blobs.insert(b.channel.clone(), v);
        }
        let id = put.checkpoint.id.clone();
        let statement = sqlx::query(PUT)
            .bind(put.thread_id.clone())
            .bind(put.ns.clone())
            .bind(id.clone())
            .bind(put.parent_id.clone())
            .bind(to_json("a checkpoint", &put.checkpoint)?)
            .bind(to_json("checkpoint metadata", &put.metadata)?)
            .bind(serde_json::Value::Object(blobs).to_string())
            .bind(put.fence.epoch)
            .bind(put.expected_head.clone());
        let simple = !put.fence.claim && put.parent_writes.is_empty();
        let inserted = if simple {
            // One statement: atomic on its own, one commit.
            statement
                .execute(&self.pool)
                .await
                .map_err(backend("put"))?
                .rows_affected()
        } else {
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(backend("put"))?;
            if put.fence.claim && !claim_in(&mut *tx, &put.thread_id, put.fence.epoch).await? {
                return Err(conflict(
                    &put.thread_id,
                    "another run claimed the thread first",
                ));
            }
            let n = statement
                .execute(&mut *tx)
                .await
                .map_err(backend("put"))?
                .rows_affected();
            if n == 1
                && let Some(parent) = &put.parent_id
                && !writes_in(
                    &mut *tx,
                    &put.thread_id,
                    &put.ns,
                    parent,
                    &put.parent_writes,
                    put.fence.epoch,
                )
                .await?
            {
                return Err(conflict(&put.thread_id, "the writer's epoch is stale"));
            }
            if n == 1 {
                tx.commit().await.map_err(backend("put"))?;
            }
            n
        };
        if inserted == 1 {
            Ok(())
        } else {
            Err(conflict(
                &put.thread_id,
                format!(
                    "checkpoint {id} was not stored: another run wrote the thread (expected head {:?}, epoch {})",
                    put.expected_head, put.fence.epoch
                ),
            ))
        }
    }

    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        let ok = if w.fence.claim {
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(backend("put_writes"))?;
            let ok = claim_in(&mut *tx, &w.thread_id, w.fence.epoch).await?
                && writes_in(
                    &mut *tx,
                    &w.thread_id,
                    &w.ns,
                    &w.checkpoint_id,
                    &w.writes,
                    w.fence.epoch,
                )
                .await?;
            if ok {
                tx.commit().await.map_err(backend("put_writes"))?;
            }
            ok
        } else {
            writes_in(
                &self.pool,
                &w.thread_id,
                &w.ns,
                &w.checkpoint_id,
                &w.writes,
                w.fence.epoch,
            )
            .await?
        };
        if ok {
            Ok(())
        } else {
            Err(conflict(&w.thread_id, "the writer's epoch is stale"))
        }
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        let mut tx = self.pool.begin().await.map_err(backend("delete_thread"))?;
        for sql in [
            "DELETE FROM lg_writes WHERE thread_id = ?1",
            "DELETE FROM lg_checkpoints WHERE thread_id = ?1",
            "DELETE FROM lg_threads WHERE thread_id = ?1",
        ] {
            sqlx::query(sql)
                .bind(thread_id)
                .execute(&mut *tx)
                .await
                .map_err(backend("delete_thread"))?;
        }
        tx.commit().await.map_err(backend("delete_thread"))
    }
}
