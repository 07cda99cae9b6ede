//! Writes: claims, checkpoints and pending writes, each fenced by the thread's epoch.
//!
//! Every write is one script sent to the connection in one round trip: `BEGIN IMMEDIATE`
//! (the database's write lock, so the checks below see every committed write), the claim if
//! any, the fenced insert, `COMMIT`. Statements run on the connection's worker thread, and a
//! round trip costs about as much as the statements, so a claim and its checkpoint, or a
//! checkpoint and its parent's writes, share one. A batch of ops is one such script too: one
//! round trip and one commit for all of them.

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::backend;
use crate::encode::{blobs_json, put_conflict, to_json, writes_conflict};
use crate::error::CheckpointError;
use crate::model::{Fence, PutCheckpoint, PutWrites, SaveOp};

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Parameters of one op, `$1`..`$10`: thread, namespace, checkpoint id (writes: the claim's
/// token), parent id (writes: their checkpoint), checkpoint, metadata, blobs, epoch, expected
/// head, pending writes. Op `k` of a batch uses `$(10k + 1)`..`$(10k + 10)`. (`$N` names, not
/// `?N` indexes: SQLite numbers `$` names densely per statement, so a statement that uses only
/// some of an op's parameters leaves no unnamed gaps for the driver to fill.)
const PARAMS: usize = 10;

/// The newest checkpoint of namespace `$2` is `$9` (NULL: the namespace has none).
const HEAD_IS: &str = "(SELECT max(checkpoint_id) FROM lg_checkpoints \
     WHERE thread_id = $1 AND ns = $2) IS $9";

/// In a batch, the op before this one was stored: its last statement changed rows.
const PREVIOUS_STORED: &str = "changes() > 0";

/// Bumps the thread's epoch from `$8 - 1` to `$8` (creating the thread row) and records the
/// claim's token `$3`, if `cond` holds: a claim that cannot write its checkpoint does not
/// fence anyone out.
fn claim_sql(cond: &str) -> String {
    format!(
        "INSERT INTO lg_threads (thread_id, epoch, owner) SELECT $1, $8, $3 WHERE {cond} \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner \
         WHERE lg_threads.epoch = $8 - 1"
    )
}

/// The epoch of thread `$1` is `$8`.
const FENCE_HOLDS: &str = "(SELECT epoch FROM lg_threads WHERE thread_id = $1) = $8";

/// The epoch of thread `$1` is `$8`, set by the claim with token `$3` (an equal epoch may
/// come from another claimer that won).
const CLAIM_HELD: &str = "(SELECT epoch = $8 AND owner IS $3 FROM lg_threads WHERE thread_id = $1)";

/// Upserts the writes of JSON array `$10` at checkpoint `$4`, if `guard` holds.
fn writes_sql(guard: &str) -> String {
    format!(
        "INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
         SELECT $1, $2, $4, j.value ->> '$.task_id', j.value ->> '$.channel', \
                j.value ->> '$.task_name', j.value -> '$.value' \
         FROM json_each($10) AS j WHERE {guard} \
         ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
         DO UPDATE SET value = excluded.value, task_name = excluded.task_name"
    )
}

/// `cond`, and in a batch after the first op, that the previous op was stored.
fn and_previous(cond: &str, first: bool) -> String {
    if first {
        cond.to_string()
    } else {
        format!("{cond} AND {PREVIOUS_STORED}")
    }
}

/// The statements storing a checkpoint; the checkpoint insert returns one row, `tag`, if it
/// was stored.
fn put_body(claim: bool, with_writes: bool, first: bool, tag: usize) -> String {
    let mut s = String::new();
    let fence = if claim {
        s += &claim_sql(&and_previous(HEAD_IS, first));
        s += ";\n";
        // The claim's own guard checked the previous op.
        format!("{CLAIM_HELD} AND {HEAD_IS}")
    } else {
        and_previous(&format!("{FENCE_HOLDS} AND {HEAD_IS}"), first)
    };
    s += &format!(
        "INSERT INTO lg_checkpoints \
         (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE {fence} RETURNING {tag};\n"
    );
    if with_writes {
        s += &writes_sql(
            "$4 IS NOT NULL AND EXISTS (SELECT 1 FROM lg_checkpoints \
             WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3)",
        );
        s += ";\n";
    }
    s
}

/// The statements storing pending writes; they return one row, `tag`, per stored write.
fn writes_body(claim: bool, first: bool, tag: usize) -> String {
    let mut s = String::new();
    if claim {
        s += &claim_sql(&and_previous("1", first));
        s += ";\n";
        s += &writes_sql(CLAIM_HELD);
    } else {
        s += &writes_sql(&and_previous(FENCE_HOLDS, first));
    }
    s + &format!(" RETURNING {tag};\n")
}

/// Renames the parameters `$N` of `sql` to `$(N + offset)` (JSON paths such as `'$.x'` are
/// not parameters and stay).
fn shift_params(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let n: usize = rest[..digits].parse().unwrap_or(0);
            out.push_str(&(n + offset).to_string());
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn with_writes(put: &PutCheckpoint) -> bool {
    put.parent_id.is_some() && !put.parent_writes.is_empty()
}

/// Binds the ten parameters of a checkpoint op.
fn bind_put<'q>(q: Query<'q>, put: &'q PutCheckpoint) -> Result<Query<'q>, CheckpointError> {
    Ok(q.bind(&put.thread_id)
        .bind(&put.ns)
        .bind(&put.checkpoint.id)
        .bind(&put.parent_id)
        .bind(to_json("a checkpoint", &put.checkpoint)?)
        .bind(to_json("checkpoint metadata", &put.metadata)?)
        .bind(blobs_json(&put.blobs)?)
        .bind(put.fence.epoch)
        .bind(&put.expected_head)
        .bind(if with_writes(put) {
            to_json("pending writes", &put.parent_writes)?
        } else {
            "[]".to_string()
        }))
}

/// Binds the ten parameters of a writes op (`$3`: a fresh claim token).
fn bind_writes<'q>(q: Query<'q>, w: &'q PutWrites) -> Result<Query<'q>, CheckpointError> {
    Ok(q.bind(&w.thread_id)
        .bind(&w.ns)
        .bind(crate::model::new_checkpoint_id())
        .bind(&w.checkpoint_id)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(w.fence.epoch)
        .bind(None::<String>)
        .bind(to_json("pending writes", &w.writes)?))
}

fn transaction(body: String) -> String {
    format!("BEGIN IMMEDIATE;\n{body}COMMIT")
}

/// Runs a write script on one connection and returns the tags of the rows it produced; if a
/// statement fails, rolls the open transaction back so the connection goes back to the pool
/// clean.
async fn run_script(
    pool: &SqlitePool,
    op: &'static str,
    query: Query<'_>,
) -> Result<Vec<usize>, CheckpointError> {
    use sqlx::Row;
    let mut conn = pool.acquire().await.map_err(backend(op))?;
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => Ok(rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0).unwrap_or(-1) as usize)
            .collect()),
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
    let script = transaction(put_body(put.fence.claim, with_writes(&put), true, 0));
    let query = bind_put(sqlx::query(sqlx::AssertSqlSafe(script)), &put)?;
    // The checkpoint insert returns a row if it was stored; writes return none.
    if run_script(pool, "put", query).await?.len() == 1 {
        Ok(())
    } else {
        Err(put_conflict(&put))
    }
}

