//! Pruning a thread's history in one transaction (the plan and the rewrite are in
//! [`crate::prune`]).
//!
//! A checkpoint write moves its namespace's head row, so holding the thread's head rows keeps
//! every writer out of the namespaces being pruned; the rows deleted are exactly those the
//! plan read, so a namespace that appears meanwhile is left alone.

use std::collections::BTreeSet;

use sqlx::postgres::{PgConnection, PgPool};

use super::write::in_transaction;
use super::{backend, raced, read};
use crate::error::CheckpointError;
use crate::prune_rows::{Row, RowPlan, plan_rows, updated_row};

/// Rows of thread `$1` in namespace `$2` whose id is in the array `$3`.
const LISTED: &str = "thread_id = $1 AND ns = $2 AND checkpoint_id = ANY($3)";

/// How often a prune starts over (after it raced a writer into a deadlock, or found a
/// namespace whose head row it could not hold yet) before it gives up with a conflict.
const ATTEMPTS: usize = 8;

/// What one attempt did.
enum Attempt {
    /// Pruned, or found nothing to delete.
    Done,
    /// A namespace's head row appeared after the attempt locked the others: start over.
    Again,
}

/// Prunes `thread_id` to what [`Prune::KeepLatest`](crate::Prune::KeepLatest) keeps. A run
/// writing meanwhile can make PostgreSQL roll one of the two back (their transactions lock
/// the thread's rows in different orders): the run's write is then a conflict, the prune
/// starts over.
pub(super) async fn keep_latest(pool: &PgPool, thread_id: &str) -> Result<(), CheckpointError> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let attempt = in_transaction(pool, "prune", async |conn| {
            Ok(match prune_in(conn, thread_id).await? {
                Some(Attempt::Done) => (Attempt::Done, true),
                None => (Attempt::Done, false),
                Some(Attempt::Again) => (Attempt::Again, false),
            })
        });
        match attempt.await.map_err(raced(thread_id)) {
            Ok(Attempt::Done) => return Ok(()),
            Ok(Attempt::Again) => last = None,
            Err(e) if e.is_conflict() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        CheckpointError::conflict(
            thread_id,
            "runs kept writing to the thread while it was being pruned",
        )
    }))
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, CheckpointError> {
    serde_json::to_string(v).map_err(|e| CheckpointError::backend("prune", e))
}

/// Deletes and rewrites inside the open transaction: `Some(Done)` to commit, `None` when there
/// is nothing to delete, `Some(Again)` to start over.
async fn prune_in(
    conn: &mut PgConnection,
    thread_id: &str,
) -> Result<Option<Attempt>, CheckpointError> {
    // The thread row orders this with claims; the head rows with checkpoint writes.
    sqlx::query("SELECT 1 FROM lg_threads WHERE thread_id = $1 FOR UPDATE")
        .bind(thread_id)
        .execute(&mut *conn)
        .await
        .map_err(backend("prune"))?;
    let held: BTreeSet<String> =
        sqlx::query_scalar("SELECT ns FROM lg_heads WHERE thread_id = $1 FOR UPDATE")
            .bind(thread_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend("prune"))?
            .into_iter()
            .collect();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT ns, checkpoint_id, parent_id, metadata::text FROM lg_checkpoints \
         WHERE thread_id = $1",
    )
    .bind(thread_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend("prune"))?;
    // A head row committed after the lock above was taken is not held: its namespace could
    // still change under this transaction.
    if rows.iter().any(|(ns, ..)| !held.contains(ns)) {
        return Ok(Some(Attempt::Again));
    }
    let Some(RowPlan { kept, gone }) = plan_rows(thread_id, rows)? else {
        return Ok(None);
    };
    let mut updates = Vec::with_capacity(kept.len());
    for (ns, ids) in &kept.0 {
        for id in ids {
            let (_, tuple) = read::load(&mut *conn, thread_id, ns, Some(id)).await?;
            updates.push((ns, id, updated_row(thread_id, &kept, ns, id, tuple)?));
        }
    }
    for (ns, ids) in gone {
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
            "UPDATE lg_checkpoints SET checkpoint = $4::jsonb, parent_id = $5, blobs = $6::jsonb \
             WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3",
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
    // New head rows: a checkpoint write waiting on the old ones finds none and fails its
    // check, as a write of a fenced-out run should.
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    let heads: Vec<(&str, &str)> = kept.heads().collect();
    sqlx::query("DELETE FROM lg_heads WHERE thread_id = $1 AND ns = ANY($2)")
        .bind(thread_id)
        .bind(&held)
        .execute(&mut *conn)
        .await
        .map_err(backend("prune"))?;
    sqlx::query(
        "INSERT INTO lg_heads (thread_id, ns, checkpoint_id) \
         SELECT $1, k ->> 0, k ->> 1 FROM jsonb_array_elements($2::jsonb) AS k",
    )
    .bind(thread_id)
    .bind(json(&heads)?)
    .execute(&mut *conn)
    .await
    .map_err(backend("prune"))?;
    // Claimed, as a run claims it: a run that was writing meanwhile is fenced out.
    sqlx::query("UPDATE lg_threads SET epoch = epoch + 1 WHERE thread_id = $1")
        .bind(thread_id)
        .execute(&mut *conn)
        .await
        .map_err(backend("prune"))?;
    Ok(Some(Attempt::Done))
}
