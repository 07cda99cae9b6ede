//! Batches: several checkpoints and writes of one writer in one commit (one WAL flush).
//!
//! The common batch (what a run queued while its previous write was in flight: a chain of
//! checkpoints and writes, with a fence it already holds) is one statement, so one round
//! trip. Anything else (a claim, several threads, a chain that does not start at a head)
//! runs op by op in one transaction.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::postgres::PgPool;

use super::backend;
use super::write::{store_checkpoint, store_writes};
use crate::encode::{blobs_json, put_conflict, to_json, writes_conflict};
use crate::error::CheckpointError;
use crate::model::{PendingWrite, PutCheckpoint, SaveOp};

/// Stores `ops` in order in one transaction; a rejected op rolls the whole batch back. With
/// `synced` false, a batch of several statements commits without waiting for the WAL flush
/// (`synchronous_commit` off for that transaction: it is seen at once, and the next commit
/// that waits for the flush makes it durable too); a one-statement batch waits as usual.
pub(super) async fn put_batch(
    pool: &PgPool,
    ops: Vec<SaveOp>,
    synced: bool,
) -> Result<(), CheckpointError> {
    if ops.is_empty() {
        return Ok(());
    }
    if let Some(chain) = Chain::of(&ops) {
        return chain.store(pool, &ops).await;
    }
    let mut tx = if synced {
        pool.begin().await
    } else {
        pool.begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF")
            .await
    }
    .map_err(backend("put_batch"))?;
    for op in &ops {
        let rejected = match op {
            SaveOp::Checkpoint(p) => {
                (!store_checkpoint(&mut tx, p).await?).then(|| put_conflict(p))
            }
            SaveOp::Writes(w) => (!store_writes(&mut tx, w).await?).then(|| writes_conflict(w)),
        };
        if let Some(e) = rejected {
            tx.rollback().await.map_err(backend("put_batch"))?;
            return Err(e);
        }
    }
    tx.commit().await.map_err(backend("put_batch"))
}

/// A batch that one statement can store: one thread, namespace and held epoch, no claim,
/// checkpoints that follow each other from an existing head, writes with distinct keys.
struct Chain<'a> {
    thread_id: &'a str,
    ns: &'a str,
    epoch: i64,
    /// The head the first checkpoint expects, and the last checkpoint (the new head).
    heads: Option<(&'a str, &'a str)>,
    checkpoints: Vec<&'a PutCheckpoint>,
    writes: Vec<(&'a str, &'a PendingWrite)>,
}

/// One write row of the statement's `writes` array.
#[derive(Serialize)]
struct WriteRow<'a> {
    checkpoint_id: &'a str,
    #[serde(flatten)]
    write: &'a PendingWrite,
}

impl<'a> Chain<'a> {
    fn of(ops: &'a [SaveOp]) -> Option<Self> {
        let (thread_id, ns, fence) = match ops.first()? {
            SaveOp::Checkpoint(p) => (p.thread_id.as_str(), p.ns.as_str(), &p.fence),
            SaveOp::Writes(w) => (w.thread_id.as_str(), w.ns.as_str(), &w.fence),
        };
        let mut chain = Chain {
            thread_id,
            ns,
            epoch: fence.epoch,
            heads: None,
            checkpoints: Vec::new(),
            writes: Vec::new(),
        };
        let mut keys = HashSet::new();
        for op in ops {
            let (t, n, f, writes, at) = match op {
                SaveOp::Checkpoint(p) => {
                    let expected = p.expected_head.as_deref()?;
                    match &mut chain.heads {
                        None => chain.heads = Some((expected, &p.checkpoint.id)),
                        Some((_, last)) if *last == expected => *last = &p.checkpoint.id,
                        Some(_) => return None,
                    }
                    chain.checkpoints.push(p);
                    let parent = p.parent_id.as_deref();
                    let writes = if parent.is_some() {
                        &p.parent_writes[..]
                    } else {
                        &[]
                    };
                    (&p.thread_id, &p.ns, &p.fence, writes, parent.unwrap_or(""))
                }
                SaveOp::Writes(w) => (
                    &w.thread_id,
                    &w.ns,
                    &w.fence,
                    &w.writes[..],
                    w.checkpoint_id.as_str(),
                ),
            };
            if t != thread_id || n != ns || f.claim || f.epoch != fence.epoch {
                return None;
            }
            for w in writes {
                // One statement cannot upsert a row twice.
                if !keys.insert((at, w.task_id.as_str(), w.channel.as_str())) {
                    return None;
                }
                chain.writes.push((at, w));
            }
        }
        Some(chain)
    }

