//! The SQLite tables, created idempotently at open.

use sqlx::sqlite::SqlitePool;

use super::backend;
use crate::error::CheckpointError;

/// The schema version this build creates and reads.
///
/// - 1: threads, checkpoints, writes.
/// - 2: `lg_threads.owner`, the token of the claim that set the epoch.
pub(crate) const SCHEMA_VERSION: i64 = 2;

pub(super) const DDL: &str = "
CREATE TABLE IF NOT EXISTS lg_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lg_threads (
    thread_id TEXT PRIMARY KEY,
    epoch     INTEGER NOT NULL,
    owner     TEXT
);
CREATE TABLE IF NOT EXISTS lg_checkpoints (
    thread_id     TEXT NOT NULL,
    ns            TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id     TEXT,
    checkpoint    TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    blobs         TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
);
CREATE TABLE IF NOT EXISTS lg_writes (
    thread_id     TEXT NOT NULL,
    ns            TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    task_name     TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, channel)
);
";

/// Creates the tables if they are missing and records the schema version; refuses a
/// database written by a newer schema.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), CheckpointError> {
    let mut tx = pool.begin().await.map_err(backend("migrate"))?;
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
            sqlx::query("INSERT INTO lg_schema (version) VALUES (?1)")
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
        Some(1) => {
            sqlx::query("ALTER TABLE lg_threads ADD COLUMN owner TEXT")
                .execute(&mut *tx)
                .await
                .map_err(backend("migrate"))?;
            sqlx::query("UPDATE lg_schema SET version = ?1")
                .bind(SCHEMA_VERSION)
                .execute(&mut *tx)
                .await
                .map_err(backend("migrate"))?;
        }
        Some(_) => {}
    }
    tx.commit().await.map_err(backend("migrate"))
}
