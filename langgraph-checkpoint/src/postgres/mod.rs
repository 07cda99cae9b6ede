//! `PostgresSaver`: checkpoints in PostgreSQL, for services where many processes share threads.
//!
//! The layout follows the SQLite saver (a checkpoint row carries the values of the channels
//! that changed in it, as `jsonb`), plus a head table: PostgreSQL runs `READ COMMITTED`, so the
//! "is my expected head still the newest?" check must be a compare-and-set on a row that
//! concurrent writers lock, not a `max()` over a snapshot. Each write is a single statement
//! (data-modifying CTEs): one round trip, one transaction, one commit.

mod read;
mod schema;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Row};

use crate::error::CheckpointError;
use crate::model::{CheckpointTuple, Fence, Head, ListOptions, PutCheckpoint, PutWrites};
use crate::saver::Checkpointer;
use crate::stats::StorageStats;

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
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            schema: None,
            synchronous_commit_off: false,
            acquire_timeout: Duration::from_secs(30),
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
}

pub(crate) fn backend(op: &'static str) -> impl FnOnce(sqlx::Error) -> CheckpointError {
    move |e| CheckpointError::backend(op, e)
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

    /// Connects to `url` with `options`.
    pub async fn connect_with(
        url: &str,
        options: PostgresOptions,
    ) -> Result<Self, CheckpointError> {
        let connect: PgConnectOptions = url.parse().map_err(backend("connect"))?;
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
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
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
        Ok(Self { pool })
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

/// Moves the thread's epoch from `seen_epoch` to `seen_epoch + 1` (creating the thread row at
/// `1` if there is none); false if another writer moved it first.
async fn bump_epoch(
    conn: &mut sqlx::PgConnection,
    thread_id: &str,
    seen_epoch: i64,
) -> Result<bool, CheckpointError> {
    let r = sqlx::query(
        "INSERT INTO lg_threads (thread_id, epoch) VALUES ($1, $2) \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = EXCLUDED.epoch \
         WHERE lg_threads.epoch = $3",
    )
    .bind(thread_id)
    .bind(seen_epoch + 1)
    .bind(seen_epoch)
    .execute(conn)
    .await
    .map_err(backend("claim"))?;
    Ok(r.rows_affected() == 1)
}

/// Inserts the checkpoint and its parent's writes and moves the head, if the writer holds the
/// thread's epoch and the head is still the expected one; false otherwise.
async fn insert_checkpoint(
    conn: &mut sqlx::PgConnection,
    put: &PutCheckpoint,
    blobs: String,
) -> Result<bool, CheckpointError> {
    let sql = format!(
        "WITH {fence}, {head}, cp AS (\
           INSERT INTO lg_checkpoints \
           (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
           SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb WHERE EXISTS (SELECT 1 FROM head) \
           RETURNING 1), \
         w AS (\
           INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
           SELECT $1, $2, $4, j ->> 'task_id', j ->> 'channel', j ->> 'task_name', j -> 'value' \
           FROM jsonb_array_elements($10::jsonb) AS j \
           WHERE $4 IS NOT NULL AND EXISTS (SELECT 1 FROM cp) \
           ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
           DO UPDATE SET value = EXCLUDED.value, task_name = EXCLUDED.task_name) \
         SELECT count(*) FROM cp",
        fence = fence_cte(false, "$1", "$8"),
        head = head_cte(put.expected_head.is_none()),
    );
    let inserted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&put.thread_id)
        .bind(&put.ns)
        .bind(&put.checkpoint.id)
        .bind(&put.parent_id)
        .bind(to_json("a checkpoint", &put.checkpoint)?)
        .bind(to_json("checkpoint metadata", &put.metadata)?)
        .bind(blobs)
        .bind(put.fence.epoch)
        .bind(put.expected_head.clone().unwrap_or_default())
        .bind(to_json("pending writes", &put.parent_writes)?)
        .fetch_one(conn)
        .await
        .map_err(backend("put"))?;
    Ok(inserted == 1)
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

/// The fence: with a claim, bump the epoch from `$e - 1` to `$e`; otherwise lock the thread
/// row and require epoch `$e`. Yields one row when the writer may write.
fn fence_cte(claim: bool, thread: &str, epoch: &str) -> String {
    if claim {
        format!(
            "fence AS (INSERT INTO lg_threads (thread_id, epoch) VALUES ({thread}, {epoch}) \
             ON CONFLICT (thread_id) DO UPDATE SET epoch = EXCLUDED.epoch \
             WHERE lg_threads.epoch = {epoch} - 1 RETURNING 1)"
        )
    } else {
        format!(
            "fence AS (SELECT 1 FROM lg_threads WHERE thread_id = {thread} AND epoch = {epoch} FOR UPDATE)"
        )
    }
}

/// Moves the namespace's head from `$expected` to `$new` if it is still `$expected`.
fn head_cte(expected_is_null: bool) -> &'static str {
    if expected_is_null {
        "head AS (INSERT INTO lg_heads (thread_id, ns, checkpoint_id) \
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM fence) \
         ON CONFLICT (thread_id, ns) DO NOTHING RETURNING 1)"
    } else {
        "head AS (UPDATE lg_heads SET checkpoint_id = $3 \
         WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $9 AND EXISTS (SELECT 1 FROM fence) \
         RETURNING 1)"
    }
}

