//! Reading checkpoints back: head, one tuple (with its delta chains), lists.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgPool;

use super::backend;
use crate::error::CheckpointError;
use crate::listing::listed_ids;
use crate::model::{
    BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, FORMAT_VERSION, Head, ListOptions,
    PendingWrite,
};
use crate::resolve::resolve_chain;

/// Every blob on the delta chains of `versions` (a JSON object channel -> version).
const CHAINS: &str = "
WITH RECURSIVE chain(channel, cid, blob) AS (
    SELECT v.key, v.value, c.blobs -> v.key
    FROM jsonb_each_text($3::jsonb) AS v
    JOIN lg_checkpoints AS c
      ON c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = v.value
    UNION ALL
    SELECT chain.channel, chain.blob ->> 'base', c.blobs -> chain.channel
    FROM chain
    JOIN lg_checkpoints AS c
      ON c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = chain.blob ->> 'base'
    WHERE chain.blob ->> 'kind' = 'delta'
)
SELECT channel, cid, blob::text FROM chain";

/// The thread's epoch and the newest checkpoint of `ns`.
pub(super) async fn head(
    pool: &PgPool,
    thread_id: &str,
    ns: &str,
) -> Result<Head, CheckpointError> {
    let row = sqlx::query(
        "SELECT (SELECT epoch FROM lg_threads WHERE thread_id = $1), \
                (SELECT checkpoint_id FROM lg_heads WHERE thread_id = $1 AND ns = $2)",
    )
    .bind(thread_id)
    .bind(ns)
    .fetch_one(pool)
    .await
    .map_err(backend("head"))?;
    let epoch: Option<i64> = row.try_get(0).map_err(backend("head"))?;
    let id: Option<String> = row.try_get(1).map_err(backend("head"))?;
    let checkpoint = match id {
        Some(id) => tuple(pool, thread_id, ns, &id).await?,
        None => None,
    };
    Ok(Head {
        epoch: epoch.unwrap_or(0),
        checkpoint,
    })
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
    pool: &PgPool,
    thread_id: &str,
    ns: &str,
    checkpoint_id: &str,
) -> Result<Option<CheckpointTuple>, CheckpointError> {
    let Some(row) = sqlx::query(
        "SELECT parent_id, checkpoint::text, metadata::text FROM lg_checkpoints \
         WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3",
    )
    .bind(thread_id)
    .bind(ns)
    .bind(checkpoint_id)
    .fetch_optional(pool)
    .await
    .map_err(backend("get"))?
    else {
        return Ok(None);
    };
    let parent_id: Option<String> = row.try_get(0).map_err(backend("get"))?;
    let text: String = row.try_get(1).map_err(backend("get"))?;
    let meta: String = row.try_get(2).map_err(backend("get"))?;
    let checkpoint = parse_checkpoint(thread_id, checkpoint_id, &text)?;
    let metadata: CheckpointMetadata = serde_json::from_str(&meta).map_err(|e| {
        CheckpointError::corrupt(thread_id, checkpoint_id, format!("metadata: {e}"))
    })?;

    let mut values = BTreeMap::new();
    if !checkpoint.channel_versions.is_empty() {
        let versions = serde_json::to_string(&checkpoint.channel_versions)
            .map_err(|e| CheckpointError::corrupt(thread_id, checkpoint_id, e))?;
        let rows = sqlx::query(CHAINS)
            .bind(thread_id)
            .bind(ns)
            .bind(versions)
            .fetch_all(pool)
            .await
            .map_err(backend("get"))?;
        let mut by_channel: HashMap<String, HashMap<String, BlobValue>> = HashMap::new();
        for r in rows {
            let channel: String = r.try_get(0).map_err(backend("get"))?;
            let cid: String = r.try_get(1).map_err(backend("get"))?;
            let blob: Option<String> = r.try_get(2).map_err(backend("get"))?;
            let Some(blob) = blob else {
                return Err(CheckpointError::corrupt(
                    thread_id,
                    &cid,
                    format!("no stored value for channel `{channel}`"),
                ));
            };
            let b: BlobValue = serde_json::from_str(&blob).map_err(|e| {
                CheckpointError::corrupt(thread_id, &cid, format!("channel `{channel}`: {e}"))
            })?;
            by_channel.entry(channel).or_default().insert(cid, b);
        }
        for (channel, version) in &checkpoint.channel_versions {
            let blobs = by_channel.get(channel).cloned().unwrap_or_default();
            let v = resolve_chain(version, &blobs).map_err(|e| {
                CheckpointError::corrupt(
                    thread_id,
                    checkpoint_id,
                    format!("channel `{channel}`: {e}"),
                )
            })?;
            values.insert(channel.clone(), v);
        }
    }

    let writes = sqlx::query(
        "SELECT task_id, task_name, channel, value::text FROM lg_writes \
         WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3 ORDER BY seq",
    )
    .bind(thread_id)
    .bind(ns)
    .bind(checkpoint_id)
    .fetch_all(pool)
    .await
    .map_err(backend("get"))?;
    let mut pending_writes = Vec::with_capacity(writes.len());
    for w in writes {
        let value: String = w.try_get(3).map_err(backend("get"))?;
        pending_writes.push(PendingWrite {
            task_id: w.try_get(0).map_err(backend("get"))?,
            task_name: w.try_get(1).map_err(backend("get"))?,
            channel: w.try_get(2).map_err(backend("get"))?,
            value: serde_json::from_str(&value).map_err(|e| {
                CheckpointError::corrupt(thread_id, checkpoint_id, format!("pending write: {e}"))
            })?,
        });
    }
    Ok(Some(CheckpointTuple {
        thread_id: thread_id.to_string(),
        ns: ns.to_string(),
        checkpoint,
        metadata,
        parent_id,
        values,
        pending_writes,
    }))
}

/// Checkpoints of a namespace, newest first, filtered and limited.
pub(super) async fn list(
    pool: &PgPool,
    thread_id: &str,
    ns: &str,
    opts: &ListOptions,
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    let rows = sqlx::query(
        "SELECT checkpoint_id, metadata::text FROM lg_checkpoints \
         WHERE thread_id = $1 AND ns = $2 AND ($3::text IS NULL OR checkpoint_id < $3) \
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
