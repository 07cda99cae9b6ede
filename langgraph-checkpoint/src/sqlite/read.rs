//! Reading checkpoints back: head, one tuple (with its delta chains), lists.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::backend;
use crate::error::CheckpointError;
use crate::listing::listed_ids;
use crate::model::{
    BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, FORMAT_VERSION, Head, ListOptions,
    PendingWrite,
};
use crate::resolve::resolve_chain;

/// A checkpoint (`?3`, or the newest of the namespace when `?3` is NULL) in one statement, as
/// rows `(kind, a, b, c, d, e)`: kind 0 is the thread's epoch (`a`); kind 1 the checkpoint
/// (`a` id, `b` parent, `c` checkpoint, `d` metadata); kind 2 a blob on the delta chain of a
/// channel version it references (`a` channel, `b` version, `c` blob); kind 3 a pending write
/// (`a` task, `b` task name, `c` channel, `d` value, `e` order). One round trip to the
/// connection's worker instead of four.
const TUPLE: &str = "
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
SELECT 0, (SELECT epoch FROM lg_threads WHERE thread_id = ?1), NULL, NULL, NULL, NULL
UNION ALL SELECT 1, checkpoint_id, parent_id, checkpoint, metadata, NULL FROM cp
UNION ALL SELECT 2, channel, cid, blob, NULL, NULL FROM chain
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value, w.rowid
    FROM lg_writes AS w, target
    WHERE w.thread_id = ?1 AND w.ns = ?2 AND w.checkpoint_id = target.id";

/// The thread's epoch and the newest checkpoint of `ns`.
pub(super) async fn head(
    pool: &SqlitePool,
    thread_id: &str,
    ns: &str,
) -> Result<Head, CheckpointError> {
    let (epoch, checkpoint) = load(pool, thread_id, ns, None).await?;
    Ok(Head { epoch, checkpoint })
}

/// Parses a stored checkpoint, checking its format version.
fn parse_checkpoint(thread_id: &str, id: &str, text: &str) -> Result<Checkpoint, CheckpointError> {
    let raw: Value =
        serde_json::from_str(text).map_err(|e| CheckpointError::corrupt(thread_id, id, e))?;
    let v = raw.get("v").and_then(Value::as_u64).unwrap_or(0) as u32;
    if v > FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedFormat {
            thread_id: thread_id.to_string(),
            checkpoint_id: id.to_string(),
            found: v,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(raw).map_err(|e| CheckpointError::corrupt(thread_id, id, e))
}

/// One checkpoint with resolved values and its pending writes.
pub(super) async fn tuple(
    pool: &SqlitePool,
    thread_id: &str,
    ns: &str,
    checkpoint_id: &str,
) -> Result<Option<CheckpointTuple>, CheckpointError> {
    Ok(load(pool, thread_id, ns, Some(checkpoint_id)).await?.1)
}

/// The thread's epoch and a checkpoint (the newest of `ns` when `checkpoint_id` is `None`).
async fn load(
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
    let text = |r: &sqlx::sqlite::SqliteRow, i: usize| -> Result<Option<String>, CheckpointError> {
        r.try_get(i).map_err(backend("get"))
    };
    let mut epoch = 0;
    let mut cp: Option<(String, Option<String>, String, String)> = None;
    let mut by_channel: HashMap<String, HashMap<String, BlobValue>> = HashMap::new();
    let mut writes: Vec<(i64, PendingWrite)> = Vec::new();
    let mut bad_blob: Option<(String, String)> = None;
    for r in &rows {
        let kind: i64 = r.try_get(0).map_err(backend("get"))?;
        match kind {
            0 => {
                epoch = r
                    .try_get::<Option<i64>, _>(1)
                    .map_err(backend("get"))?
                    .unwrap_or(0)
            }
            1 => {
                cp = Some((
                    text(r, 1)?.unwrap_or_default(),
                    text(r, 2)?,
                    text(r, 3)?.unwrap_or_default(),
                    text(r, 4)?.unwrap_or_default(),
                ))
            }
            2 => {
                let channel = text(r, 1)?.unwrap_or_default();
                let cid = text(r, 2)?.unwrap_or_default();
                match text(r, 3)?.map(|b| serde_json::from_str::<BlobValue>(&b)) {
                    Some(Ok(b)) => {
                        by_channel.entry(channel).or_default().insert(cid, b);
                    }
                    Some(Err(e)) => {
                        bad_blob.get_or_insert((cid, format!("channel `{channel}`: {e}")));
                    }
                    None => {
                        bad_blob.get_or_insert((
                            cid,
                            format!("no stored value for channel `{channel}`"),
                        ));
                    }
                }
            }
            _ => {
                let order: i64 = r.try_get(5).map_err(backend("get"))?;
                let id = cp.as_ref().map_or("", |c| c.0.as_str()).to_string();
                let value = text(r, 4)?.unwrap_or_default();
                writes.push((
                    order,
                    PendingWrite {
                        task_id: text(r, 1)?.unwrap_or_default(),
                        task_name: text(r, 2)?.unwrap_or_default(),
                        channel: text(r, 3)?.unwrap_or_default(),
                        value: serde_json::from_str(&value).map_err(|e| {
                            CheckpointError::corrupt(thread_id, &id, format!("pending write: {e}"))
                        })?,
                    },
                ));
            }
        }
    }
    let Some((id, parent_id, text, meta)) = cp else {
        return Ok((epoch, None));
    };
    if let Some((cid, reason)) = bad_blob {
        return Err(CheckpointError::corrupt(thread_id, &cid, reason));
    }
    let checkpoint = parse_checkpoint(thread_id, &id, &text)?;
    let metadata: CheckpointMetadata = serde_json::from_str(&meta)
        .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
    let mut values = BTreeMap::new();
    for (channel, version) in &checkpoint.channel_versions {
        let blobs = by_channel.remove(channel).unwrap_or_default();
        let v = resolve_chain(version, &blobs).map_err(|e| {
            CheckpointError::corrupt(thread_id, &id, format!("channel `{channel}`: {e}"))
        })?;
        values.insert(channel.clone(), v);
    }
    writes.sort_by_key(|(order, _)| *order);
    Ok((
        epoch,
        Some(CheckpointTuple {
            thread_id: thread_id.to_string(),
            ns: ns.to_string(),
            checkpoint,
            metadata,
            parent_id,
            values,
            pending_writes: writes.into_iter().map(|(_, w)| w).collect(),
        }),
    ))
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
        if let Some(t) = tuple(pool, thread_id, ns, &id).await? {
            out.push(t);
        }
    }
    Ok(out)
}
