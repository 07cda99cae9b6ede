//! Writes: claims, checkpoints and pending writes, each fenced by the thread's epoch.
//!
//! Every write is one script sent to the connection in one round trip: `BEGIN IMMEDIATE`
//! (the database's write lock, so the checks below see every committed write), the claim if
//! any, the fenced insert, `COMMIT`. Statements run on the connection's worker thread, and a
//! round trip costs about as much as the statements, so a claim and its checkpoint, or a
//! checkpoint and its parent's writes, share one.

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::backend;
use crate::encode::{blobs_json, to_json};
use crate::error::CheckpointError;
use crate::model::{Fence, PutCheckpoint, PutWrites};

/// The newest checkpoint of namespace `?2` is `?9` (NULL: the namespace has none).
const HEAD_IS: &str = "(SELECT max(checkpoint_id) FROM lg_checkpoints \
     WHERE thread_id = ?1 AND ns = ?2) IS ?9";

/// Bumps the thread's epoch from `?8 - 1` to `?8` (creating the thread row) and records the
/// claim's token `?3`, if the head is still the expected one: a claim that cannot write its
/// checkpoint does not fence anyone out.
fn claim_sql(check_head: bool) -> String {
    let rows = if check_head {
        format!("SELECT ?1, ?8, ?3 WHERE {HEAD_IS}")
    } else {
        "VALUES (?1, ?8, ?3)".to_string()
    };
    format!(
        "INSERT INTO lg_threads (thread_id, epoch, owner) {rows} \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner \
         WHERE lg_threads.epoch = ?8 - 1"
    )
}

/// The epoch of thread `?1` is `?8`.
const FENCE_HOLDS: &str = "(SELECT epoch FROM lg_threads WHERE thread_id = ?1) = ?8";

/// The epoch of thread `?1` is `?8`, set by the claim with token `?3` (an equal epoch may
/// come from another claimer that won).
const CLAIM_HELD: &str = "(SELECT epoch = ?8 AND owner IS ?3 FROM lg_threads WHERE thread_id = ?1)";

/// Upserts the writes of JSON array `?10` at checkpoint `?4`, if `guard` holds.
fn writes_sql(guard: &str) -> String {
    format!(
        "INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
         SELECT ?1, ?2, ?4, j.value ->> '$.task_id', j.value ->> '$.channel', \
                j.value ->> '$.task_name', j.value -> '$.value' \
         FROM json_each(?10) AS j WHERE {guard} \
         ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
         DO UPDATE SET value = excluded.value, task_name = excluded.task_name"
    )
}

/// The script storing a checkpoint: returns one row if it was stored.
fn put_script(claim: bool, with_writes: bool) -> String {
    let mut s = String::from("BEGIN IMMEDIATE;\n");
    if claim {
        s += &claim_sql(true);
        s += ";\n";
    }
    let fence = if claim { CLAIM_HELD } else { FENCE_HOLDS };
    s += &format!(
        "INSERT INTO lg_checkpoints \
         (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE {fence} AND {HEAD_IS} RETURNING 1;\n"
    );
    if with_writes {
        s += &writes_sql(
            "?4 IS NOT NULL AND EXISTS (SELECT 1 FROM lg_checkpoints \
             WHERE thread_id = ?1 AND ns = ?2 AND checkpoint_id = ?3)",
        );
        s += ";\n";
    }
    s + "COMMIT"
}

/// The script storing pending writes: returns one row per stored write.
fn writes_script(claim: bool) -> String {
    let mut s = String::from("BEGIN IMMEDIATE;\n");
    if claim {
        s += &claim_sql(false);
        s += ";\n";
        s += &writes_sql(CLAIM_HELD);
    } else {
        s += &writes_sql(FENCE_HOLDS);
    }
    s + " RETURNING 1;\nCOMMIT"
}