#[async_trait::async_trait]
impl Checkpointer for PostgresSaver {
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
        let mut conn = self.pool.acquire().await.map_err(backend("claim"))?;
        if bump_epoch(&mut conn, thread_id, seen_epoch).await? {
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
        // A claiming write bumps the epoch and checks the head in one transaction: bumping
        // in the same statement as the head check would keep the bump (data-modifying CTEs
        // always run) when the head check fails, and fence out the run that still owns the
        // thread. The bump locks the thread row, so the head check that follows (a fresh
        // snapshot) sees every committed write. Other writes are one statement.
        let blobs = serde_json::Value::Object(blobs).to_string();
        let stored = if put.fence.claim {
            let mut tx = self.pool.begin().await.map_err(backend("put"))?;
            let stored = bump_epoch(&mut tx, &put.thread_id, put.fence.epoch - 1).await?
                && insert_checkpoint(&mut tx, &put, blobs).await?;
            if stored {
                tx.commit().await.map_err(backend("put"))?;
            } else {
                tx.rollback().await.map_err(backend("put"))?;
            }
            stored
        } else {
            let mut conn = self.pool.acquire().await.map_err(backend("put"))?;
            insert_checkpoint(&mut conn, &put, blobs).await?
        };
        if stored {
            Ok(())
        } else {
            Err(conflict(
                &put.thread_id,
                format!(
                    "checkpoint {} was not stored: another run wrote the thread (expected head {:?}, epoch {})",
                    put.checkpoint.id, put.expected_head, put.fence.epoch
                ),
            ))
        }
    }

    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        if w.writes.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "WITH {fence}, w AS (\
               INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
               SELECT $3, $4, $5, j ->> 'task_id', j ->> 'channel', j ->> 'task_name', j -> 'value' \
               FROM jsonb_array_elements($6::jsonb) AS j WHERE EXISTS (SELECT 1 FROM fence) \
               ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
               DO UPDATE SET value = EXCLUDED.value, task_name = EXCLUDED.task_name \
               RETURNING 1) \
             SELECT count(*) FROM w",
            fence = fence_cte(w.fence.claim, "$1", "$2"),
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&w.thread_id)
            .bind(w.fence.epoch)
            .bind(&w.thread_id)
            .bind(&w.ns)
            .bind(&w.checkpoint_id)
            .bind(to_json("pending writes", &w.writes)?)
            .fetch_one(&self.pool)
            .await
            .map_err(backend("put_writes"))?;
        if n as usize == w.writes.len() {
            Ok(())
        } else {
            Err(conflict(&w.thread_id, "the writer's epoch is stale"))
        }
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        sqlx::query(
            "WITH a AS (DELETE FROM lg_writes WHERE thread_id = $1), \
                  b AS (DELETE FROM lg_checkpoints WHERE thread_id = $1), \
                  c AS (DELETE FROM lg_heads WHERE thread_id = $1) \
             DELETE FROM lg_threads WHERE thread_id = $1",
        )
        .bind(thread_id)
        .execute(&self.pool)
        .await
        .map_err(backend("delete_thread"))?;
        Ok(())
    }
}
