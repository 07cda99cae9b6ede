//! The direct connection: the statements a running graph waits on (reading a thread's head,
//! claiming it, storing checkpoints and pending writes) run on the caller's thread.
//!
//! The pool's connections run every statement on a worker thread of their own; handing a
//! statement over and being woken with its result costs tens of microseconds, as much as the
//! statement itself. A second connection to the same file, opened with `rusqlite` on the same
//! bundled SQLite, runs the ops as steps (`script.rs`) in place instead. It never waits: it is
//! used only when no other caller holds it, and it has no busy timeout, so when another
//! connection or process holds the database's write lock the operation is handed to the pool,
//! which waits for the lock on its worker. A rolled-back attempt stored nothing, so handing
//! over is safe.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Statement, params};

use super::backfill::Backfill;
use super::batch::{self, Job, Outcome};
use super::group::{self, Group};
use super::read::{LISTED, TUPLE, TUPLES};
use super::script::{self, CLAIM, Param, Params, Sql, Step, claimed};
use super::{Synchronous, backend};
use crate::assemble::Row;
#[cfg(test)]
use crate::assemble::assemble;
use crate::error::CheckpointError;
#[cfg(test)]
use crate::model::CheckpointTuple;
use crate::model::{Fence, SaveOp};

/// Statements kept prepared: the plans of a batch differ by op position and kind.
const CACHED_STATEMENTS: usize = 256;

/// The direct connection, shared with the group-commit thread; `None` once the saver is
/// closed.
pub(super) type Slot = Arc<Mutex<Option<Connection>>>;

/// A connection used on the caller's thread when it is free.
pub(super) struct Direct {
    conn: Slot,
    /// Checkpoints the log off the caller's thread (see `backfill.rs`), if asked.
    backfill: Option<Arc<Backfill>>,
    /// Shares transactions between runs that store side by side (see `group.rs`), if asked.
    group: Option<Group>,
    /// The connection syncs each commit (`Synchronous::Full`), but not a claim's (see
    /// [`Direct::claim`]) nor an unsynced save's.
    full: bool,
    /// The write-ahead log, which [`Direct::sync`] syncs.
    wal: std::path::PathBuf,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").finish_non_exhaustive()
    }
}

/// A row of [`TUPLE`] or [`TUPLES`] (whose seventh column is a pending write's checkpoint).
fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        kind: r.get(0)?,
        a: r.get(1)?,
        b: r.get(2)?,
        c: r.get(3)?,
        d: r.get(4)?,
        e: r.get(5)?,
        f: if r.as_ref().column_count() > 6 {
            r.get(6)?
        } else {
            None
        },
    })
}

/// Another connection holds a lock this statement needs.
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