/// Runs a write script on one connection and returns the rows it produced; if a statement
/// fails, rolls the open transaction back so the connection goes back to the pool clean.
async fn run_script(
    pool: &SqlitePool,
    op: &'static str,
    query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
) -> Result<usize, CheckpointError> {
    let mut conn = pool.acquire().await.map_err(backend(op))?;
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => Ok(rows.len()),
        Err(e) => {
            rollback(&mut conn).await;
            Err(CheckpointError::backend(op, e))
        }
    }
}

async fn rollback(conn: &mut SqliteConnection) {
    // Nothing to undo if the failing statement was BEGIN itself.
    let _ = sqlx::query("ROLLBACK").execute(conn).await;
}

pub(super) async fn claim(
    pool: &SqlitePool,
    thread_id: &str,
    seen_epoch: i64,
) -> Result<Fence, CheckpointError> {
    let epoch = seen_epoch + 1;
    let changed = sqlx::query(
        "INSERT INTO lg_threads (thread_id, epoch, owner) VALUES (?1, ?2, ?3) \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner \
         WHERE lg_threads.epoch = ?2 - 1",
    )
    .bind(thread_id)
    .bind(epoch)
    .bind(crate::model::new_checkpoint_id())
    .execute(pool)
    .await
    .map_err(backend("claim"))?
    .rows_affected();
    if changed == 1 {
        Ok(Fence {
            epoch,
            claim: false,
        })
    } else {
        Err(CheckpointError::conflict(
            thread_id,
            "another run claimed the thread first",
        ))
    }
}

pub(super) async fn put(pool: &SqlitePool, put: PutCheckpoint) -> Result<(), CheckpointError> {
    let blobs = blobs_json(&put.blobs)?;
    let with_writes = put.parent_id.is_some() && !put.parent_writes.is_empty();
    let script = put_script(put.fence.claim, with_writes);
    let query = sqlx::query(sqlx::AssertSqlSafe(script))
        .bind(&put.thread_id)
        .bind(&put.ns)
        .bind(&put.checkpoint.id)
        .bind(&put.parent_id)
        .bind(to_json("a checkpoint", &put.checkpoint)?)
        .bind(to_json("checkpoint metadata", &put.metadata)?)
        .bind(blobs)
        .bind(put.fence.epoch)
        .bind(&put.expected_head)
        .bind(if with_writes {
            to_json("pending writes", &put.parent_writes)?
        } else {
            "[]".to_string()
        });
    // The checkpoint insert returns a row if it was stored; writes return none.
    if run_script(pool, "put", query).await? == 1 {
        Ok(())
    } else {
        Err(CheckpointError::conflict(
            &put.thread_id,
            format!(
                "checkpoint {} was not stored: another run wrote the thread (expected head {:?}, epoch {})",
                put.checkpoint.id, put.expected_head, put.fence.epoch
            ),
        ))
    }
}

pub(super) async fn put_writes(pool: &SqlitePool, w: PutWrites) -> Result<(), CheckpointError> {
    if w.writes.is_empty() {
        return Ok(());
    }
    // ?3: the claim's token.
    let query = sqlx::query(sqlx::AssertSqlSafe(writes_script(w.fence.claim)))
        .bind(&w.thread_id)
        .bind(&w.ns)
        .bind(crate::model::new_checkpoint_id())
        .bind(&w.checkpoint_id)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(w.fence.epoch)
        .bind(None::<String>)
        .bind(to_json("pending writes", &w.writes)?);
    if run_script(pool, "put_writes", query).await? == w.writes.len() {
        Ok(())
    } else {
        Err(CheckpointError::conflict(
            &w.thread_id,
            "the writer's epoch is stale",
        ))
    }
}

pub(super) async fn delete_thread(
    pool: &SqlitePool,
    thread_id: &str,
) -> Result<(), CheckpointError> {
    let query = sqlx::query(
        "BEGIN IMMEDIATE;
         DELETE FROM lg_writes WHERE thread_id = ?1;
         DELETE FROM lg_checkpoints WHERE thread_id = ?1;
         DELETE FROM lg_threads WHERE thread_id = ?1;
         COMMIT",
    )
    .bind(thread_id);
    run_script(pool, "delete_thread", query).await.map(drop)
}
