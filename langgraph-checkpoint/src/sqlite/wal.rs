//! Preallocating the write-ahead log.
//!
//! Every commit appends its frames to the WAL file (and with `synchronous = FULL` syncs it).
//! While the file grows, each write has the file system allocate blocks, and the sync also
//! journals the new size, which roughly doubles its cost; after a WAL checkpoint SQLite restarts the log
//! from the top and commits overwrite blocks that already exist. SQLite deletes the log when
//! the last connection closes, so every process starts over with a growing log. Writing the
//! size the log reaches between two automatic checkpoints once, as zeros, at open makes every
//! commit an overwrite from the first. Zeros are never a valid frame (a frame must carry the
//! header's salt and a matching checksum), so SQLite reads the padding as the end of the log.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use sqlx::SqlitePool;

use super::backend;
use crate::error::CheckpointError;

/// Frames past the automatic checkpoint's threshold: the commit that crosses it.
const SLACK_FRAMES: u64 = 16;
/// Bytes of the WAL header, and of each frame's header.
const WAL_HEADER: u64 = 32;
const FRAME_HEADER: u64 = 24;

/// The size of `<db>-wal` once it holds `pages` frames of `page_size` bytes (and the slack).
pub(super) fn target_len(page_size: u64, pages: u64) -> u64 {
    WAL_HEADER + (pages + SLACK_FRAMES) * (page_size + FRAME_HEADER)
}

/// The path of the database's write-ahead log.
pub(super) fn wal_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// Extends the log of the database at `db` with zeros to [`target_len`] for `times` the
/// automatic checkpoint's threshold, holding the write lock so that no commit writes the log
/// meanwhile. A no-op when the log is already that long or automatic checkpoints are off;
/// skipped when the lock stays taken.
pub(super) async fn preallocate(
    pool: &SqlitePool,
    db: &Path,
    times: u64,
) -> Result<(), CheckpointError> {
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(pool)
        .await
        .map_err(backend("open"))?;
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(pool)
        .await
        .map_err(backend("open"))?;
    let (Ok(page), Ok(pages)) = (u64::try_from(page), u64::try_from(pages)) else {
        return Ok(());
    };
    if pages == 0 {
        return Ok(());
    }
    let want = target_len(page, pages.saturating_mul(times));
    let wal = wal_path(db);
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() >= want) {
        return Ok(());
    }
    // Another connection or process writing past the busy timeout: its log grows as usual.
    let Ok(tx) = pool.begin_with("BEGIN IMMEDIATE").await else {
        return Ok(());
    };
    pad(&wal, want).map_err(backend("open"))?;
    tx.commit().await.map_err(backend("open"))
}

