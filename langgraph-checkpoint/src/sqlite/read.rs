//! Reading checkpoints back: head, one tuple (with its delta chains), lists.

use std::sync::LazyLock;

use sqlx::sqlite::SqlitePool;

use super::backend;
use super::direct::Direct;
use crate::assemble::{Row, assemble, assemble_many, ids_and_metadata, rows_of};
use crate::error::CheckpointError;
use crate::filter_sql::{sqlite_mismatch, sqlite_prefilter};
use crate::listing::{load_in_pages, select_ids};
use crate::model::{CheckpointTuple, ListOptions};
use crate::spin::Spin;

/// The part of a checkpoint read after `target(id)`: the target checkpoints, the delta chains
/// of their channel versions and the rows of the epoch, checkpoints and stored blobs (the
/// write rows follow). `"UNION ALL"` for a read of one checkpoint, which takes in `?4` the
/// versions the process keeps (a JSON object from channel to version, see
/// `crate::value_cache`): a chain stops at a kept version. `"UNION"` for a read of several,
/// whose chains meet (each chain row once) and whose rows have a seventh column.
///
/// The chain carries versions only, `(channel, version, base)`: a recursive `UNION` compares
/// whole rows, and a row carrying a 400 KB list made each comparison (and the temporary index
/// behind it) copy and compare that list. Each chain version's stored blobs object then comes
/// once, whole, with the channels read from it (kind 4): extracting a channel in SQL parsed
/// the object's JSON once more per channel and per expression, where the reader parses only
/// what it needs, once. A version whose every channel is kept comes without its object.
macro_rules! chain_and_checkpoints {
    ("UNION ALL") => {
        chain_and_checkpoints!(@ "UNION ALL", "", "?4")
    };
    ("UNION") => {
        chain_and_checkpoints!(@ "UNION", ", NULL", "NULL")
    };
    (@ $union:literal, $seventh:literal, $kept:literal) => {
        concat!(
            "
cp AS (
    SELECT c.checkpoint_id, c.parent_id, c.checkpoint, c.metadata
    FROM target CROSS JOIN lg_checkpoints AS c
    WHERE c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = target.id
),
chain(channel, cid, base) AS (
    SELECT v.key, v.value,
           CASE WHEN v.value IS ",
            $kept,
            " ->> ('$.\"' || v.key || '\"') THEN NULL
                ELSE c.blobs ->> ('$.\"' || v.key || '\".base') END
    FROM cp CROSS JOIN
         json_each(CASE WHEN json_valid(cp.checkpoint)
                        THEN cp.checkpoint -> '$.channel_versions' ELSE '{}' END) AS v
    CROSS JOIN lg_checkpoints AS c
      ON c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = rtrim(v.value, '~')
    ",
            $union,
            "
    SELECT chain.channel, chain.base,
           CASE WHEN chain.base IS ",
            $kept,
            " ->> ('$.\"' || chain.channel || '\"') THEN NULL
                ELSE c.blobs ->> ('$.\"' || chain.channel || '\".base') END
    FROM chain
    JOIN lg_checkpoints AS c
      ON c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = rtrim(chain.base, '~')
    WHERE chain.base IS NOT NULL
)
SELECT 0, NULL, NULL, NULL, NULL, (SELECT epoch FROM lg_threads WHERE thread_id = ?1)",
            $seventh,
            "
UNION ALL SELECT 1, checkpoint_id, parent_id, checkpoint, metadata, NULL",
            $seventh,
            " FROM cp
UNION ALL SELECT 4, json_group_array(chain.channel), chain.cid,
       CASE WHEN min(chain.cid IS ",
            $kept,
            " ->> ('$.\"' || chain.channel || '\"')) THEN NULL ELSE c.blobs END,
       NULL, NULL",
            $seventh,
            "
    FROM chain CROSS JOIN lg_checkpoints AS c
    WHERE c.thread_id = ?1 AND c.ns = ?2 AND c.checkpoint_id = rtrim(chain.cid, '~')
    GROUP BY chain.cid"
        )
    };
}

/// A checkpoint (`?3`, or the newest of the namespace when `?3` is NULL) with its epoch, delta
/// chains and pending writes in one statement, as the rows
/// [`assemble`](crate::assemble::assemble) reads: one round trip to the connection's worker
/// instead of four. A version is the id of the checkpoint whose row stores the value, with a
/// `~` after it when that checkpoint carries it for an older one (after a prune, see
/// `crate::prune`).
///
/// `CROSS JOIN` fixes the order of each join, so that SQLite looks every checkpoint and write
/// up by its full key. Left to choose, it scanned all of the thread's checkpoints (and
/// writes) and matched each against the target, so a read took time in proportion to the
/// thread's length (4.5 ms at 4,000 checkpoints, against 0.05 ms with the order fixed).
pub(super) const TUPLE: &str = concat!(
    "
WITH RECURSIVE
target(id) AS (
    SELECT coalesce(?3, (SELECT max(checkpoint_id) FROM lg_checkpoints
                         WHERE thread_id = ?1 AND ns = ?2))
),",
    chain_and_checkpoints!("UNION ALL"),
    "
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value, w.rowid
    FROM target CROSS JOIN lg_writes AS w
    WHERE w.thread_id = ?1 AND w.ns = ?2 AND w.checkpoint_id = target.id"
);

/// The checkpoints of `?3` (a JSON array of ids) in one statement, as the rows
/// [`assemble_many`] reads: the rows of [`TUPLE`] for each, with the blobs their chains share
/// once (the recursive `UNION` drops a chain row already found, and so stops walking a chain
/// where another one joined it) and each pending write's checkpoint in a seventh column.
/// A page of a long thread's history shares nearly all of its chains.
pub(super) const TUPLES: &str = concat!(
    "
WITH RECURSIVE
target(id) AS (SELECT value FROM json_each(?3)),",
    chain_and_checkpoints!("UNION"),
    "
UNION ALL SELECT 3, w.task_id, w.task_name, w.channel, w.value, w.rowid, w.checkpoint_id
    FROM target CROSS JOIN lg_writes AS w
    WHERE w.thread_id = ?1 AND w.ns = ?2 AND w.checkpoint_id = target.id"
);

/// The thread's epoch and a checkpoint (the newest of `ns` when `checkpoint_id` is `None`).
pub(super) async fn load<'c>(
    on: impl sqlx::SqliteExecutor<'c>,
    thread_id: &str,
    ns: &str,
    checkpoint_id: Option<&str>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    let rows = load_rows(on, thread_id, ns, checkpoint_id, None).await?;
    assemble(thread_id, ns, rows)
}

