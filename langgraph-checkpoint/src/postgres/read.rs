//! Reading checkpoints back: head, one tuple (with its delta chains), lists.

use sqlx::postgres::PgPool;

use super::backend;
use crate::assemble::{Row, assemble, assemble_many, ids_and_metadata, rows_of};
use crate::error::CheckpointError;
use crate::listing::{load_in_pages, select_ids};
use crate::model::{CheckpointTuple, ListOptions};
use crate::spin::Spin;

/// The part of a checkpoint read after `cp` (the target checkpoints): the delta chains of
/// their channel versions and the rows of the epoch, checkpoints and chain blobs (the write
/// rows follow). `"UNION ALL"` for a read of one checkpoint, which takes in `$4` the versions
/// the process keeps (a JSON object from channel to version, see `crate::value_cache`): a
/// chain stops at a kept version, whose row comes without its blob. `"UNION"` for a read of
/// several, whose chains meet (each chain row once) and whose rows have a seventh column.
///
/// The chain carries versions only, `(channel, version, base)`, and each version's blob is
/// read after it: a recursive `UNION` compares whole rows, and rows carrying a long list made
/// it hash and compare that list at every step.
macro_rules! chain_and_checkpoints {
    ("UNION ALL") => {
        chain_and_checkpoints!(@ "UNION ALL", "", "$4::jsonb")
    };
    ("UNION") => {
        chain_and_checkpoints!(@ "UNION", ", NULL::text", "NULL::jsonb")
    };
    (@ $union:literal, $seventh:literal, $kept:literal) => {
        concat!(
            "
chain(channel, cid, base) AS (
    SELECT v.key, v.value, b.base
    FROM cp
    CROSS JOIN LATERAL jsonb_each_text(
        CASE WHEN jsonb_typeof(cp.checkpoint -> 'channel_versions') = 'object'
             THEN cp.checkpoint -> 'channel_versions' ELSE '{}'::jsonb END) AS v
    CROSS JOIN LATERAL (
        SELECT CASE WHEN v.value = (",
            $kept,
            " ->> v.key) THEN NULL ELSE c.blobs -> v.key ->> 'base' END AS base
        FROM lg_checkpoints AS c
        WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = rtrim(v.value, '~')
        LIMIT 1) AS b
    ",
            $union,
            "
    SELECT chain.channel, chain.base, b.base
    FROM chain
    CROSS JOIN LATERAL (
        SELECT CASE WHEN chain.base = (",
            $kept,
            " ->> chain.channel) THEN NULL ELSE c.blobs -> chain.channel ->> 'base' END AS base
        FROM lg_checkpoints AS c
        WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = rtrim(chain.base, '~')
        LIMIT 1) AS b
    WHERE chain.base IS NOT NULL
)
SELECT 0::bigint, NULL::text, NULL::text, NULL::text, NULL::text,
       (SELECT epoch FROM lg_threads WHERE thread_id = $1)::bigint",
            $seventh,
            "
UNION ALL SELECT 1, checkpoint_id, parent_id, checkpoint::text, metadata::text, NULL",
            $seventh,
            " FROM cp
UNION ALL SELECT 2, chain.channel, chain.cid, b.blob::text, NULL, NULL",
            $seventh,
            "
    FROM chain
    CROSS JOIN LATERAL (
        SELECT CASE WHEN chain.cid = (",
            $kept,
            " ->> chain.channel) THEN NULL ELSE c.blobs -> chain.channel END AS blob
        FROM lg_checkpoints AS c
        WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = rtrim(chain.cid, '~')
        LIMIT 1) AS b"
        )
    };
}

/// A checkpoint (`$3`, or the head of the namespace when `$3` is NULL) with its epoch, delta
/// chains and pending writes in one statement, as the rows [`assemble`](crate::assemble::assemble) reads: one round trip
/// instead of four.
///
/// A version is the id of the checkpoint whose row stores the value, with a `~` after it when
/// that checkpoint carries it for an older one (after a prune, see `crate::prune`).
///
/// Each checkpoint and write is looked up by its full key: the target's id as a scalar
/// subquery (computed once, then an index key) and each channel version through a lateral
/// subquery (its `LIMIT 1`, on a primary key, keeps the planner from turning it back into a
/// join). Joined to the target as a table, the generic plan scanned the thread's rows by
/// their prefix and filtered them, in time proportional to the thread's length.
const TUPLE: &str = concat!(
    "
WITH RECURSIVE
target(id) AS (
    SELECT coalesce($3::text, (SELECT checkpoint_id FROM lg_heads
                               WHERE thread_id = $1 AND ns = $2))
),
cp AS (
    SELECT c.checkpoint_id, c.parent_id, c.checkpoint, c.metadata
    FROM lg_checkpoints AS c
    WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = (SELECT id FROM target)
),",
    chain_and_checkpoints!("UNION ALL"),
    "
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value::text, w.seq
    FROM lg_writes AS w
    WHERE w.thread_id = $1 AND w.ns = $2 AND w.checkpoint_id = (SELECT id FROM target)"
);

/// The checkpoints of `$3` (an array of ids) in one statement, as the rows [`assemble_many`]
/// reads: the rows of [`TUPLE`] for each, with the blobs their chains share once (the
/// recursive `UNION` drops a chain row already found, and so stops walking a chain where
/// another one joined it) and each pending write's checkpoint in a seventh column. A page of
/// a long thread's history shares nearly all of its chains. Each id is looked up through a
/// lateral subquery (`LIMIT 1`, `OFFSET 0`: kept apart from the join): with `= ANY($3)` the
/// generic plan scanned the thread's rows by their prefix.
const TUPLES: &str = concat!(
    "
WITH RECURSIVE
target(id) AS (SELECT unnest($3::text[])),
cp AS (
    SELECT c.* FROM target CROSS JOIN LATERAL (
        SELECT c.checkpoint_id, c.parent_id, c.checkpoint, c.metadata
        FROM lg_checkpoints AS c
        WHERE c.thread_id = $1 AND c.ns = $2 AND c.checkpoint_id = target.id
        LIMIT 1) AS c
),",
    chain_and_checkpoints!("UNION"),
    "
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value, w.seq, w.checkpoint_id
    FROM target CROSS JOIN LATERAL (
        SELECT w.task_id, w.task_name, w.channel, w.value::text, w.seq, w.checkpoint_id
        FROM lg_writes AS w
        WHERE w.thread_id = $1 AND w.ns = $2 AND w.checkpoint_id = target.id
        OFFSET 0) AS w"
);

/// The thread's epoch and a checkpoint (the head of `ns` when `checkpoint_id` is `None`).
pub(super) async fn load<'c>(
    on: impl sqlx::PgExecutor<'c>,
    thread_id: &str,
    ns: &str,
    checkpoint_id: Option<&str>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    let rows = load_rows(on, thread_id, ns, checkpoint_id, None).await?;
    assemble(thread_id, ns, rows)
}

/// The rows of [`TUPLE`] for a checkpoint, its chains stopping at the `kept` versions.
pub(super) async fn load_rows<'c>(
    on: impl sqlx::PgExecutor<'c>,
    thread_id: &str,
    ns: &str,
    checkpoint_id: Option<&str>,
    kept: Option<&str>,
) -> Result<Vec<Row>, CheckpointError> {
    let rows = sqlx::query(TUPLE)
        .bind(thread_id)
        .bind(ns)
        .bind(checkpoint_id)
        .bind(kept)
        .fetch_all(on)
        .await
        .map_err(backend("get"))?;
    rows_of(&rows, "get")
}

/// Checkpoints of a namespace, newest first, filtered and limited. Each statement waits
/// through `spin` on its own, so that the saver's polling budget learns single statements,
/// not the whole list.
pub(super) async fn list(
    pool: &PgPool,
    spin: &Spin,
    thread_id: &str,
    ns: &str,
    opts: &ListOptions,
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    // A filter is matched in Rust (a `jsonb` containment test in SQL was slower).
    let ids = select_ids(thread_id, opts, |before, limit| async move {
        let limit = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "SELECT checkpoint_id, metadata::text FROM lg_checkpoints \
             WHERE thread_id = $1 AND ns = $2 AND ($3::text IS NULL OR checkpoint_id < $3) \
             ORDER BY checkpoint_id DESC LIMIT $4",
        )
        .bind(thread_id)
        .bind(ns)
        .bind(before)
        .bind(limit)
        .fetch_all(pool);
        ids_and_metadata(&spin.run(rows).await.map_err(backend("list"))?)
    })
    .await?;
    load_in_pages(&ids, |page| spin.run(load_many(pool, thread_id, ns, page))).await
}

