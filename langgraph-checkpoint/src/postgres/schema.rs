//! The PostgreSQL tables, created idempotently at connect.

use sqlx::postgres::PgPool;

use super::backend;
use crate::error::CheckpointError;

/// The schema version this build creates and reads. (Version 1 databases of earlier builds
/// gain the partial index `lg_heads_root`, which lists threads, at their next connect; a
/// build without it ignores it.)
pub(crate) const SCHEMA_VERSION: i64 = 1;

const DDL: &str = "
CREATE TABLE IF NOT EXISTS lg_schema (version BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS lg_threads (
    thread_id TEXT PRIMARY KEY,
    epoch     BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS lg_heads (
    thread_id     TEXT NOT NULL,
    ns            TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns)
);
CREATE INDEX IF NOT EXISTS lg_heads_root ON lg_heads (thread_id COLLATE \"C\") WHERE ns = '';
CREATE TABLE IF NOT EXISTS lg_checkpoints (
    thread_id     TEXT NOT NULL,
    ns            TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id     TEXT,
    checkpoint    JSONB NOT NULL,
    metadata      JSONB NOT NULL,
    blobs         JSONB NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
);
CREATE TABLE IF NOT EXISTS lg_writes (
    thread_id     TEXT NOT NULL,
    ns            TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    task_name     TEXT NOT NULL,
    value         JSONB NOT NULL,
    seq           BIGSERIAL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, channel)
);
";

/// Creates the tables if they are missing (serialized across processes with an advisory
/// lock) and refuses a database written by a newer schema.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), CheckpointError> {
    let mut tx = pool.begin().await.map_err(backend("migrate"))?;
    sqlx::query("SELECT pg_advisory_xact_lock(7419202611)")
        .execute(&mut *tx)
        .await
        .map_err(backend("migrate"))?;
    sqlx::raw_sql(DDL)
        .execute(&mut *tx)
        .await
        .map_err(backend("migrate"))?;
    let found: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM lg_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend("migrate"))?;
    match found {
        None => {
            sqlx::query("INSERT INTO lg_schema (version) VALUES ($1)")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(backend("migrate"))?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            // Release the transaction's locks now, not when the pool reaps the connection.
            let _ = tx.rollback().await;
            return Err(CheckpointError::newer_schema(v, SCHEMA_VERSION));
        }
        Some(_) => {}
    }
    tx.commit().await.map_err(backend("migrate"))
}