impl Direct {
    /// Opens the database the pool has created and migrated; with `backfill`, the log is
    /// checkpointed off the caller's thread; with `group`, runs that store side by side
    /// share transactions.
    pub(super) fn open(
        path: &Path,
        synchronous: Synchronous,
        backfill: bool,
        group: bool,
    ) -> Result<Self, CheckpointError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend("open"))?;
        conn.busy_timeout(Duration::ZERO).map_err(backend("open"))?;
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(backend("open"))?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        let backfill = if backfill {
            Backfill::install(&conn, path)
                .map_err(backend("open"))?
                .map(Arc::new)
        } else {
            None
        };
        let conn = Arc::new(Mutex::new(Some(conn)));
        Ok(Self {
            group: group.then(|| Group::new(conn.clone(), backfill.clone())),
            conn,
            backfill,
            full: synchronous == Synchronous::Full,
            wal: {
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                wal.into()
            },
        })
    }

    /// The log's checkpointing thread, if this connection hands checkpoints to one.
    #[cfg(test)]
    pub(super) fn backfill(&self) -> Option<&Backfill> {
        self.backfill.as_deref()
    }

    /// The queue shared by runs that store side by side.
    #[cfg(test)]
    pub(super) fn group(&self) -> Option<&Group> {
        self.group.as_ref()
    }

    /// Runs `f` on the connection. `None`: the operation is left to the pool, because another
    /// caller is using the connection or the database is locked (nothing was stored).
    fn with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<Result<T, CheckpointError>> {
        let guard = self.conn.try_lock().ok()?;
        let conn = guard.as_ref()?;
        // A transaction left open by a rollback that failed: retry it, or leave the work to
        // the pool while it stays open.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").ok()?;
        }
        match f(conn) {
            Ok(v) => {
                if let Some(b) = &self.backfill {
                    b.after(conn);
                }
                Some(Ok(v))
            }
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                if is_busy(&e) {
                    None
                } else {
                    Some(Err(CheckpointError::backend(op, e)))
                }
            }
        }
    }

    /// The thread's epoch and a checkpoint (the newest of `ns` when `checkpoint_id` is `None`).
    #[cfg(test)]
    pub(super) fn load(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: Option<&str>,
    ) -> Option<Result<(i64, Option<CheckpointTuple>), CheckpointError>> {
        let rows = self.load_rows(thread_id, ns, checkpoint_id, None)?;
        Some(rows.and_then(|rows| assemble(thread_id, ns, rows)))
    }

    /// The rows of [`TUPLE`] for a checkpoint (the newest of `ns` when `checkpoint_id` is
    /// `None`), its chains stopping at the `kept` versions.
    pub(super) fn load_rows(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: Option<&str>,
        kept: Option<&str>,
    ) -> Option<Result<Vec<Row>, CheckpointError>> {
        self.with("get", |c| {
            let mut st = c.prepare_cached(TUPLE)?;
            let rows = st.query_map(params![thread_id, ns, checkpoint_id, kept], row_of)?;
            rows.collect::<rusqlite::Result<Vec<Row>>>()
        })
    }

    /// The rows of [`TUPLES`] for checkpoints `ids` (a JSON array of ids).
    pub(super) fn load_many_rows(
        &self,
        thread_id: &str,
        ns: &str,
        ids: &str,
    ) -> Option<Result<Vec<Row>, CheckpointError>> {
        self.with("list", |c| {
            let mut st = c.prepare_cached(TUPLES)?;
            let rows = st.query_map(params![thread_id, ns, ids], row_of)?;
            rows.collect::<rusqlite::Result<Vec<Row>>>()
        })
    }

    /// The `(id, metadata)` rows of [`LISTED`] (`before`, the SQL side of a metadata filter
    /// and a limit, -1 for none).
    pub(super) fn listed(
        &self,
        thread_id: &str,
        ns: &str,
        before: Option<&str>,
        prefilter: Option<&str>,
        limit: i64,
    ) -> Option<Result<Vec<(String, String)>, CheckpointError>> {
        self.with("list", |c| {
            let mut st = c.prepare_cached(LISTED.as_str())?;
            let rows = st.query_map(params![thread_id, ns, before, prefilter, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<(String, String)>>>()
        })
    }

    /// Claims the thread (see [`CLAIM`]), with a commit that skips the sync: a claim must be
    /// seen by every other connection before the run goes on, not outlive a crash of the
    /// machine (see [`Checkpointer::put_batch_unsynced`](crate::Checkpointer)). The run's
    /// next commit syncs the log, claim included.
    pub(super) fn claim(
        &self,
        thread_id: &str,
        seen_epoch: i64,
    ) -> Option<Result<Fence, CheckpointError>> {
        let epoch = seen_epoch + 1;
        let token = crate::model::new_checkpoint_id();
        let mut syncs = true;
        let changed = self.with("claim", |c| {
            let (changed, restored) = unsynced(self.full, c, |c| {
                c.prepare_cached(CLAIM)?
                    .execute(params![thread_id, epoch, token.as_str()])
            });
            syncs = restored;
            changed
        });
        if !syncs {
            self.retire();
        }
        Some(changed?.and_then(|n| claimed(thread_id, epoch, n as u64)))
    }

    /// Makes the commits that skipped their sync durable: syncs the write-ahead log, which
    /// holds them (a checkpoint of the log synced it before copying it into the database).
    pub(super) fn sync(&self) -> Result<(), CheckpointError> {
        if !self.full {
            return Ok(());
        }
        match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data().map_err(backend("sync")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CheckpointError::backend("sync", e)),
        }
    }

    /// Takes the connection out of use when it could not be set to sync its commits again:
    /// every later operation goes to the pool, whose commits sync (and so sync what this
    /// connection left unsynced, the log being one file written in order).
    fn retire(&self) {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        drop(conn);
    }

    /// Stores `ops` (with their `params`) in order in one transaction; a rejected op stops
    /// them, the ops before it are stored. A lone run stores on the caller's thread; runs
    /// that store side by side, or find the connection in use, share a transaction on the
    /// group's thread. [`Outcome::Busy`]: another connection holds the database. With
    /// `synced` false, a commit on the caller's thread skips the sync (see
    /// [`Checkpointer::put_batch_unsynced`](crate::Checkpointer)); a shared one syncs.
    pub(super) async fn save(
        &self,
        op: &'static str,
        ops: &[SaveOp],
        params: Vec<Params>,
        synced: bool,
    ) -> Outcome {
        let job = Job {
            op,
            steps: script::steps(ops),
            params,
        };
        let shared = self
            .group
            .as_ref()
            .is_some_and(|g| g.shared_now(group::thread_key(ops)));
        if !shared
            && let Ok(guard) = self.conn.try_lock()
            && let Some(conn) = guard.as_ref()
        {
            let (outcome, syncs) = if synced {
                (batch::commit_one(conn, job), true)
            } else {
                unsynced(self.full, conn, |c| batch::commit_one(c, job))
            };
            if let Some(b) = &self.backfill {
                b.after(conn);
            }
            drop(guard);
            if !syncs {
                self.retire();
            }
            return outcome;
        }
        match &self.group {
            Some(g) => g.run(job).await,
            // The connection is in use (or closed): the pool stores it.
            None => Outcome::Busy(job.params),
        }
    }

    /// Commits what is queued, stops the saver's threads and closes the connection; from
    /// then on every operation is left to the pool.
    pub(super) async fn close(&self) {
        if let Some(g) = &self.group {
            g.close().await;
        }
        if let Some(b) = &self.backfill {
            b.close().await;
        }
        self.retire();
    }
}

