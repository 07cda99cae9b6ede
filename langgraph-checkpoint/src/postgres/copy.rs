//! Copying a thread in one transaction.

use sqlx::postgres::{PgConnection, PgPool};

use super::backend;
use super::write::in_transaction;
use crate::error::CheckpointError;

/// Copies every row of thread `from` to thread `to`, which must have no checkpoints.
pub(super) async fn copy_thread(
    pool: &PgPool,
    from: &str,
    to: &str,
) -> Result<(), CheckpointError> {
    in_transaction(pool, "copy_thread", async |conn| {
        Ok(((), copy_in(conn, from, to).await?))
    })
    .await
}

/// Copies inside the open transaction; false when there is nothing to copy.
async fn copy_in(conn: &mut PgConnection, from: &str, to: &str) -> Result<bool, CheckpointError> {
    // The target's thread row (made if missing) orders this with other copies to it and with
    // runs claiming it; every statement after it sees what they committed.
    sqlx::query(
        "INSERT INTO lg_threads (thread_id, epoch) VALUES ($1, 0) \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = lg_threads.epoch",
    )
    .bind(to)
    .execute(&mut *conn)
    .await
    .map_err(backend("copy_thread"))?;
    let exists = |thread: &str| {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM lg_checkpoints WHERE thread_id = $1)",
        )
        .bind(thread.to_string())
    };
    if !exists(from)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend("copy_thread"))?
    {
        return Ok(false);
    }
    if exists(to)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend("copy_thread"))?
    {
        return Err(CheckpointError::conflict(
            to,
            "the thread to copy to already has checkpoints",
        ));
    }
    // One statement: the three tables from one snapshot of `from`.
    sqlx::query(
        "WITH c AS (INSERT INTO lg_checkpoints \
           (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
           SELECT $2, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs \
           FROM lg_checkpoints WHERE thread_id = $1), \
         h AS (INSERT INTO lg_heads (thread_id, ns, checkpoint_id) \
           SELECT $2, ns, checkpoint_id FROM lg_heads WHERE thread_id = $1) \
         INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
         SELECT $2, ns, checkpoint_id, task_id, channel, task_name, value \
         FROM lg_writes WHERE thread_id = $1 ORDER BY seq",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await
    .map_err(backend("copy_thread"))?;
    Ok(true)
}
