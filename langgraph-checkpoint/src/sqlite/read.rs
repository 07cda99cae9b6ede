//! Reading checkpoints back: head, one tuple (with its delta chains), lists.

use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;

use super::backend;
use crate::assemble::assemble_sql;
use crate::error::CheckpointError;
use crate::listing::listed_ids;
use crate::model::{CheckpointTuple, ListOptions};

/// A checkpoint (`?3`, or the newest of the namespace when `?3` is NULL) with its epoch, delta
/// chains and pending writes in one statement, as the rows [`assemble`](crate::assemble::assemble) reads. One round trip
/// to the connection's worker instead of four.
pub(super) const TUPLE: &str = "
WITH RECURSIVE
target(id) AS (
    SELECT coalesce(?3, (SELECT max(checkpoint_id) FROM lg_checkpoints
                         WHERE thread_id = ?1 AND ns = ?2))
),
cp AS (
    SELECT c.checkpoint_id, c.parent_id, c.checkpoint, c.metadata
    FROM lg_checkpoints AS c, target
    WHERE c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = target.id
),
chain(channel, cid, blob) AS (
    SELECT v.key, v.value, c.blobs -> ('$.\"' || v.key || '\"')
    FROM cp,
         json_each(CASE WHEN json_valid(cp.checkpoint)
                        THEN cp.checkpoint -> '$.channel_versions' ELSE '{}' END) AS v
    JOIN lg_checkpoints AS c
      ON c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = v.value
    UNION ALL
    SELECT chain.channel, chain.blob ->> '$.base', c.blobs -> ('$.\"' || chain.channel || '\"')
    FROM chain
    JOIN lg_checkpoints AS c
      ON c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = chain.blob ->> '$.base'
    WHERE chain.blob ->> '$.kind' = 'delta'
)
SELECT 0, NULL, NULL, NULL, NULL, (SELECT epoch FROM lg_threads WHERE thread_id = ?1)
UNION ALL SELECT 1, checkpoint_id, parent_id, checkpoint, metadata, NULL FROM cp
UNION ALL SELECT 2, channel, cid, blob, NULL, NULL FROM chain
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value, w.rowid
    FROM lg_writes AS w, target
    WHERE w.thread_id = ?1 AND w.ns = ?2 AND w.checkpoint_id = target.id";

/// The thread's epoch and a checkpoint (the newest of `ns` when `checkpoint_id` is `None`).
pub(super) async fn load(
    pool: &SqlitePool,
    thread_id: &str,
    ns: &str,
    checkpoint_id: Option<&str>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    let rows = sqlx::query(TUPLE)
        .bind(thread_id)
        .bind(ns)
        .bind(checkpoint_id)
        .fetch_all(pool)
        .await
        .map_err(backend("get"))?;
    assemble_sql(thread_id, ns, &rows)
}

/// Checkpoints of a namespace, newest first, filtered and limited.
pub(super) async fn list(
    pool: &SqlitePool,
    thread_id: &str,
    ns: &str,
    opts: &ListOptions,
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    let rows = sqlx::query(
        "SELECT checkpoint_id, metadata FROM lg_checkpoints \
         WHERE thread_id = ?1 AND ns = ?2 AND (?3 IS NULL OR checkpoint_id < ?3) \
         ORDER BY checkpoint_id DESC",
    )
    .bind(thread_id)
    .bind(ns)
    .bind(opts.before.clone())
    .fetch_all(pool)
    .await
    .map_err(backend("list"))?;
    let rows = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(String, String)>, sqlx::Error>>()
        .map_err(backend("list"))?;
    let mut out = Vec::new();
    for id in listed_ids(thread_id, rows, opts)? {
        if let Some(t) = load(pool, thread_id, ns, Some(&id)).await?.1 {
            out.push(t);
        }
    }
    Ok(out)
}
