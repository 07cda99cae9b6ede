//! Pruning a thread's history in one `BEGIN IMMEDIATE` transaction (the plan and the rewrite
//! are in [`crate::prune`]).

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::write::in_transaction;
use super::{backend, read};
use crate::error::CheckpointError;
use crate::prune_rows::{Row, RowPlan, plan_rows, updated_row};

/// Rows of thread `?1` in namespace `?2` whose id is in the JSON array `?3` (SQLite builds an
/// index of the array for `IN`, so this costs O(n log n), where matching pairs against every
/// row cost O(n²): 5.4 s for a thread of 4,000 checkpoints).
const LISTED: &str =
    "thread_id = ?1 AND ns = ?2 AND checkpoint_id IN (SELECT value FROM json_each(?3))";

/// Prunes `thread_id` to what [`Prune::KeepLatest`](crate::Prune::KeepLatest) keeps.
pub(super) async fn keep_latest(pool: &SqlitePool, thread_id: &str) -> Result<(), CheckpointError> {
    in_transaction(pool, "prune", async |conn| {
        Ok(((), prune_in(conn, thread_id).await?))
    })
    .await
}

/// Deletes and rewrites inside the open transaction; false if nothing is to be deleted.
async fn prune_in(conn: &mut SqliteConnection, thread_id: &str) -> Result<bool, CheckpointError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT ns, checkpoint_id, parent_id, metadata FROM lg_checkpoints WHERE thread_id = ?1",
    )
    .bind(thread_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend("prune"))?;
    let Some(RowPlan { kept, gone }) = plan_rows(thread_id, rows)? else {
        return Ok(false);
    };
    let mut updates = Vec::with_capacity(kept.len());
    for (ns, ids) in &kept.0 {
        for id in ids {
            let (_, tuple) = read::load(&mut *conn, thread_id, ns, Some(id)).await?;
            updates.push((ns, id, updated_row(thread_id, &kept, ns, id, tuple)?));
        }
    }
    for (ns, ids) in gone {
        let ids = serde_json::to_string(&ids).map_err(|e| CheckpointError::backend("prune", e))?;
        for table in ["lg_writes", "lg_checkpoints"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE {LISTED}"
            )))
            .bind(thread_id)
            .bind(&ns)
            .bind(&ids)
            .execute(&mut *conn)
            .await
            .map_err(backend("prune"))?;
        }
    }
    for (ns, id, (checkpoint, parent, blobs)) in updates {
        sqlx::query(
            "UPDATE lg_checkpoints SET checkpoint = ?4, parent_id = ?5, blobs = ?6 \
             WHERE thread_id = ?1 AND ns = ?2 AND checkpoint_id = ?3",
        )
        .bind(thread_id)
        .bind(ns)
        .bind(id)
        .bind(checkpoint)
        .bind(parent)
        .bind(blobs)
        .execute(&mut *conn)
        .await
        .map_err(backend("prune"))?;
    }
    // Claimed, as a run claims it: a run that was writing meanwhile is fenced out.
    sqlx::query("UPDATE lg_threads SET epoch = epoch + 1, owner = NULL WHERE thread_id = ?1")
        .bind(thread_id)
        .execute(&mut *conn)
        .await
        .map_err(backend("prune"))?;
    Ok(true)
}
