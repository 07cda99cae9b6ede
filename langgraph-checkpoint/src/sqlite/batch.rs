//! One transaction for the save jobs of several runs: the outcome of each job, as if it had
//! been committed alone.
//!
//! If a statement fails, the shared transaction is rolled back and each job is committed on
//! its own, so that the failure is the failing job's only. A rejected op (a stale fence,
//! another head) stops its own job only, as it would alone. A database locked by another
//! connection hands every job back with its parameters, for the pool.

use rusqlite::Connection;

use super::direct::{is_busy, run_ops};
use super::script::{Params, Step};
use crate::error::CheckpointError;

/// What became of a job.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The job's first `n` ops were stored: all of them, unless one was rejected.
    Stored(usize),
    /// The job failed and nothing of it was stored.
    Failed(CheckpointError),
    /// Another connection held the database: nothing was stored, and the parameters come
    /// back for the pool.
    Busy(Vec<Params>),
}

/// Ops to store in one transaction, shared or not.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) op: &'static str,
    pub(super) steps: Vec<Vec<Step>>,
    pub(super) params: Vec<Params>,
}

/// Commits `jobs` in one transaction; one outcome per job, in order. If a statement fails,
/// the transaction is rolled back and each job is committed on its own, so that the failure
/// is the failing job's alone.
pub(super) fn commit(conn: &Connection, jobs: Vec<Job>) -> Vec<Outcome> {
    if jobs.len() == 1 {
        return jobs.into_iter().map(|job| commit_one(conn, job)).collect();
    }
    let all = transaction(conn, |c| {
        jobs.iter()
            .map(|job| run_ops(c, &job.steps, &job.params))
            .collect::<rusqlite::Result<Vec<usize>>>()
    });
    match all {
        Ok(stored) => stored.into_iter().map(Outcome::Stored).collect(),
        Err(e) if is_busy(&e) => jobs.into_iter().map(|j| Outcome::Busy(j.params)).collect(),
        Err(_) => jobs.into_iter().map(|job| commit_one(conn, job)).collect(),
    }
}

/// Commits one job in a transaction of its own (what a lone run does on its thread).
pub(super) fn commit_one(conn: &Connection, job: Job) -> Outcome {
    match transaction(conn, |c| run_ops(c, &job.steps, &job.params)) {
        Ok(n) => Outcome::Stored(n),
        Err(e) if is_busy(&e) => Outcome::Busy(job.params),
        Err(e) => Outcome::Failed(CheckpointError::backend(job.op, e)),
    }
}

/// Runs `f` between `BEGIN IMMEDIATE` and `COMMIT`; on an error, rolls back, so that nothing
/// of it is stored.
fn transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    if !conn.is_autocommit() {
        // A transaction left open by a rollback that failed.
        conn.execute_batch("ROLLBACK")?;
    }
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let done = f(conn).and_then(|v| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(v)
    });
    if done.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    done
}

/// What the tests of the group-commit files share: a database and checkpoints to store.
#[cfg(test)]
pub(super) mod testing {
    #![allow(clippy::unwrap_used)]

    use super::Job;
    use crate::model::{
        Checkpoint, CheckpointMetadata, Fence, PutCheckpoint, SaveOp, Source, next_checkpoint_id,
    };
    use crate::sqlite::script;
    use crate::sqlite::{SqliteOptions, SqliteSaver};

    /// A new SQLite saver in a directory of its own, and the database path.
    pub(crate) async fn database(
        name: &str,
        options: SqliteOptions,
    ) -> (SqliteSaver, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("lg-group-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        (SqliteSaver::open_with(&path, options).await.unwrap(), path)
    }

    /// The checkpoint of `thread` at `step` after `prev` (without `prev`: the first, which
    /// claims the thread).
    pub(crate) fn put(thread: &str, prev: Option<&str>, step: i64) -> PutCheckpoint {
        PutCheckpoint {
            thread_id: thread.into(),
            ns: String::new(),
            checkpoint: Checkpoint::with_id(next_checkpoint_id(prev)),
            metadata: CheckpointMetadata::new(Source::Loop, step),
            parent_id: prev.map(Into::into),
            expected_head: prev.map(Into::into),
            blobs: Vec::new(),
            parent_writes: Vec::new(),
            fence: Fence {
                epoch: 1,
                claim: prev.is_none(),
            },
        }
    }

    /// A job storing `p` alone.
    pub(crate) fn job(p: PutCheckpoint) -> Job {
        let ops = [SaveOp::Checkpoint(p)];
        Job {
            op: "put",
            steps: script::steps(&ops),
            params: script::params(&ops).unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use super::testing::{database, job, put};
    use super::*;
    use crate::Checkpointer;
    use crate::sqlite::SqliteOptions;

    #[tokio::test]
    async fn a_failing_job_fails_alone_and_a_rejected_one_stores_nothing() {
        let (saver, path) = database("isolation", SqliteOptions::default()).await;
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON lg_checkpoints WHEN NEW.thread_id = 'bad' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
        let jobs = vec![
            job(put("a", None, 0)),
            job(put("bad", None, 0)),
            job(put("c", None, 0)),
            // A second claim of `a` at the same epoch: rejected, as it would be alone.
            job(put("a", None, 0)),
        ];
        let outcomes = commit(&conn, jobs);
        assert!(matches!(outcomes[0], Outcome::Stored(1)), "{outcomes:?}");
        match &outcomes[1] {
            Outcome::Failed(e) => assert!(e.to_string().contains("refused"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(outcomes[2], Outcome::Stored(1)), "{outcomes:?}");
        assert!(matches!(outcomes[3], Outcome::Stored(0)), "{outcomes:?}");
        for (thread, stored) in [("a", true), ("bad", false), ("c", true)] {
            let head = saver.head(thread, "").await.unwrap();
            assert_eq!(head.checkpoint.is_some(), stored, "{thread}");
        }
    }

    #[tokio::test]
    async fn a_locked_database_hands_every_job_back_with_its_parameters() {
        let (_saver, path) = database("busy", SqliteOptions::default()).await;
        let conn = Connection::open(&path).unwrap();
        conn.busy_timeout(Duration::ZERO).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let outcomes = commit(&conn, vec![job(put("a", None, 0)), job(put("b", None, 0))]);
        assert_eq!(outcomes.len(), 2);
        for o in outcomes {
            let Outcome::Busy(params) = o else {
                panic!("{o:?}")
            };
            assert_eq!(params.len(), 1);
        }
        other.execute_batch("ROLLBACK").unwrap();
    }
}
