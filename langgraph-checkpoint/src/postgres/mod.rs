//! `PostgresSaver`: checkpoints in PostgreSQL, for services where many processes share threads.
//!
//! The layout follows the SQLite saver (a checkpoint row carries the values of the channels
//! that changed in it, as `jsonb`), plus a head table: PostgreSQL runs `READ COMMITTED`, so the
//! "is my expected head still the newest?" check must be a compare-and-set on a row that
//! concurrent writers lock, not a `max()` over a snapshot. Each write is a single statement
//! (data-modifying CTEs): one round trip, one transaction, one commit.

mod batch;
mod copy;
mod prune;
mod read;
mod schema;
mod threads;
mod write;

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Row};

use crate::error::CheckpointError;
use crate::model::{CheckpointTuple, Fence, Head, ListOptions, PutCheckpoint, PutWrites, SaveOp};
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::shared_str::SharedStr;
use crate::spin::Spin;
use crate::stats::StorageStats;
use crate::threads::{ThreadInfo, ThreadQuery};
use crate::value_cache::ValueCache;

/// Options of [`PostgresSaver::connect_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Pool size.
    pub max_connections: u32,
    /// A schema to create (if missing) and use for the tables; `None` uses the connection's
    /// default `search_path`. Tests use one schema each so they can run in parallel.
    pub schema: Option<String>,
    /// `synchronous_commit = off` for this saver's sessions: commits do not wait for the WAL
    /// flush (a server crash may lose the last commits; a client crash loses nothing).
    pub synchronous_commit_off: bool,
    /// How long to wait for a connection from the pool.
    pub acquire_timeout: Duration,
    /// The most a caller polls a statement in flight before it parks its thread (a statement
    /// on a local server is often back before a parked thread would be woken). The saver
    /// polls for twice the recent statements' average within this cap, and not at all while
    /// they take longer than the cap (a remote or busy server). Polling yields to the
    /// runtime's other tasks between polls, and no more callers poll at once than the process
    /// has cores. Zero always parks.
    pub spin: Duration,
    /// How many bytes of long lists (64 items or more) the saver keeps in memory, the last
    /// full value of each it wrote or read, so that reading a long thread's head does not
    /// walk the list's deltas (about 64 MiB by default, at most 256 lists; 0 keeps none).
    pub value_cache_bytes: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            schema: None,
            synchronous_commit_off: false,
            acquire_timeout: Duration::from_secs(30),
            spin: Duration::from_millis(2),
            value_cache_bytes: crate::value_cache::MAX_BYTES,
        }
    }
}

impl PostgresOptions {
    /// Sets the pool size (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }
    /// Uses (and creates) schema `name`.
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = Some(name.into());
        self
    }
    /// Turns `synchronous_commit` off for this saver's sessions.
    pub fn synchronous_commit_off(mut self, off: bool) -> Self {
        self.synchronous_commit_off = off;
        self
    }
    /// Sets how long to wait for a pooled connection.
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }
    /// Sets the most a caller polls a statement in flight before parking.
    pub fn spin(mut self, d: Duration) -> Self {
        self.spin = d;
        self
    }
    /// Sets how many bytes of long lists the saver keeps in memory (0: none).
    ///
    /// ```
    /// use langgraph_checkpoint::PostgresOptions;
    /// let opts = PostgresOptions::default().value_cache_bytes(1 << 20);
    /// assert_eq!(opts.value_cache_bytes, 1 << 20);
    /// ```
    pub fn value_cache_bytes(mut self, bytes: usize) -> Self {
        self.value_cache_bytes = bytes;
        self
    }
}

/// Checkpoints in PostgreSQL.
///
/// ```no_run
/// # async fn demo() -> Result<(), langgraph_checkpoint::CheckpointError> {
/// use langgraph_checkpoint::PostgresSaver;
/// let saver = PostgresSaver::connect("postgres://postgres@127.0.0.1/test").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresSaver {
    pool: PgPool,
    spin: Arc<Spin>,
    /// Long lists this process wrote or read, so that a read of a long thread's head stops
    /// its delta chains early (see `crate::value_cache`).
    cache: Arc<ValueCache>,
}

