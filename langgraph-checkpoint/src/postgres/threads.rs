//! Listing threads: a range scan of the root namespace's head rows, in byte order (`COLLATE
//! "C"`, as the other savers compare ids, whatever the database's collation), through the
//! partial index `lg_heads_root`.

use sqlx::Row;
use sqlx::postgres::PgPool;

use super::backend;
use crate::error::CheckpointError;
use crate::threads::{ThreadInfo, ThreadQuery};

/// `$1` after, `$2` prefix, `$3` the end of the prefix's range, `$4` the lowest id of
/// `updated_before`, `$5` of `updated_since`, `$6` the limit (`NULL`: none).
const THREADS: &str = r#"
SELECT thread_id, checkpoint_id FROM lg_heads
WHERE ns = ''
  AND thread_id COLLATE "C" >= $2
  AND ($1::text IS NULL OR thread_id COLLATE "C" > $1)
  AND ($3::text IS NULL OR thread_id COLLATE "C" < $3)
  AND ($4::text IS NULL OR checkpoint_id COLLATE "C" < $4)
  AND ($5::text IS NULL OR checkpoint_id COLLATE "C" >= $5)
ORDER BY thread_id COLLATE "C"
LIMIT $6"#;

/// The threads `query` asks for.
pub(super) async fn threads(
    pool: &PgPool,
    query: &ThreadQuery,
) -> Result<Vec<ThreadInfo>, CheckpointError> {
    let rows = sqlx::query(THREADS)
        .bind(query.after.as_deref())
        .bind(query.prefix.as_str())
        .bind(query.prefix_end())
        .bind(query.before_id())
        .bind(query.since_id())
        .bind(query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
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
