//! Kill and resume: a child runs the job and is killed with SIGKILL after a random delay,
//! again and again, each time resuming the thread; when a thread finishes, the next thread
//! starts, until enough kills happened. Checked after every kill: every checkpoint committed
//! before stays there and the committed step never goes back. Checked at the end: each
//! thread's final state equals the uninterrupted run's, and no task whose result was committed
//! (its step's checkpoint, or its own saved writes) started again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use langgraph::prelude::*;

use crate::job::{self, Backend, Mode, STEPS};

/// A deterministic pseudo-random sequence of kill delays in ms (no extra dependency).
fn delays(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        15 + (x >> 33) % 120
    })
}

/// Replays the log: returns (resumes, task starts), panicking at the first task that started
/// again although its result had been committed.
fn check_log(log: &str) -> (usize, usize) {
    let mut committed: HashMap<&str, i64> = HashMap::new();
    let mut saved: HashSet<&str> = HashSet::new();
    let (mut resumes, mut starts) = (0, 0);
    for line in log.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "resume" => {
                resumes += 1;
                committed.insert(parts[1], parts[2].parse().unwrap());
                saved.extend(parts.get(3).into_iter().flat_map(|s| s.split(',')));
            }
            "start" => {
                starts += 1;
                let (thread, task, step) = (parts[1], parts[2], parts[3].parse::<i64>().unwrap());
                let done = committed.get(thread).copied().unwrap_or(i64::MIN);
                assert!(
                    step > done,
                    "{thread}: task {task} of step {step} ran again after step {done} was committed"
                );
                assert!(
                    !saved.contains(task),
                    "{thread}: task {task} ran again although its writes were saved"
                );
            }
            _ => {}
        }
    }
    (resumes, starts)
}

/// The step of a thread without checkpoints (a child killed before its first commit).
const NO_CHECKPOINT: i64 = -2;

/// What the parent sees of a thread between kills.
struct Committed {
    step: i64,
    ids: HashSet<String>,
}

impl Default for Committed {
    /// Nothing committed yet: a kill before the first commit leaves the thread as empty.
    fn default() -> Self {
        Self {
            step: NO_CHECKPOINT,
            ids: HashSet::new(),
        }
    }
}

async fn observe(g: &CompiledGraph<job::Job>, thread: &str, before: &Committed) -> Committed {
    let cfg = job::config(thread, Durability::Sync);
    let hist = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    let ids: HashSet<String> = hist
        .iter()
        .filter_map(|s| s.checkpoint_id.clone())
        .collect();
    let lost: Vec<&String> = before.ids.difference(&ids).collect();
    assert!(
        lost.is_empty(),
        "{thread}: committed checkpoints vanished: {lost:?}"
    );
    let step = hist
        .first()
        .and_then(|s| s.metadata.as_ref())
        .map_or(NO_CHECKPOINT, |m| m.step);
    assert!(
        step >= before.step,
        "{thread}: step went back from {} to {step}",
        before.step
    );
    Committed { step, ids }
}

/// The threads a child runs side by side: `width` of them, the `n`th group.
fn group(n: usize, width: usize) -> Vec<String> {
    (0..width).map(|i| format!("job-{n}-{i}")).collect()
}

