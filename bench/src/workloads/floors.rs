//! What the machine itself costs, measured next to a storage workload so its result can be
//! read against it: the disk's durable write, and one bare SQLite commit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, params};

/// Commits before timing: past SQLite's first automatic checkpoint (1,000 log pages, two or
/// three pages a commit), so the timed commits overwrite a log that exists, as the saver's
/// preallocated log makes them do.
const WARMUP_COMMITS: usize = 600;
/// Timed commits: enough to include the automatic checkpoints a run pays for.
const TIMED_COMMITS: usize = 1_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One 100-byte write plus fsync in `dir`: the disk's floor for a durable commit (median of
/// 50, µs).
pub(crate) fn fsync_floor_us(dir: &Path) -> f64 {
    let path = dir.join(format!("lgbench-fsync-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("create");
    let v = (0..50)
        .map(|_| {
            let t = Instant::now();
            f.write_all(&[b'x'; 100]).expect("write");
            f.sync_data().expect("fsync");
            t.elapsed().as_nanos() as f64 / 1000.0
        })
        .collect();
    let _ = std::fs::remove_file(&path);
    median(v)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// One bare SQLite commit in `dir`, in µs: `BEGIN IMMEDIATE`, one prepared insert of a
/// `row_bytes` row keyed by text (a rowid table and its key's index, the shape of a
/// checkpoint row) and `COMMIT`, in WAL mode with `synchronous` (`FULL` or `NORMAL`). It is
/// the least a saver that commits each superstep to SQLite can pay: the log's locks, its
/// page writes, and with `FULL` its fsync, with no framework around it. The figure is the
/// mean over the timed commits, as a workload's time per superstep is, so it includes the
/// automatic checkpoints, which sync the log and the database.
pub(crate) fn sqlite_commit_floor_us(dir: &Path, synchronous: &str, row_bytes: usize) -> f64 {
    let path: PathBuf = dir.join(format!("lgbench-commit-{}.sqlite", std::process::id()));
    remove_db(&path);
    let us = mean_commit_us(&path, synchronous, row_bytes).expect("bare SQLite commits");
    remove_db(&path);
    us
}

fn mean_commit_us(path: &Path, synchronous: &str, row_bytes: usize) -> rusqlite::Result<f64> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.execute_batch(
        "CREATE TABLE rows (thread_id TEXT NOT NULL, row_id TEXT NOT NULL, body TEXT NOT NULL, \
         PRIMARY KEY (thread_id, row_id))",
    )?;
    let body = "x".repeat(row_bytes);
    let commit = |i: usize| -> rusqlite::Result<()> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        conn.prepare_cached("INSERT INTO rows (thread_id, row_id, body) VALUES (?1, ?2, ?3)")?
            .execute(params!["thread", format!("{i:020}"), body])?;
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    };
    for i in 0..WARMUP_COMMITS {
        commit(i)?;
    }
    let t = Instant::now();
    for i in WARMUP_COMMITS..WARMUP_COMMITS + TIMED_COMMITS {
        commit(i)?;
    }
    Ok(t.elapsed().as_nanos() as f64 / 1000.0 / TIMED_COMMITS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_commit_is_timed_and_leaves_no_files() {
        let dir = std::env::temp_dir();
        let us = sqlite_commit_floor_us(&dir, "NORMAL", 400);
        assert!(us.is_finite() && us > 0.0, "{us}");
        let left = dir.join(format!("lgbench-commit-{}.sqlite", std::process::id()));
        assert!(!left.exists());
        assert!(fsync_floor_us(&dir) > 0.0);
    }
}
