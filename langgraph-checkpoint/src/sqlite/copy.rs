//! Copying a thread in one `BEGIN IMMEDIATE` transaction.

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::backend;
use super::write::in_transaction;
use crate::error::CheckpointError;

/// Copies every row of thread `from` to thread `to`, which must have no checkpoints.
pub(super) async fn copy_thread(
    pool: &SqlitePool,
    from: &str,
    to: &str,
) -> Result<(), CheckpointError> {
    in_transaction(pool, "copy_thread", async |conn| {
        Ok(((), copy_in(conn, from, to).await?))
    })
    .await
}

/// Copies inside the open transaction; false when there is nothing to copy.
async fn copy_in(
    conn: &mut SqliteConnection,
    from: &str,
    to: &str,
) -> Result<bool, CheckpointError> {
    let exists = |thread: &str| {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM lg_checkpoints WHERE thread_id = ?1)",
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
    for sql in [
        "INSERT INTO lg_checkpoints \
         (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
         SELECT ?2, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs \
         FROM lg_checkpoints WHERE thread_id = ?1",
        // In stored order: a checkpoint's writes are read back in rowid order.
        "INSERT INTO lg_writes \
         (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
         SELECT ?2, ns, checkpoint_id, task_id, channel, task_name, value \
         FROM lg_writes WHERE thread_id = ?1 ORDER BY rowid",
    ] {
        sqlx::query(sql)
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await
            .map_err(backend("copy_thread"))?;
    }
    Ok(true)
}
