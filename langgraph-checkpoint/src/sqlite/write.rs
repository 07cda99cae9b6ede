//! Writes through the pool: a plan (`script.rs`) is sent to a pooled connection as one script,
//! one round trip to the connection's worker thread and one commit. Claims and deleting a
//! thread are single statements or scripts of their own.

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::backend;
use super::script::{self, CLAIM, MAX_BATCH, PARAMS, Param, Params, claimed, shift_params};
use crate::error::CheckpointError;
use crate::model::{Fence, SaveOp};

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// The plan as one script: `BEGIN IMMEDIATE`, every op's statements with op `k`'s parameters
/// renamed to `$(10k + 1)`.., `COMMIT`.
fn script_sql(plan: &[Vec<String>]) -> String {
    let mut s = String::from("BEGIN IMMEDIATE;\n");
    for (k, statements) in plan.iter().enumerate() {
        for statement in statements {
            s += &shift_params(statement, k * PARAMS);
            s += ";\n";
        }
    }
    s + "COMMIT"
}

fn bind<'q>(q: Query<'q>, p: &'q Param) -> Query<'q> {
    match p {
        Param::Null => q.bind(None::<&str>),
        Param::Int(v) => q.bind(*v),
        Param::Text(s) => q.bind(s.as_str()),
    }
}

/// Runs a script on one connection and returns the tags of the rows it produced; if a
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

/// Runs `body` in a `BEGIN IMMEDIATE` transaction on a pooled connection: committed when it
/// returns `(_, true)`, rolled back when it returns `(_, false)` or fails.
pub(super) async fn in_transaction<T>(
    pool: &SqlitePool,
    op: &'static str,
    body: impl AsyncFnOnce(&mut SqliteConnection) -> Result<(T, bool), CheckpointError>,
) -> Result<T, CheckpointError> {
    let mut conn = pool.acquire().await.map_err(backend(op))?;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(backend(op))?;
    match body(&mut conn).await {
        Ok((out, true)) => {
            sqlx::query("COMMIT")
                .execute(&mut *conn)
                .await
                .map_err(backend(op))?;
            Ok(out)
        }
        Ok((out, false)) => {
            rollback(&mut conn).await;
            Ok(out)
        }
        Err(e) => {
            rollback(&mut conn).await;
            Err(e)
        }
    }
}

pub(super) async fn claim(
    pool: &SqlitePool,
    thread_id: &str,
    seen_epoch: i64,
) -> Result<Fence, CheckpointError> {
    let epoch = seen_epoch + 1;
    let changed = sqlx::query(CLAIM)
        .bind(thread_id)
        .bind(epoch)
        .bind(String::from(crate::model::new_checkpoint_id()))
        .execute(pool)
        .await
        .map_err(backend("claim"))?
        .rows_affected();
    claimed(thread_id, epoch, changed)
}

/// Stores ops (with their `params`) in order in one transaction per [`MAX_BATCH`] ops, each
/// transaction one script (one round trip, one commit). A rejected op stops the batch; the
/// ops before it are stored.
pub(super) async fn save(
    pool: &SqlitePool,
    op: &'static str,
    ops: &[SaveOp],
    params: &[Params],
) -> Result<(), CheckpointError> {
    for (chunk, chunk_params) in ops.chunks(MAX_BATCH).zip(params.chunks(MAX_BATCH)) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(script_sql(&script::plan(chunk))));
        for p in chunk_params.iter().flatten() {
            query = bind(query, p);
        }
        let tags = run_script(pool, op, query).await?;
        script::check(chunk, &tags)?;
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