pub(crate) fn backend(op: &'static str) -> impl FnOnce(sqlx::Error) -> CheckpointError {
    move |e| CheckpointError::backend(op, e)
}

/// Turns an error of a transaction that PostgreSQL rolled back because it raced another one on
/// the same rows (a deadlock, a serialization failure) into a conflict on `thread_id`: the
/// transaction stored nothing, as a fenced-out write.
pub(crate) fn raced(thread_id: &str) -> impl FnOnce(CheckpointError) -> CheckpointError + '_ {
    move |e| {
        if is_race(&e) {
            CheckpointError::conflict(thread_id, e.to_string())
        } else {
            e
        }
    }
}

fn is_race(e: &CheckpointError) -> bool {
    let CheckpointError::Backend { source, .. } = e else {
        return false;
    };
    let Some(sqlx::Error::Database(db)) = source.downcast_ref::<sqlx::Error>() else {
        return false;
    };
    // deadlock_detected, serialization_failure
    matches!(db.code().as_deref(), Some("40P01" | "40001"))
}

/// The thread of a batch's first op (a shared string: no allocation on the write path).
fn batch_thread(ops: &[SaveOp]) -> SharedStr {
    match ops.first() {
        Some(SaveOp::Checkpoint(p)) => p.thread_id.clone(),
        Some(SaveOp::Writes(w)) => w.thread_id.clone(),
        None => SharedStr::from(""),
    }
}

fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