/// Checkpoints `ids` of a namespace, in that order (one deleted meanwhile is left out).
async fn load_many(
    pool: &PgPool,
    thread_id: &str,
    ns: &str,
    ids: &[String],
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    let rows = sqlx::query(TUPLES)
        .bind(thread_id)
        .bind(ns)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(backend("list"))?;
    assemble_many(thread_id, ns, ids, rows_of(&rows, "list")?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::{TUPLE, TUPLES};
    use crate::postgres::{PostgresOptions, PostgresSaver};

    /// The generic plan (the one a prepared statement settles on) of `statement`, prepared
    /// with parameter types `types` and run with `args`.
    async fn generic_plan(statement: &str, types: &str, args: &str) -> Vec<String> {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("lgt_plan_{}", uuid::Uuid::new_v4().simple());
        let opts = PostgresOptions::default().schema(schema.clone());
        let saver = PostgresSaver::connect_with(&url, opts).await.unwrap();
        let mut conn = saver.pool().acquire().await.unwrap();
        sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
            .execute(&mut *conn)
            .await
            .unwrap();
        let prepare = format!("PREPARE lg_read({types}) AS {statement}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
            .execute(&mut *conn)
            .await
            .unwrap();
        let explain = format!("EXPLAIN EXECUTE lg_read({args})");
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let drop_schema = format!("DROP SCHEMA {schema} CASCADE");
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop_schema))
            .execute(saver.pool())
            .await
            .unwrap();
        plan
    }

    /// In the generic plan of a tuple read, and of a read of several, every checkpoint and
    /// write is looked up by its full key: no scan of the thread's rows.
    #[tokio::test]
    async fn a_tuple_read_looks_rows_up_by_their_full_key() {
        let reads = [
            (
                TUPLE,
                "text, text, text, text",
                "'t', '', NULL, '{\"xs\": \"v\"}'",
            ),
            (TUPLES, "text, text, text[]", "'t', '', ARRAY['a', 'b']"),
        ];
        for (statement, types, args) in reads {
            let plan = generic_plan(statement, types, args).await;
            let reads: Vec<usize> = (0..plan.len())
                .filter(|&i| {
                    plan[i].contains(" on lg_checkpoints") || plan[i].contains(" on lg_writes")
                })
                .collect();
            // The target checkpoint, each channel version, each delta's base, the blob of each
            // version on the chains, the writes.
            assert_eq!(reads.len(), 5, "{plan:#?}");
            for i in reads {
                let cond = plan.get(i + 1).map_or("", String::as_str);
                assert!(
                    plan[i].contains("Index Scan")
                        && cond.contains("Index Cond")
                        && cond.contains("checkpoint_id ="),
                    "{} / {cond} in {plan:#?}",
                    plan[i]
                );
            }
        }
    }
}