pub(super) async fn put_writes(pool: &SqlitePool, w: PutWrites) -> Result<(), CheckpointError> {
    if w.writes.is_empty() {
        return Ok(());
    }
    let script = transaction(writes_body(w.fence.claim, true, 0));
    let query = bind_writes(sqlx::query(sqlx::AssertSqlSafe(script)), &w)?;
    if run_script(pool, "put_writes", query).await?.len() == w.writes.len() {
        Ok(())
    } else {
        Err(writes_conflict(&w))
    }
}

/// Ops in one batch script at most (ten parameters each).
const MAX_BATCH: usize = 64;

/// Stores ops in order in one transaction per [`MAX_BATCH`] ops, each transaction one script
/// (one round trip, one commit). Every op after the first also requires that the op before
/// it was stored, so a rejected op stops the batch; the ops before it are stored.
pub(super) async fn put_batch(pool: &SqlitePool, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
    let ops: Vec<SaveOp> = ops
        .into_iter()
        .filter(|op| !matches!(op, SaveOp::Writes(w) if w.writes.is_empty()))
        .collect();
    for chunk in ops.chunks(MAX_BATCH) {
        let mut body = String::new();
        for (k, op) in chunk.iter().enumerate() {
            let sql = match op {
                SaveOp::Checkpoint(p) => put_body(p.fence.claim, with_writes(p), k == 0, k),
                SaveOp::Writes(w) => writes_body(w.fence.claim, k == 0, k),
            };
            body += &shift_params(&sql, k * PARAMS);
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(transaction(body)));
        for op in chunk {
            query = match op {
                SaveOp::Checkpoint(p) => bind_put(query, p)?,
                SaveOp::Writes(w) => bind_writes(query, w)?,
            };
        }
        let tags = run_script(pool, "put_batch", query).await?;
        for (k, op) in chunk.iter().enumerate() {
            let stored = tags.iter().filter(|&&t| t == k).count();
            match op {
                SaveOp::Checkpoint(p) if stored != 1 => return Err(put_conflict(p)),
                SaveOp::Writes(w) if stored != w.writes.len() => return Err(writes_conflict(w)),
                _ => {}
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renamed_and_json_paths_kept() {
        assert_eq!(
            shift_params("SELECT $1, $10 ->> '$.task_id' WHERE x = $9", 20),
            "SELECT $21, $30 ->> '$.task_id' WHERE x = $29"
        );
        assert_eq!(shift_params("$3$", 0), "$3$");
        assert_eq!(shift_params("a $ b $2", 10), "a $ b $12");
    }

    #[test]
    fn only_ops_after_the_first_check_the_previous_op() {
        assert!(!put_body(false, true, true, 0).contains(PREVIOUS_STORED));
        assert!(put_body(false, true, false, 1).contains(PREVIOUS_STORED));
        assert!(put_body(true, false, false, 1).contains(PREVIOUS_STORED));
        assert!(writes_body(true, false, 2).contains(PREVIOUS_STORED));
        assert!(writes_body(false, false, 2).contains("RETURNING 2"));
    }
}