/// The rows of [`TUPLE`] for a checkpoint, its chains stopping at the `kept` versions.
pub(super) async fn load_rows<'c>(
    on: impl sqlx::SqliteExecutor<'c>,
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

/// The ids and metadata of a namespace's checkpoints, newest first: `?3` before, `?4` the SQL
/// side of a metadata filter (see `sqlite_prefilter`), `?5` the limit (-1: none).
pub(super) static LISTED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT checkpoint_id, metadata FROM lg_checkpoints
         WHERE thread_id = ?1 AND ns = ?2 AND (?3 IS NULL OR checkpoint_id < ?3)
           AND NOT {}
         ORDER BY checkpoint_id DESC LIMIT ?5",
        sqlite_mismatch("metadata", "?4")
    )
});

/// Checkpoints of a namespace, newest first, filtered and limited. Each statement runs on
/// the direct connection when it is free (on the caller's thread, as the rows are assembled),
/// else on the pool, waiting through `spin` on its own, so that the saver's polling budget
/// learns single statements, not the whole list.
pub(super) async fn list(
    pool: &SqlitePool,
    direct: Option<&Direct>,
    spin: &Spin,
    thread_id: &str,
    ns: &str,
    opts: &ListOptions,
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    // SQLite drops the rows whose metadata cannot match a filter (see `sqlite_prefilter`);
    // the rest are matched in Rust.
    let prefilter = sqlite_prefilter(&opts.filter);
    let prefilter = prefilter.as_deref();
    let ids = select_ids(thread_id, opts, |before, limit| async move {
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        if let Some(done) =
            direct.and_then(|d| d.listed(thread_id, ns, before.as_deref(), prefilter, limit))
        {
            return done;
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(LISTED.as_str()))
            .bind(thread_id)
            .bind(ns)
            .bind(before)
            .bind(prefilter)
            .bind(limit)
            .fetch_all(pool);
        ids_and_metadata(&spin.run(rows).await.map_err(backend("list"))?)
    })
    .await?;
    load_in_pages(&ids, |page| async move {
        let list = serde_json::to_string(page).map_err(|e| CheckpointError::backend("list", e))?;
        let rows = match direct.and_then(|d| d.load_many_rows(thread_id, ns, &list)) {
            Some(done) => done?,
            None => spin.run(load_many_rows(pool, thread_id, ns, list)).await?,
        };
        assemble_many(thread_id, ns, page, rows)
    })
    .await
}