    /// The statement: the fence locks the thread row; the head moves from the first
    /// checkpoint's expected head to the last checkpoint; checkpoints and writes are stored
    /// only if it moved (or, without checkpoints, if the fence holds). Returns the rows stored.
    fn sql(&self) -> String {
        let (head, gate) = if self.heads.is_some() {
            (
                ", head AS (UPDATE lg_heads SET checkpoint_id = $5 \
                 WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $4 \
                 AND EXISTS (SELECT 1 FROM fence) RETURNING 1)",
                "head",
            )
        } else {
            ("", "fence")
        };
        format!(
            "WITH fence AS (SELECT 1 FROM lg_threads WHERE thread_id = $1 AND epoch = $3 FOR UPDATE){head}, \
             cp AS (INSERT INTO lg_checkpoints \
               (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
               SELECT $1, $2, j ->> 'id', j ->> 'parent', j -> 'checkpoint', j -> 'metadata', j -> 'blobs' \
               FROM jsonb_array_elements($6::jsonb) AS j WHERE EXISTS (SELECT 1 FROM {gate}) \
               RETURNING 1), \
             w AS (INSERT INTO lg_writes \
               (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
               SELECT $1, $2, j ->> 'checkpoint_id', j ->> 'task_id', j ->> 'channel', \
                      j ->> 'task_name', j -> 'value' \
               FROM jsonb_array_elements($7::jsonb) AS j WHERE EXISTS (SELECT 1 FROM {gate}) \
               ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
               DO UPDATE SET value = EXCLUDED.value, task_name = EXCLUDED.task_name \
               RETURNING 1) \
             SELECT (SELECT count(*) FROM cp), (SELECT count(*) FROM w)"
        )
    }

    /// The checkpoints as one JSON array of `{id, parent, checkpoint, metadata, blobs}`.
    fn checkpoints_json(&self) -> Result<String, CheckpointError> {
        let mut out = String::from("[");
        for (i, p) in self.checkpoints.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out += &format!(
                "{{\"id\":{},\"parent\":{},\"checkpoint\":{},\"metadata\":{},\"blobs\":{}}}",
                to_json("a checkpoint id", &p.checkpoint.id)?,
                to_json("a parent id", &p.parent_id)?,
                to_json("a checkpoint", &p.checkpoint)?,
                to_json("checkpoint metadata", &p.metadata)?,
                blobs_json(&p.blobs)?,
            );
        }
        out.push(']');
        Ok(out)
    }

    async fn store(&self, pool: &PgPool, ops: &[SaveOp]) -> Result<(), CheckpointError> {
        let rows: Vec<WriteRow<'_>> = self
            .writes
            .iter()
            .map(|&(checkpoint_id, write)| WriteRow {
                checkpoint_id,
                write,
            })
            .collect();
        let (expected, last) = self.heads.unwrap_or_default();
        let (cps, ws): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(self.sql()))
            .bind(self.thread_id)
            .bind(self.ns)
            .bind(self.epoch)
            .bind(expected)
            .bind(last)
            .bind(self.checkpoints_json()?)
            .bind(to_json("pending writes", &rows)?)
            .fetch_one(pool)
            .await
            .map_err(backend("put_batch"))?;
        if cps as usize == self.checkpoints.len() && ws as usize == self.writes.len() {
            return Ok(());
        }
        // Nothing was stored: the fence or the head moved. Report the first op.
        Err(match &ops[0] {
            SaveOp::Checkpoint(p) => put_conflict(p),
            SaveOp::Writes(w) => writes_conflict(w),
        })
    }
}