/// Kills children on `backend`, each running `width` threads side by side, until `want` kills
/// happened; returns the kills.
async fn kill_and_resume(
    tag: &str,
    backend: Backend,
    width: usize,
    want: usize,
    seed: u64,
    durability: Durability,
) -> usize {
    let dir = job::temp_dir(tag);
    let g = job::graph(dir.join("parent.log"), Duration::ZERO)
        .compile_with_shared(backend.saver().await)
        .unwrap();
    let started = Instant::now();
    let (mut kills, mut groups) = (0, vec![group(0, width)]);
    let mut seen: HashMap<String, Committed> = HashMap::new();
    let mut delays = delays(seed);
    while kills < want {
        let threads = groups.last().unwrap().clone();
        let mut child = job::spawn_child(&dir, &backend, &threads.join(","), Mode::Run, durability);
        tokio::time::sleep(Duration::from_millis(delays.next().unwrap())).await;
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child failed: {status}");
            groups.push(group(groups.len(), width));
            seen.clear();
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        for thread in &threads {
            let before = seen.remove(thread).unwrap_or_default();
            let now = observe(&g, thread, &before).await;
            seen.insert(thread.clone(), now);
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{tag}: too slow"
        );
    }
    // Finish the last threads unkilled.
    let last = groups.last().unwrap().join(",");
    let status = job::spawn_child(&dir, &backend, &last, Mode::Run, durability)
        .wait()
        .unwrap();
    assert!(status.success());
    let threads: Vec<String> = groups.concat();

    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    let (resumes, starts) = check_log(&log);
    assert!(resumes >= kills / 2, "{resumes} resumes for {kills} kills");
    let resumed_at: HashSet<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("resume "))
        .map(|l| l.rsplit_once(' ').map_or(l, |(head, _)| head))
        .collect();
    assert!(
        resumed_at.len() >= 5,
        "{tag}: kills landed at only {} distinct steps",
        resumed_at.len()
    );
    let want_state = job::reference().await;
    for t in &threads {
        let got = g.get_state(&job::config(t, durability)).await.unwrap();
        assert_eq!(got.values, want_state, "{tag} {t}: final state");
        assert!(got.next.is_empty(), "{tag} {t}: finished");
        assert_eq!(got.values.seen, (1..=STEPS).collect::<Vec<_>>());
        assert!(
            log.contains(&format!("end {t}")),
            "{tag} {t}: a child finished it"
        );
    }
    eprintln!(
        "{tag}: {kills} kills over {} threads, {resumes} resumes, {starts} task starts",
        threads.len()
    );
    backend.cleanup();
    std::fs::remove_dir_all(&dir).ok();
    kills
}

/// Kills on a SQLite file of its own; `width` threads per child.
async fn sqlite_kills(tag: &str, width: usize, want: usize, seed: u64, durability: Durability) {
    let dir = job::temp_dir(&format!("{tag}-db"));
    let backend = Backend::Sqlite(dir.join("db.sqlite"));
    let kills = kill_and_resume(tag, backend, width, want, seed, durability).await;
    assert!(kills >= want);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn sqlite_runs_killed_at_random_points_resume_exactly() {
    sqlite_kills("kills-sqlite", 1, 25, 0x5eed_1234, Durability::Sync).await;
}

/// The default durability: a run's start commit skips its fsync, and checkpoints are stored
/// while the next step runs. A killed process loses nothing that was committed, so the same
/// checks hold (a task whose result was not stored yet may run again, as `async` allows).
#[tokio::test]
async fn sqlite_async_runs_killed_at_random_points_resume_exactly() {
    sqlite_kills("kills-sqlite-async", 1, 20, 0xa5c_0de5, Durability::Async).await;
}

/// Three runs side by side in each child: their checkpoints share commits (group commit),
/// and a kill lands in the middle of shared transactions.
#[tokio::test]
async fn sqlite_runs_side_by_side_killed_at_random_points_resume_exactly() {
    sqlite_kills("kills-sqlite-side", 3, 20, 0x51de_b1de, Durability::Sync).await;
}

/// Kills on a PostgreSQL schema of its own (`name`: letters, digits and `_`).
#[cfg(feature = "postgres")]
async fn postgres_kills(name: &str, want: usize, seed: u64, durability: Durability) {
    let schema = crate::pg::schema_name(name);
    let tag = format!("kills-pg-{name}");
    let kills = kill_and_resume(&tag, Backend::Postgres(schema), 1, want, seed, durability).await;
    assert!(kills >= want);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_runs_killed_at_random_points_resume_exactly() {
    postgres_kills("kills", 25, 0x0bad_cafe, Durability::Sync).await;
}

/// The same under the default durability on PostgreSQL, whose start commits do not wait for
/// the WAL flush.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_async_runs_killed_at_random_points_resume_exactly() {
    postgres_kills("kills_async", 15, 0x0a5c_0bad, Durability::Async).await;
}