/// Runs `f` on `conn` with commits that skip the sync, when the connection syncs them
/// (`full`), then sets it to sync again. The flag is false if that failed: the connection
/// must then store nothing more.
fn unsynced<T>(full: bool, conn: &Connection, f: impl FnOnce(&Connection) -> T) -> (T, bool) {
    if !full || conn.pragma_update(None, "synchronous", "NORMAL").is_err() {
        return (f(conn), true);
    }
    let out = f(conn);
    let restored = conn.pragma_update(None, "synchronous", "FULL").is_ok();
    (out, restored)
}

/// Runs the ops' steps inside an open transaction and returns how many ops were stored: a
/// prefix, since an op whose first step does not hold stops the rest. A later step that does
/// not hold (which the checks before it rule out) is an error, so that no op is stored in
/// part.
pub(super) fn run_ops(
    conn: &Connection,
    ops: &[Vec<Step>],
    params: &[Params],
) -> rusqlite::Result<usize> {
    let mut stored = 0;
    'ops: for (steps, params) in ops.iter().zip(params) {
        for (i, step) in steps.iter().enumerate() {
            let holds = match *step {
                Step::Require(sql) => {
                    let mut st = conn.prepare_cached(&sql.text)?;
                    bind(&mut st, sql, params)?;
                    let mut rows = st.raw_query();
                    match rows.next()? {
                        Some(row) => row.get::<_, Option<bool>>(0)?.unwrap_or(false),
                        None => false,
                    }
                }
                Step::Change(sql, want) => {
                    let mut st = conn.prepare_cached(&sql.text)?;
                    bind(&mut st, sql, params)?;
                    let changed = st.raw_execute()?;
                    if changed != want && i > 0 {
                        return Err(rusqlite::Error::StatementChangedRows(changed));
                    }
                    changed == want
                }
            };
            if !holds {
                break 'ops;
            }
        }
        stored += 1;
    }
    Ok(stored)
}