/// The rows of [`TUPLES`] for checkpoints `ids` (a JSON array of ids), through the pool.
async fn load_many_rows(
    pool: &SqlitePool,
    thread_id: &str,
    ns: &str,
    ids: String,
) -> Result<Vec<Row>, CheckpointError> {
    let rows = sqlx::query(TUPLES)
        .bind(thread_id)
        .bind(ns)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(backend("list"))?;
    rows_of(&rows, "list")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::{TUPLE, TUPLES};

    /// The steps of SQLite's plan for `statement` that read checkpoint and write rows.
    fn row_reads(statement: &str, args: &[&dyn rusqlite::ToSql]) -> (Vec<String>, Vec<String>) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::DDL).unwrap();
        let mut st = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .unwrap();
        let plan: Vec<String> = st
            .query_map(args, |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let searches = plan
            .iter()
            .filter(|step| {
                step.contains("lg_checkpoints")
                    || step.starts_with("SEARCH c ")
                    || step.starts_with("SEARCH w ")
            })
            .cloned()
            .collect();
        (searches, plan)
    }

    /// A thread of three checkpoints: `xs` stored whole at c1 and extended at c2 and c3, `n`
    /// stored at c3 beside `xs`.
    fn chain_db() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::DDL).unwrap();
        let rows = [
            (
                "c1",
                r#"{"xs":"c1"}"#,
                r#"{"xs":{"kind":"full","value":[1]}}"#,
            ),
            (
                "c2",
                r#"{"xs":"c2"}"#,
                r#"{"xs":{"kind":"delta","base":"c1","items":[2],"depth":1}}"#,
            ),
            (
                "c3",
                r#"{"xs":"c3","n":"c3"}"#,
                r#"{"xs":{"kind":"delta","base":"c2","items":[3],"depth":2},"n":{"kind":"full","value":7}}"#,
            ),
        ];
        for (id, versions, blobs) in rows {
            conn.execute(
                "INSERT INTO lg_checkpoints VALUES ('t', '', ?1, NULL, ?2, '{}', ?3)",
                rusqlite::params![id, format!(r#"{{"channel_versions":{versions}}}"#), blobs],
            )
            .unwrap();
        }
        conn
    }

    /// The stored-object rows (kind 4) of a read: version, channels, whether the object came.
    fn objects(
        conn: &rusqlite::Connection,
        statement: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Vec<(String, String, bool)> {
        let mut st = conn.prepare(statement).unwrap();
        let mut rows: Vec<(String, String, bool)> = st
            .query_map(args, |r| {
                let kind: i64 = r.get(0)?;
                Ok((kind, r.get(2)?, r.get(1)?, r.get::<_, Option<String>>(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .filter(|(kind, ..)| *kind == 4)
            .map(
                |(_, cid, channels, object): (i64, Option<String>, Option<String>, _)| {
                    let mut chs: Vec<String> = serde_json::from_str(&channels.unwrap()).unwrap();
                    chs.sort();
                    (cid.unwrap(), chs.join(","), object.is_some())
                },
            )
            .collect();
        rows.sort();
        rows
    }

    /// Each version of the chains comes once with its channels and its stored object; a read
    /// of one checkpoint given kept versions stops each chain there and leaves out the object
    /// of a version whose every channel is kept.
    #[test]
    fn chains_come_as_one_object_per_version_and_stop_at_kept_versions() {
        let conn = chain_db();
        let row = |cid: &str, chs: &str, object: bool| (cid.to_string(), chs.to_string(), object);
        let none: Option<&str> = None;
        let all = [
            row("c1", "xs", true),
            row("c2", "xs", true),
            row("c3", "n,xs", true),
        ];
        assert_eq!(objects(&conn, TUPLE, &[&"t", &"", &"c3", &none]), all);
        let kept = r#"{"xs":"c2"}"#;
        assert_eq!(
            objects(&conn, TUPLE, &[&"t", &"", &"c3", &kept]),
            [row("c2", "xs", false), row("c3", "n,xs", true)],
            "the chain of xs stops at c2, which comes without its object"
        );
        let kept = r#"{"xs":"c3","n":"c3"}"#;
        assert_eq!(
            objects(&conn, TUPLE, &[&"t", &"", &"c3", &kept]),
            [row("c3", "n,xs", false)]
        );
        let page = r#"["c3","c2"]"#;
        assert_eq!(
            objects(&conn, TUPLES, &[&"t", &"", &page]),
            all,
            "two checkpoints' chains meet: each version once"
        );
    }

    /// Every lookup of a checkpoint row in a tuple read, and in a read of several, goes by its
    /// full key, whatever the thread's length: no step scans the thread's checkpoints.
    #[test]
    fn a_tuple_read_looks_checkpoints_up_by_their_full_key() {
        let kept = r#"{"xs": "v"}"#;
        let reads: [(&str, &[&dyn rusqlite::ToSql]); 2] = [
            (TUPLE, &[&"t", &"", &"id", &kept]),
            (TUPLES, &[&"t", &"", &r#"["a", "b"]"#]),
        ];
        for (statement, args) in reads {
            let (searches, plan) = row_reads(statement, args);
            assert!(searches.len() >= 4, "{plan:#?}");
            for step in searches {
                let max_of_thread = step.contains("COVERING INDEX");
                assert!(
                    max_of_thread || step.contains("checkpoint_id=?"),
                    "{step} in {plan:#?}"
                );
                assert!(!step.starts_with("SCAN"), "{step}");
            }
        }
    }
}