/// Appends zeros to `wal` up to `want` bytes and syncs them.
fn pad(wal: &Path, want: u64) -> std::io::Result<()> {
    let mut f = match OpenOptions::new().append(true).open(wal) {
        Ok(f) => f,
        // Not in WAL mode after all (a database the pool could not switch): nothing to do.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len >= want {
        return Ok(());
    }
    let zeros = vec![0u8; 64 * 1024];
    let mut left = want - len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_data()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::SharedStr;
    use crate::model::{
        Checkpoint, CheckpointMetadata, Fence, ListOptions, PutCheckpoint, Source,
        next_checkpoint_id,
    };
    use crate::saver::Checkpointer;
    use crate::sqlite::{SqliteOptions, SqliteSaver, Synchronous};

    fn fresh_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lg-wal-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path
    }

    /// A saver whose log grows as SQLite grows it.
    async fn unpadded(db: &Path) -> SqliteSaver {
        let opts = SqliteOptions::default().preallocate_wal(false);
        SqliteSaver::open_with(db, opts).await.unwrap()
    }

    fn wal_len(db: &Path) -> u64 {
        std::fs::metadata(wal_path(db)).map_or(0, |m| m.len())
    }

    /// Puts `n` checkpoints on `thread` after `head` (claiming the thread when it has none);
    /// returns the new head.
    async fn extend(
        saver: &SqliteSaver,
        thread: &str,
        mut head: Option<SharedStr>,
        n: usize,
    ) -> Option<SharedStr> {
        for step in 0..n {
            let id = next_checkpoint_id(head.as_deref());
            saver
                .put(PutCheckpoint {
                    thread_id: thread.into(),
                    ns: String::new(),
                    checkpoint: Checkpoint::with_id(id.clone()),
                    metadata: CheckpointMetadata::new(Source::Loop, step as i64),
                    parent_id: head.clone(),
                    expected_head: head.clone(),
                    blobs: Vec::new(),
                    parent_writes: Vec::new(),
                    fence: Fence {
                        epoch: 1,
                        claim: head.is_none(),
                    },
                })
                .await
                .unwrap();
            head = Some(id);
        }
        head
    }

    async fn count(saver: &SqliteSaver, thread: &str) -> usize {
        saver
            .list(thread, "", &ListOptions::default())
            .await
            .unwrap()
            .len()
    }

    #[test]
    fn the_target_covers_the_checkpoint_threshold() {
        // SQLite's defaults: 4096-byte pages, a checkpoint once the log holds 1000 of them.
        assert_eq!(target_len(4096, 1000), 32 + 1016 * 4120);
        assert!(target_len(1024, 1000) < target_len(4096, 1000));
    }

    #[tokio::test]
    async fn opening_with_full_sync_preallocates_the_log_once() {
        let path = fresh_path("full");
        let saver = SqliteSaver::open(&path).await.unwrap();
        assert_eq!(wal_len(&path), target_len(4096, 1000));
        // Commits overwrite the padding: the file does not grow while the log is shorter.
        let head = extend(&saver, "t", None, 50).await;
        assert_eq!(wal_len(&path), target_len(4096, 1000));
        // A second saver on the same file finds the log long enough and leaves it alone.
        let again = SqliteSaver::open(&path).await.unwrap();
        assert_eq!(wal_len(&path), target_len(4096, 1000));
        extend(&again, "t", head, 5).await;
        assert_eq!(count(&saver, "t").await, 55);
    }

    #[tokio::test]
    async fn the_log_grows_as_usual_when_asked() {
        let off = fresh_path("off");
        let saver = unpadded(&off).await;
        extend(&saver, "t", None, 3).await;
        let len = wal_len(&off);
        assert!(len > 0 && len < target_len(4096, 1000) / 10, "{len}");
    }

    #[tokio::test]
    async fn opening_with_normal_sync_preallocates_the_log_too() {
        let normal = fresh_path("normal");
        let opts = SqliteOptions::default().synchronous(Synchronous::Normal);
        let saver = SqliteSaver::open_with(&normal, opts).await.unwrap();
        // Twice the threshold: the log's limit with checkpoints off the committing thread.
        assert_eq!(wal_len(&normal), target_len(4096, 2000));
        extend(&saver, "t", None, 3).await;
        assert_eq!(wal_len(&normal), target_len(4096, 2000));
        assert_eq!(count(&saver, "t").await, 3);
    }

    /// With `Synchronous::Normal`, a thread of the saver's copies the log back, and the log
    /// starts over instead of growing: thousands of commits, each writing at least one page,
    /// leave it well under the size it would reach without checkpoints.
    #[tokio::test]
    async fn normal_sync_checkpoints_off_the_committing_thread_and_the_log_starts_over() {
        let path = fresh_path("backfill");
        let opts = SqliteOptions::default().synchronous(Synchronous::Normal);
        let saver = SqliteSaver::open_with(&path, opts).await.unwrap();
        let direct = saver.direct.clone().unwrap();
        let backfill = direct
            .backfill()
            .expect("the log is checkpointed off the thread");
        extend(&saver, "t", None, 4000).await;
        assert!(
            wal_len(&path) < target_len(4096, 3000),
            "the log grew to {} bytes",
            wal_len(&path)
        );
        let waited = std::time::Instant::now();
        while backfill.runs() == 0 && waited.elapsed() < std::time::Duration::from_secs(20) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(backfill.runs() > 0);
        // The last commit is the head, also for a new saver on the file.
        let newest = |s: SqliteSaver| async move {
            let head = s.head("t", "").await.unwrap();
            head.checkpoint.map(|c| (c.checkpoint.id, c.metadata.step))
        };
        let before = newest(saver.clone()).await;
        assert_eq!(before.as_ref().map(|(_, step)| *step), Some(3999));
        // Closing waits for the thread to stop.
        assert!(!backfill.is_stopped());
        saver.close().await;
        assert!(backfill.is_stopped());
        drop(saver);
        let reopened = SqliteSaver::open(&path).await.unwrap();
        assert_eq!(newest(reopened).await, before);
    }

    /// With `Synchronous::Full`, or when turned off, checkpoints stay SQLite's own.
    #[tokio::test]
    async fn full_sync_or_the_option_off_keeps_checkpoints_in_the_commit() {
        let off = SqliteOptions::default()
            .synchronous(Synchronous::Normal)
            .background_checkpoints(false);
        for (name, opts) in [("full", SqliteOptions::default()), ("off", off)] {
            let path = fresh_path(&format!("inline-{name}"));
            let saver = SqliteSaver::open_with(&path, opts).await.unwrap();
            assert!(
                saver.direct.as_ref().unwrap().backfill().is_none(),
                "{name}"
            );
            assert_eq!(wal_len(&path), target_len(4096, 1000), "{name}");
        }
    }

    /// Padding appended behind committed frames that are not yet in the main file, and a
    /// copy of the files taken as a crash would leave them (no checkpoint, no clean close):
    /// SQLite recovers every commit from the log and reads the zeros as its end.
    #[tokio::test]
    async fn commits_before_and_after_the_padding_survive_a_crash() {
        let path = fresh_path("crash");
        let first = unpadded(&path).await;
        let head = extend(&first, "t", None, 20).await;
        let before = wal_len(&path);
        assert!(before < target_len(4096, 1000));
        // The first saver stays open, so its frames stay in the log; the second one pads it.
        let second = SqliteSaver::open(&path).await.unwrap();
        assert_eq!(wal_len(&path), target_len(4096, 1000));
        let head = extend(&second, "t", head, 10).await;
        extend(&first, "t", head, 10).await;
        assert_eq!(count(&second, "t").await, 40);

        let copy = fresh_path("crash-copy");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::copy(wal_path(&path), wal_path(&copy)).unwrap();
        let recovered = SqliteSaver::open(&copy).await.unwrap();
        assert_eq!(count(&recovered, "t").await, 40);
        let steps: Vec<i64> = recovered
            .list("t", "", &ListOptions::default())
            .await
            .unwrap()
            .iter()
            .map(|t| t.metadata.step)
            .collect();
        let expected: Vec<i64> = (0..20).chain(0..10).chain(0..10).rev().collect();
        assert_eq!(steps, expected);
    }

    /// A writer holding the lock past the busy timeout: opening skips the padding instead of
    /// failing, and the saver works.
    #[tokio::test]
    async fn a_locked_database_opens_without_padding() {
        let path = fresh_path("locked");
        drop(unpadded(&path).await);
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let opts = SqliteOptions::default().busy_timeout(std::time::Duration::from_millis(50));
        let saver = SqliteSaver::open_with(&path, opts).await.unwrap();
        assert!(wal_len(&path) < target_len(4096, 1000));
        other.execute_batch("COMMIT").unwrap();
        extend(&saver, "t", None, 2).await;
        assert_eq!(count(&saver, "t").await, 2);
    }
}