/// Binds each `$N` of statement `sql` to the op's parameter `N`, in the order worked out
/// when `sql` was made.
fn bind(st: &mut Statement<'_>, sql: &Sql, params: &[Param]) -> rusqlite::Result<()> {
    if st.parameter_count() != sql.binds.len() {
        return Err(rusqlite::Error::InvalidParameterCount(
            sql.binds.len(),
            st.parameter_count(),
        ));
    }
    for (i, &n) in sql.binds.iter().enumerate() {
        match params.get(n) {
            Some(Param::Null) => st.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
            Some(Param::Int(v)) => st.raw_bind_parameter(i + 1, v)?,
            Some(Param::Text(s)) => st.raw_bind_parameter(i + 1, s.as_str())?,
            None => return Err(rusqlite::Error::InvalidParameterName(format!("${}", n + 1))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::model::{Checkpoint, CheckpointMetadata, PutCheckpoint, Source, next_checkpoint_id};
    use crate::sqlite::{SqliteOptions, SqliteSaver, read};

    async fn database(name: &str) -> (SqliteSaver, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("lg-direct-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let opts = SqliteOptions::default().direct(false);
        (SqliteSaver::open_with(&path, opts).await.unwrap(), path)
    }

    fn first_put(thread: &str) -> PutCheckpoint {
        PutCheckpoint {
            thread_id: thread.into(),
            ns: String::new(),
            checkpoint: Checkpoint::with_id(next_checkpoint_id(None)),
            metadata: CheckpointMetadata::new(Source::Input, -1),
            parent_id: None,
            expected_head: None,
            blobs: Vec::new(),
            parent_writes: Vec::new(),
            fence: Fence {
                epoch: 1,
                claim: true,
            },
        }
    }

    #[tokio::test]
    async fn writes_and_reads_on_the_callers_thread() {
        let (pool_saver, path) = database("plain").await;
        let direct = Direct::open(&path, Synchronous::Full, false, true).unwrap();
        let put = first_put("t");
        let id = put.checkpoint.id.clone();
        let ops = [SaveOp::Checkpoint(put)];
        let outcome = direct
            .save("put", &ops, script::params(&ops).unwrap(), true)
            .await;
        assert!(matches!(outcome, Outcome::Stored(1)), "{outcome:?}");
        // The pool sees what the direct connection committed, and the other way round.
        let head = crate::Checkpointer::head(&pool_saver, "t", "")
            .await
            .unwrap();
        assert_eq!(head.epoch, 1);
        assert_eq!(head.checkpoint.map(|c| c.checkpoint.id), Some(id.clone()));
        let (epoch, tuple) = direct.load("t", "", None).unwrap().unwrap();
        assert_eq!((epoch, tuple.map(|t| t.checkpoint.id)), (1, Some(id)));
        // A stale claim is a conflict, not a hand-over.
        let err = direct.claim("t", 0).unwrap().unwrap_err();
        assert!(matches!(err, CheckpointError::Conflict { .. }), "{err}");
        assert_eq!(direct.claim("t", 1).unwrap().unwrap().epoch, 2);
    }

    fn synchronous(direct: &Direct) -> i64 {
        let guard = direct.conn.lock().unwrap();
        let conn = guard.as_ref().unwrap();
        conn.pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn unsynced_commits_are_seen_at_once_and_the_connection_syncs_again_after_them() {
        let (pool_saver, path) = database("claim-sync").await;
        let direct = Direct::open(&path, Synchronous::Full, false, false).unwrap();
        assert_eq!(synchronous(&direct), 2, "FULL");
        // An unsynced save: seen by the pool's connections at once, and FULL again after it.
        let put = first_put("s");
        let id = put.checkpoint.id.clone();
        let ops = [SaveOp::Checkpoint(put)];
        let outcome = direct
            .save("put", &ops, script::params(&ops).unwrap(), false)
            .await;
        assert!(matches!(outcome, Outcome::Stored(1)), "{outcome:?}");
        assert_eq!(synchronous(&direct), 2, "FULL again after the save");
        let head = crate::Checkpointer::head(&pool_saver, "s", "").await;
        assert_eq!(head.unwrap().checkpoint.map(|c| c.checkpoint.id), Some(id));
        assert!(
            direct.wal.exists(),
            "sync finds the log at {}",
            direct.wal.display()
        );
        direct.sync().unwrap();
        // A claim commits unsynced too.
        assert_eq!(direct.claim("t", 0).unwrap().unwrap().epoch, 1);
        assert_eq!(synchronous(&direct), 2, "FULL again after the claim");
        let head = crate::Checkpointer::head(&pool_saver, "t", "").await;
        assert_eq!(head.unwrap().epoch, 1, "other connections see the claim");
        // A claim that fails (stale, or the database locked) puts the setting back too.
        assert!(direct.claim("t", 0).unwrap().is_err());
        assert_eq!(synchronous(&direct), 2);
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert!(direct.claim("t", 1).is_none(), "left to the pool");
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(synchronous(&direct), 2);
        // The claim survives the connection: a new saver reads it from the file.
        drop(direct);
        pool_saver.close().await;
        let reopened = SqliteSaver::open(&path).await.unwrap();
        let head = crate::Checkpointer::head(&reopened, "t", "").await;
        assert_eq!(head.unwrap().epoch, 1);
        // `NORMAL` is left as it is.
        let direct = Direct::open(&path, Synchronous::Normal, false, false).unwrap();
        direct.claim("t", 1).unwrap().unwrap();
        assert_eq!(synchronous(&direct), 1, "NORMAL");
        direct.sync().unwrap();
    }

    #[tokio::test]
    async fn a_locked_database_or_a_busy_connection_is_left_to_the_pool() {
        let (_pool_saver, path) = database("locked").await;
        let direct = Direct::open(&path, Synchronous::Normal, false, true).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ops = [SaveOp::Checkpoint(first_put("t"))];
        let params = script::params(&ops).unwrap();
        let Outcome::Busy(params) = direct.save("put", &ops, params, true).await else {
            panic!("a locked database is left to the pool");
        };
        assert!(direct.claim("t", 0).is_none());
        // The failed attempt left no transaction open: once the lock is gone, it works.
        other.execute_batch("COMMIT").unwrap();
        // The same ops and the parameters handed back, as the pool would use them.
        let outcome = direct.save("put", &ops, params, true).await;
        assert!(matches!(outcome, Outcome::Stored(1)), "{outcome:?}");
        // A caller that finds the connection in use hands over too.
        let guard = direct.conn.lock().unwrap();
        assert!(direct.load("t", "", None).is_none());
        drop(guard);
        assert!(direct.load("t", "", None).unwrap().unwrap().1.is_some());
    }

    #[tokio::test]
    async fn lists_on_the_callers_thread_match_the_pools_and_a_busy_connection_hands_over() {
        use crate::model::{Blob, BlobValue, ListOptions};
        use crate::saver::Checkpointer;
        let (pool_saver, path) = database("list").await;
        let mut prev: Option<String> = None;
        for i in 0..5 {
            let mut put = first_put("t");
            let id = next_checkpoint_id(prev.as_deref());
            put.checkpoint = Checkpoint::with_id(id.clone());
            put.checkpoint
                .channel_versions
                .insert("xs".into(), id.as_str().into());
            put.metadata = CheckpointMetadata::new(Source::Loop, i);
            put.parent_id = prev.as_deref().map(Into::into);
            put.expected_head = prev.as_deref().map(Into::into);
            put.blobs = vec![Blob {
                channel: "xs".into(),
                version: id.as_str().into(),
                value: BlobValue::Full {
                    value: serde_json::json!((0..=i).collect::<Vec<_>>()),
                },
            }];
            if i > 0 {
                put.fence = put.fence.held();
            }
            pool_saver.put(put).await.unwrap();
            prev = Some(id.to_string());
        }
        let direct = Direct::open(&path, Synchronous::Normal, false, false).unwrap();
        let spin = crate::spin::Spin::new(std::time::Duration::ZERO);
        let mut opts = ListOptions {
            limit: Some(3),
            ..ListOptions::default()
        };
        opts.filter.insert("step".into(), serde_json::json!(3));
        for opts in [ListOptions::default(), opts] {
            let pool = &pool_saver.pool;
            let here = read::list(pool, Some(&direct), &spin, "t", "", &opts).await;
            let there = read::list(pool, None, &spin, "t", "", &opts).await;
            assert_eq!(format!("{here:?}"), format!("{there:?}"));
            assert!(!here.unwrap().is_empty());
        }
        let listed = direct.listed("t", "", None, None, 2).unwrap().unwrap();
        assert_eq!(listed.len(), 2);
        let ids = serde_json::to_string(&[&listed[0].0]).unwrap();
        let rows = direct.load_many_rows("t", "", &ids).unwrap().unwrap();
        assert!(rows.iter().any(|r| r.kind == 1), "{rows:?}");
        // A caller that finds the connection in use reads through the pool.
        let guard = direct.conn.lock().unwrap();
        assert!(direct.listed("t", "", None, None, 2).is_none());
        assert!(direct.load_many_rows("t", "", &ids).is_none());
        drop(guard);
    }

    #[tokio::test]
    async fn no_step_makes_sqlite_build_a_temporary_table() {
        let (_pool_saver, path) = database("explain").await;
        let conn = Connection::open(&path).unwrap();
        let mut claim = first_put("t");
        claim.parent_id = Some("p".into());
        claim.parent_writes = vec![crate::model::PendingWrite {
            task_id: "a".into(),
            task_name: "node".into(),
            channel: "c".into(),
            value: serde_json::json!(1),
        }];
        let mut held = first_put("t");
        held.fence.claim = false;
        let writes = crate::model::PutWrites {
            thread_id: "t".into(),
            ns: String::new(),
            checkpoint_id: "p".into(),
            writes: claim.parent_writes.clone(),
            fence: Fence {
                epoch: 1,
                claim: false,
            },
        };
        let ops = [
            SaveOp::Checkpoint(claim),
            SaveOp::Checkpoint(held),
            SaveOp::Writes(writes),
        ];
        let mut seen = 0;
        let params = script::params(&ops).unwrap();
        for (steps, params) in script::steps(&ops).into_iter().zip(&params) {
            for step in steps {
                let (Step::Require(sql) | Step::Change(sql, _)) = step;
                let mut st = conn.prepare(&format!("EXPLAIN {}", sql.text)).unwrap();
                bind(&mut st, sql, params).unwrap();
                let mut rows = st.raw_query();
                let mut opcodes = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    opcodes.push(row.get::<_, String>(1).unwrap());
                }
                assert!(opcodes.len() > 3, "{}", sql.text);
                assert!(
                    !opcodes.iter().any(|o| o == "OpenEphemeral"),
                    "{}",
                    sql.text
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 7);
    }

    #[test]
    fn parameters_are_bound_by_name_and_unknown_names_refused() {
        let conn = Connection::open_in_memory().unwrap();
        let params = [Param::Text("a".into()), Param::Int(7), Param::Null];
        let sql = Sql::new("SELECT $2, $1, $3 IS NULL, $2 + 1".into());
        let mut st = conn.prepare(&sql.text).unwrap();
        bind(&mut st, &sql, &params).unwrap();
        let mut rows = st.raw_query();
        let row = rows.next().unwrap().unwrap();
        assert_eq!(row.get::<_, i64>(0).unwrap(), 7);
        assert_eq!(row.get::<_, String>(1).unwrap(), "a");
        assert!(row.get::<_, bool>(2).unwrap());
        assert_eq!(row.get::<_, i64>(3).unwrap(), 8);
        drop(rows);
        // A parameter the op does not have, and one the order does not know.
        let sql = Sql::new("SELECT $4".into());
        let mut st = conn.prepare(&sql.text).unwrap();
        assert!(bind(&mut st, &sql, &params).is_err());
        let sql = Sql::new("SELECT $1, ?2".into());
        let mut st = conn.prepare(&sql.text).unwrap();
        assert!(bind(&mut st, &sql, &params).is_err());
    }

    /// The order worked out from the text is the one SQLite numbers the parameters in.
    #[test]
    fn every_step_binds_the_parameters_sqlite_names() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::DDL).unwrap();
        for sql in script::all_step_sql() {
            let st = conn.prepare(&sql.text).unwrap();
            assert_eq!(st.parameter_count(), sql.binds.len(), "{}", sql.text);
            for (i, n) in sql.binds.iter().enumerate() {
                let name = format!("${}", n + 1);
                assert_eq!(
                    st.parameter_name(i + 1),
                    Some(name.as_str()),
                    "{}",
                    sql.text
                );
            }
        }
    }
}
