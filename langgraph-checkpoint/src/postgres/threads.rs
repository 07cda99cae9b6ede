//! Listing threads: a range scan of the root namespace's head rows, in byte order (`COLLATE
//! "C"`, as the other savers compare ids, whatever the database's collation), through the
//! partial index `lg_heads_root`.

use std::sync::LazyLock;

use sqlx::postgres::PgPool;

use super::backend;
use crate::error::CheckpointError;
use crate::threads::{ThreadInfo, ThreadQuery, thread_rows};

/// `$1` after, `$2` prefix, `$3` the end of the prefix's range, `$4` the lowest id of
/// `updated_before`, `$5` of `updated_since`, `$6` the limit (`NULL`: none), `$7` the channel
/// of a status filter (a head's task with a write on it and none on `__writes__`); `{metadata}` is
/// empty or the column of the head's metadata: a subquery in the select list, so that it is
/// looked up for the rows of the page only (a join lets the planner read every checkpoint
/// row first: 160 ms instead of 13 for a page of 1,000 of 10,000 threads).
const THREADS: &str = r#"
SELECT h.thread_id, h.checkpoint_id{metadata} FROM lg_heads h
WHERE h.ns = ''
  AND h.thread_id COLLATE "C" >= $2
  AND ($1::text IS NULL OR h.thread_id COLLATE "C" > $1)
  AND ($3::text IS NULL OR h.thread_id COLLATE "C" < $3)
  AND ($4::text IS NULL OR h.checkpoint_id COLLATE "C" < $4)
  AND ($5::text IS NULL OR h.checkpoint_id COLLATE "C" >= $5)
  AND ($7::text IS NULL OR EXISTS (
    SELECT 1 FROM lg_writes w
    WHERE w.thread_id = h.thread_id AND w.ns = '' AND w.checkpoint_id = h.checkpoint_id
      AND w.channel = $7
      AND NOT EXISTS (
        SELECT 1 FROM lg_writes d
        WHERE d.thread_id = h.thread_id AND d.ns = '' AND d.checkpoint_id = h.checkpoint_id
          AND d.task_id = w.task_id AND d.channel = '__writes__')))
ORDER BY h.thread_id COLLATE "C"
LIMIT $6"#;

/// The statement without the head's metadata, and with it.
static STATEMENTS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        THREADS.replace("{metadata}", ""),
        THREADS.replace(
            "{metadata}",
            ", (SELECT c.metadata::text FROM lg_checkpoints c \
             WHERE c.thread_id = h.thread_id AND c.ns = '' AND c.checkpoint_id = h.checkpoint_id)",
        ),
    ]
});

/// Up to `limit` (`None`: all) threads after `after` that `query` selects but for its
/// metadata filter, with their head's metadata when `metadata`.
async fn fetch(
    pool: &PgPool,
    query: &ThreadQuery,
    after: Option<&str>,
    limit: Option<usize>,
    metadata: bool,
) -> Result<Vec<(ThreadInfo, String)>, CheckpointError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(
        STATEMENTS[usize::from(metadata)].as_str(),
    ))
    .bind(after)
    .bind(query.prefix.as_str())
    .bind(query.prefix_end())
    .bind(query.before_id())
    .bind(query.since_id())
    .bind(limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
    .bind(query.status_channel())
    .fetch_all(pool)
    .await
    .map_err(backend("threads"))?;
    thread_rows(&rows, metadata).map_err(backend("threads"))
}

/// The threads `query` asks for.
pub(super) async fn threads(
    pool: &PgPool,
    query: &ThreadQuery,
) -> Result<Vec<ThreadInfo>, CheckpointError> {
    query
        .answer(|after, limit, metadata| async move {
            fetch(pool, query, after.as_deref(), limit, metadata).await
        })
        .await
}
