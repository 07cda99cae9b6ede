//! Writes: claims, checkpoints and pending writes, each fenced by the thread's epoch.

use sqlx::postgres::PgPool;

use super::backend;
use crate::encode::{blobs_json, put_conflict, to_json, writes_conflict};
use crate::error::CheckpointError;
use crate::model::{Fence, PutCheckpoint, PutWrites};

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
        fence = fence_cte(FenceSql::Check, "$1", "$8"),
        head = head_cte(put.expected_head.is_none()),
    );
    let inserted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(put.thread_id.as_str())
        .bind(&put.ns)
        .bind(put.checkpoint.id.as_str())
        .bind(put.parent_id.as_deref())
        .bind(to_json("a checkpoint", &put.checkpoint)?)
        .bind(to_json("checkpoint metadata", &put.metadata)?)
        .bind(blobs)
        .bind(put.fence.epoch)
        .bind(put.expected_head.as_deref().unwrap_or_default())
        .bind(to_json("pending writes", &put.parent_writes)?)
        .fetch_one(conn)
        .await
        .map_err(backend("put"))?;
    Ok(inserted == 1)
}

/// How a statement checks the writer's fence.
#[derive(Clone, Copy)]
enum FenceSql {
    /// Bump the epoch from `$e - 1` to `$e`.
    Claim,
    /// Require epoch `$e` and lock the thread row until commit (writes that move no head).
    Lock,
    /// Require epoch `$e` (checkpoints: the head's compare-and-set orders them; a claim that
    /// commits first moves the head, and this write then fails its head check).
    Check,
}

/// The fence CTE: yields one row when the writer may write.
fn fence_cte(kind: FenceSql, thread: &str, epoch: &str) -> String {
    match kind {
        FenceSql::Claim => format!(
            "fence AS (INSERT INTO lg_threads (thread_id, epoch) VALUES ({thread}, {epoch}) \
             ON CONFLICT (thread_id) DO UPDATE SET epoch = EXCLUDED.epoch \
             WHERE lg_threads.epoch = {epoch} - 1 RETURNING 1)"
        ),
        FenceSql::Lock => format!(
            "fence AS (SELECT 1 FROM lg_threads WHERE thread_id = {thread} AND epoch = {epoch} FOR UPDATE)"
        ),
        FenceSql::Check => format!(
            "fence AS (SELECT 1 FROM lg_threads WHERE thread_id = {thread} AND epoch = {epoch})"
        ),
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

pub(super) async fn claim(
    pool: &PgPool,
    thread_id: &str,
    seen_epoch: i64,
) -> Result<Fence, CheckpointError> {
    let mut conn = pool.acquire().await.map_err(backend("claim"))?;
    if bump_epoch(&mut conn, thread_id, seen_epoch).await? {
        Ok(Fence {
            epoch: seen_epoch + 1,
            claim: false,
        })
    } else {
        Err(CheckpointError::conflict(
            thread_id,
            "another run claimed the thread first",
        ))
    }
}

/// Stores a checkpoint on `conn`; false if its fence or head check failed. A claiming write
/// must run in a transaction: bumping in the same statement as the head check would keep the
/// bump (data-modifying CTEs always run) when the head check fails, and fence out the run
/// that still owns the thread. The bump locks the thread row, so the head check that follows
/// (a fresh snapshot) sees every committed write.
pub(super) async fn store_checkpoint(
    conn: &mut sqlx::PgConnection,
    put: &PutCheckpoint,
) -> Result<bool, CheckpointError> {
    let blobs = blobs_json(&put.blobs)?;
    if put.fence.claim && !bump_epoch(conn, &put.thread_id, put.fence.epoch - 1).await? {
        return Ok(false);
    }
    insert_checkpoint(conn, put, blobs).await
}

/// Stores pending writes on `conn`; false if the writer's fence failed.
pub(super) async fn store_writes(
    conn: &mut sqlx::PgConnection,
    w: &PutWrites,
) -> Result<bool, CheckpointError> {
    if w.writes.is_empty() {
        return Ok(true);
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
        fence = fence_cte(
            if w.fence.claim {
                FenceSql::Claim
            } else {
                FenceSql::Lock
            },
            "$1",
            "$2"
        ),
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(w.thread_id.as_str())
        .bind(w.fence.epoch)
        .bind(w.thread_id.as_str())
        .bind(&w.ns)
        .bind(w.checkpoint_id.as_str())
        .bind(to_json("pending writes", &w.writes)?)
        .fetch_one(conn)
        .await
        .map_err(backend("put_writes"))?;
    Ok(n as usize == w.writes.len())
}

pub(super) async fn put(pool: &PgPool, put: PutCheckpoint) -> Result<(), CheckpointError> {
    // A claim and its checkpoint are one transaction; other writes are one statement.
    let stored = if put.fence.claim {
        let mut tx = pool.begin().await.map_err(backend("put"))?;
        let stored = store_checkpoint(&mut tx, &put).await?;
        if stored {
            tx.commit().await.map_err(backend("put"))?;
        } else {
            tx.rollback().await.map_err(backend("put"))?;
        }
        stored
    } else {
        let mut conn = pool.acquire().await.map_err(backend("put"))?;
        store_checkpoint(&mut conn, &put).await?
    };
    if stored {
        Ok(())
    } else {
        Err(put_conflict(&put))
    }
}

pub(super) async fn put_writes(pool: &PgPool, w: PutWrites) -> Result<(), CheckpointError> {
    let mut conn = pool.acquire().await.map_err(backend("put_writes"))?;
    if store_writes(&mut conn, &w).await? {
        Ok(())
    } else {
        Err(writes_conflict(&w))
    }
}

/// Runs `body` in a transaction: committed when it returns `(_, true)`, rolled back when it
/// returns `(_, false)` or fails. A failed body is rolled back at once: a dropped transaction
/// is only rolled back when its connection is next used, and keeps its row locks until then.
pub(super) async fn in_transaction<T>(
    pool: &PgPool,
    op: &'static str,
    body: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<(T, bool), CheckpointError>,
) -> Result<T, CheckpointError> {
    let mut tx = pool.begin().await.map_err(backend(op))?;
    match body(&mut tx).await {
        Ok((out, true)) => {
            tx.commit().await.map_err(backend(op))?;
            Ok(out)
        }
        Ok((out, false)) => {
            let _ = tx.rollback().await;
            Ok(out)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

pub(super) async fn delete_thread(pool: &PgPool, thread_id: &str) -> Result<(), CheckpointError> {
    sqlx::query(
        "WITH a AS (DELETE FROM lg_writes WHERE thread_id = $1), \
              b AS (DELETE FROM lg_checkpoints WHERE thread_id = $1), \
              c AS (DELETE FROM lg_heads WHERE thread_id = $1) \
         DELETE FROM lg_threads WHERE thread_id = $1",
    )
    .bind(thread_id)
    .execute(pool)
    .await
    .map_err(backend("delete_thread"))?;
    Ok(())
}
