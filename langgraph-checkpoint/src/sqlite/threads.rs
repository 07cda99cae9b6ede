//! Listing threads: one statement that walks the distinct thread ids of the checkpoints
//! table through its primary key (a skip scan: one index lookup per thread, whatever the
//! threads' lengths) and stops as soon as the page is full.

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::backend;
use crate::error::CheckpointError;
use crate::threads::{ThreadInfo, ThreadQuery};

/// `?1` after, `?2` prefix, `?3` the lowest id of `updated_before`, `?4` of `updated_since`,
/// `?5` the limit. The recursive part finds the next thread id after the last one (ids in
/// byte order: SQLite's `BINARY` collation) while it still starts with the prefix; the
/// `LIMIT -1` keeps the head lookup from being copied into each condition that reads it.
const THREADS: &str = "
WITH RECURSIVE t(id) AS (
    SELECT (SELECT min(thread_id) FROM lg_checkpoints
            WHERE (?1 IS NULL OR thread_id > ?1) AND thread_id >= ?2)
    UNION ALL
    SELECT (SELECT min(thread_id) FROM lg_checkpoints WHERE thread_id > t.id)
    FROM t WHERE t.id IS NOT NULL AND substr(t.id, 1, length(?2)) = ?2
)
SELECT id, head FROM (
    SELECT id, (SELECT max(checkpoint_id) FROM lg_checkpoints
                WHERE thread_id = t.id AND ns = '') AS head
    FROM t WHERE id IS NOT NULL AND substr(id, 1, length(?2)) = ?2 LIMIT -1
)
WHERE head IS NOT NULL AND (?3 IS NULL OR head < ?3) AND (?4 IS NULL OR head >= ?4)
LIMIT ?5";

/// The threads `query` asks for.
pub(super) async fn threads(
    pool: &SqlitePool,
    query: &ThreadQuery,
) -> Result<Vec<ThreadInfo>, CheckpointError> {
    let rows = sqlx::query(THREADS)
        .bind(query.after.as_deref())
        .bind(query.prefix.as_str())
        .bind(query.before_id())
        .bind(query.since_id())
        .bind(query.sql_limit())
        .fetch_all(pool)
        .await
        .map_err(backend("threads"))?;
    rows.iter()
        .map(|r| {
            Ok(ThreadInfo::new(
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(backend("threads"))
}
