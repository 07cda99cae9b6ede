//! Listing threads: one statement that walks the distinct thread ids of the checkpoints
//! table through its primary key (a skip scan: one index lookup per thread, whatever the
//! threads' lengths) and stops as soon as the page is full.

use std::sync::LazyLock;

use sqlx::sqlite::SqlitePool;

use super::backend;
use crate::error::CheckpointError;
use crate::filter_sql::{sqlite_mismatch, sqlite_prefilter};
use crate::threads::{ThreadInfo, ThreadQuery, thread_rows};

/// `?1` after, `?2` prefix, `?3` the lowest id of `updated_before`, `?4` of `updated_since`,
/// `?5` the limit, `?6` the channel of a status filter (a head's task with a write on it and
/// none on `__writes__`: two primary-key lookups among the head's writes); `{metadata}` is
/// empty or the column of the head's metadata. The recursive
/// part finds the next thread id after the last one (ids in byte order: SQLite's `BINARY`
/// collation) while it still starts with the prefix; the `LIMIT -1` keeps the head lookup from
/// being copied into each condition that reads it.
const THREADS: &str = "
WITH RECURSIVE t(id) AS (
    SELECT (SELECT min(thread_id) FROM lg_checkpoints
            WHERE (?1 IS NULL OR thread_id > ?1) AND thread_id >= ?2)
    UNION ALL
    SELECT (SELECT min(thread_id) FROM lg_checkpoints WHERE thread_id > t.id)
    FROM t WHERE t.id IS NOT NULL AND substr(t.id, 1, length(?2)) = ?2
)
SELECT id, head{metadata} FROM (
    SELECT id, (SELECT max(checkpoint_id) FROM lg_checkpoints
                WHERE thread_id = t.id AND ns = '') AS head
    FROM t WHERE id IS NOT NULL AND substr(id, 1, length(?2)) = ?2 LIMIT -1
)
WHERE head IS NOT NULL AND (?3 IS NULL OR head < ?3) AND (?4 IS NULL OR head >= ?4)
  AND (?6 IS NULL OR EXISTS (
    SELECT 1 FROM lg_writes w
    WHERE w.thread_id = id AND w.ns = '' AND w.checkpoint_id = head AND w.channel = ?6
      AND NOT EXISTS (
        SELECT 1 FROM lg_writes d
        WHERE d.thread_id = id AND d.ns = '' AND d.checkpoint_id = head
          AND d.task_id = w.task_id AND d.channel = '__writes__')))
LIMIT ?5";

/// What the statement with the head's metadata adds to its conditions: `?7`, the entries of
/// the metadata filter SQLite can check (see `sqlite_prefilter`), as a JSON object. It drops
/// a head whose metadata reads back another value for one of them; the rows it lets through
/// (a head whose metadata is not JSON too, reported as corrupt) are matched in Rust.
fn prefilter() -> String {
    format!(
        "
  AND (?7 IS NULL OR NOT EXISTS (
    SELECT 1 FROM lg_checkpoints c
    WHERE c.thread_id = id AND c.ns = '' AND c.checkpoint_id = head
      AND {}))
LIMIT ?5",
        sqlite_mismatch("c.metadata", "?7")
    )
}

/// The statement without the head's metadata, and with it.
static STATEMENTS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        THREADS.replace("{metadata}", ""),
        THREADS
            .replace(
                "{metadata}",
                ", (SELECT metadata FROM lg_checkpoints \
                 WHERE thread_id = id AND ns = '' AND checkpoint_id = head)",
            )
            .replace("\nLIMIT ?5", &prefilter()),
    ]
});

/// Up to `limit` (`None`: all) threads after `after` that `query` selects but for its
/// metadata filter, with their head's metadata when `metadata`.
async fn fetch(
    pool: &SqlitePool,
    query: &ThreadQuery,
    after: Option<&str>,
    limit: Option<usize>,
    metadata: bool,
) -> Result<Vec<(ThreadInfo, String)>, CheckpointError> {
    let mut statement = sqlx::query(sqlx::AssertSqlSafe(
        STATEMENTS[usize::from(metadata)].as_str(),
    ))
    .bind(after)
    .bind(query.prefix.as_str())
    .bind(query.before_id())
    .bind(query.since_id())
    .bind(limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)))
    .bind(query.status_channel());
    if metadata {
        statement = statement.bind(sqlite_prefilter(&query.filter));
    }
    let rows = statement
        .fetch_all(pool)
        .await
        .map_err(backend("threads"))?;
    thread_rows(&rows, metadata).map_err(backend("threads"))
}

/// The threads `query` asks for.
pub(super) async fn threads(
    pool: &SqlitePool,
    query: &ThreadQuery,
) -> Result<Vec<ThreadInfo>, CheckpointError> {
    query
        .answer(|after, limit, metadata| async move {
            fetch(pool, query, after.as_deref(), limit, metadata).await
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::STATEMENTS;

    /// The statement of a metadata search carries the SQL side of the filter, and the other
    /// does not (it binds one parameter fewer).
    #[test]
    fn only_a_metadata_search_narrows_rows_in_sql() {
        assert!(STATEMENTS[1].contains("json_each(?7)"), "{}", STATEMENTS[1]);
        assert!(!STATEMENTS[0].contains("?7"), "{}", STATEMENTS[0]);
        assert!(
            STATEMENTS
                .iter()
                .all(|s| s.trim_end().ends_with("LIMIT ?5"))
        );
    }
}