impl PostgresSaver {
    /// Connects to `url` and creates the tables if needed.
    pub async fn connect(url: &str) -> Result<Self, CheckpointError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with `options`. The saver's sessions run with `jit = off`: its
    /// statements are lookups by key, and PostgreSQL's JIT compiling of a recursive read
    /// whose estimated cost passes `jit_above_cost` took far longer than the read.
    pub async fn connect_with(
        url: &str,
        options: PostgresOptions,
    ) -> Result<Self, CheckpointError> {
        let connect: PgConnectOptions = url.parse().map_err(backend("connect"))?;
        // The saver's statements are short lookups by key. PostgreSQL compiles a statement whose
        // estimated cost passes `jit_above_cost`, and the estimates of the recursive chain reads
        // can pass it: the compiling then took 400 ms of a 10 ms read of a page of history.
        let connect = connect.options([("jit", "off")]);
        if let Some(s) = &options.schema
            && !valid_schema(s)
        {
            return Err(CheckpointError::backend(
                "connect",
                format!(
                    "schema name `{s}` must be 1-63 ASCII letters, digits or `_`, not starting with a digit"
                ),
            ));
        }
        if let Some(s) = &options.schema {
            // Create the schema on a short-lived connection before the pool uses it.
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await
                .map_err(backend("connect"))?;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS {s}"
                )))
                .await
                .map_err(backend("create schema"))?;
            admin.close().await;
        }
        let schema = options.schema.clone();
        let sync_off = options.synchronous_commit_off;
        // No ping before each use: it costs a round trip per statement. A connection that
        // broke fails its statement with a typed error (nothing is written) and is dropped.
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(s) = schema {
                        conn.execute(sqlx::AssertSqlSafe(format!("SET search_path TO {s}")))
                            .await?;
                    }
                    if sync_off {
                        conn.execute("SET synchronous_commit = off").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(backend("connect"))?;
        schema::migrate(&pool).await?;
        Ok(Self {
            pool,
            spin: Arc::new(Spin::new(options.spin)),
            cache: Arc::new(ValueCache::new(options.value_cache_bytes)),
        })
    }

    /// The thread's epoch and a checkpoint (the head of `ns` when `checkpoint_id` is
    /// `None`), its chains stopping at the values this process keeps.
    async fn load(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: Option<&str>,
    ) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
        let fetch = |kept: Option<String>| async move {
            let rows = read::load_rows(&self.pool, thread_id, ns, checkpoint_id, kept.as_deref());
            self.spin.run(rows).await
        };
        self.cache.read(thread_id, ns, fetch).await
    }

    /// Tells the value cache what `ops` store (before the write, as for `put`).
    fn keep(&self, ops: &[SaveOp]) {
        for op in ops {
            if let SaveOp::Checkpoint(put) = op {
                self.cache.after_put(put);
            }
        }
    }

    /// Closes every connection of the pool, after the statements in flight (for a graceful
    /// shutdown). Every clone of this saver is closed too: later operations fail with a
    /// backend error.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Rows and bytes stored for a thread (`jsonb` sizes as text).
    pub async fn stats(&self, thread_id: &str) -> Result<StorageStats, CheckpointError> {
        let r = sqlx::query(
            "SELECT count(*)::bigint, \
                    coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0)::bigint, \
                    coalesce(sum(octet_length(blobs::text)), 0)::bigint \
             FROM lg_checkpoints WHERE thread_id = $1",
        )
        .bind(thread_id)
        .fetch_one(&self.pool)
        .await
        .map_err(backend("stats"))?;
        let w = sqlx::query(
            "SELECT count(*)::bigint, coalesce(sum(octet_length(value::text)), 0)::bigint \
             FROM lg_writes WHERE thread_id = $1",
        )
        .bind(thread_id)
        .fetch_one(&self.pool)
        .await
        .map_err(backend("stats"))?;
        let get =
            |row: &sqlx::postgres::PgRow, i: usize| row.try_get::<i64, _>(i).unwrap_or(0) as u64;
        let blob_bytes = get(&r, 2);
        Ok(StorageStats {
            checkpoints: get(&r, 0),
            checkpoint_bytes: get(&r, 1),
            blobs: if blob_bytes > 0 { get(&r, 0) } else { 0 },
            blob_bytes,
            writes: get(&w, 0),
            write_bytes: get(&w, 1),
        })
    }

    /// Deletes every row of every thread (benchmarks; the tables stay).
    pub async fn truncate(&self) -> Result<(), CheckpointError> {
        self.pool
            .execute("TRUNCATE lg_checkpoints, lg_writes, lg_heads, lg_threads")
            .await
            .map_err(backend("truncate"))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Checkpointer for PostgresSaver {
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
        read::list(&self.pool, &self.spin, thread_id, ns, opts).await
    }

    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        self.spin
            .run(write::claim(&self.pool, thread_id, seen_epoch))
            .await
            .map_err(raced(thread_id))
    }

    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        // Before the write takes the checkpoint: a value kept for a version that is then
        // not stored is never asked for (a version names one value forever).
        self.cache.after_put(&put);
        let thread = put.thread_id.clone();
        self.spin
            .run(write::put(&self.pool, put))
            .await
            .map_err(raced(&thread))
    }

    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        let thread = w.thread_id.clone();
        self.spin
            .run(write::put_writes(&self.pool, w))
            .await
            .map_err(raced(&thread))
    }

    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.keep(&ops);
        let thread = batch_thread(&ops);
        self.spin
            .run(batch::put_batch(&self.pool, ops, true))
            .await
            .map_err(raced(&thread))
    }

    /// A batch of several statements (a claim and what goes with it) commits without
    /// waiting for the WAL flush.
    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.keep(&ops);
        let thread = batch_thread(&ops);
        self.spin
            .run(batch::put_batch(&self.pool, ops, false))
            .await
            .map_err(raced(&thread))
    }

    /// Commits a transaction that waits for the WAL flush, which covers every commit
    /// before it.
    async fn sync(&self) -> Result<(), CheckpointError> {
        self.spin
            .run(async {
                sqlx::query("SELECT txid_current()")
                    .execute(&self.pool)
                    .await
                    .map(drop)
                    .map_err(backend("sync"))
            })
            .await
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
