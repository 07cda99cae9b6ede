//! Crash recovery: a child process runs a long graph on SQLite and is killed with SIGKILL at
//! random points; each time it is resumed. The final state must equal an uninterrupted run's,
//! and no task whose result was committed (a checkpoint, or a saved pending write) may run
//! again.
//!
//! The child is this test binary, re-run with `LG_CRASH_CHILD=1` and the `child_process`
//! filter; in a normal run that test returns at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use langgraph::prelude::*;
use langgraph::{SqliteOptions, SqliteSaver, Synchronous};

const STEPS: i64 = 40;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Job {
    counter: i64,
    #[reducer(append)]
    seen: Vec<i64>,
    #[reducer(append)]
    fanned: Vec<String>,
}

fn log_line(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(f, "{line}").unwrap();
    f.sync_data().unwrap();
}

/// 40 loop steps; every 8th step fans out to three parallel workers of different speeds.
fn graph(log: PathBuf) -> StateGraph<Job> {
    let (l1, l2) = (log.clone(), log);
    let mut g = StateGraph::<Job>::new()
        .node("step", move |s: &Job, ctx: &Ctx| {
            log_line(&l1, &format!("start {} {} step", ctx.task_id(), ctx.step()));
            let n = s.counter + 1;
            async move {
                tokio::time::sleep(Duration::from_millis(8)).await;
                JobUpdate::new().counter(n).seen(vec![n])
            }
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Job| {
                if s.counter >= STEPS {
                    Route::end()
                } else if s.counter % 8 == 0 {
                    Route::to_all(["w1", "w2", "w3"])
                } else {
                    Route::to("step")
                }
            },
            ["step", "w1", "w2", "w3", END],
        );
    for (name, ms) in [("w1", 5u64), ("w2", 25), ("w3", 45)] {
        let l = l2.clone();
        g = g
            .node(name, move |s: &Job, ctx: &Ctx| {
                log_line(
                    &l,
                    &format!("start {} {} {name}", ctx.task_id(), ctx.step()),
                );
                let tag = format!("{name}@{}", s.counter);
                async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    JobUpdate::new().fanned(vec![tag])
                }
            })
            .edge(name, "step");
    }
    g
}

async fn saver(db: &Path) -> SqliteSaver {
    SqliteSaver::open_with(db, SqliteOptions::default().synchronous(Synchronous::Full))
        .await
        .unwrap()
}

/// The child: starts or resumes the thread and runs it to the end.
#[test]
fn child_process() {
    let Ok(dir) = std::env::var("LG_CRASH_CHILD") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let log = dir.join("log");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let g = graph(log.clone())
            .compile_with(saver(&dir.join("db.sqlite")).await)
            .unwrap();
        let cfg = RunConfig::thread("job")
            .durability(Durability::Sync)
            .recursion_limit(1000);
        let st = g.get_state(&cfg).await.unwrap();
        match st.metadata.as_ref().map(|m| m.step) {
            None => {
                log_line(&log, "begin");
                g.invoke(Job::default(), &cfg).await.unwrap();
            }
            Some(step) => {
                let done: Vec<String> = st
                    .tasks
                    .iter()
                    .filter(|t| t.result.is_some())
                    .map(|t| t.id.clone())
                    .collect();
                log_line(&log, &format!("resume {step} {}", done.join(",")));
                g.continue_run(&cfg).await.unwrap();
            }
        }
        log_line(&log, "end");
    });
}

fn spawn_child(dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LG_CRASH_CHILD", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A deterministic pseudo-random sequence (no extra dependency).
fn delays(seed: u64, n: usize) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            30 + (x >> 33) % 170
        })
        .collect()
}

fn check_log(log: &str) -> (usize, usize) {
    let mut committed_step = i64::MIN;
    let mut saved: HashSet<String> = HashSet::new();
    let (mut resumes, mut starts) = (0, 0);
    for line in log.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "resume" => {
                resumes += 1;
                committed_step = parts[1].parse().unwrap();
                saved = parts
                    .get(2)
                    .map(|s| {
                        s.split(',')
                            .filter(|x| !x.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
            }
            "start" => {
                starts += 1;
                let (task, step) = (parts[1], parts[2].parse::<i64>().unwrap());
                assert!(
                    step > committed_step,
                    "task {task} of step {step} ran again after step {committed_step} was committed"
                );
                assert!(
                    !saved.contains(task),
                    "task {task} ran again although its writes were saved"
                );
            }
            _ => {}
        }
    }
    (resumes, starts)
}

#[tokio::test]
async fn killed_runs_resume_to_the_same_state_without_rerunning_committed_tasks() {
    let dir = std::env::temp_dir().join(format!("lg-crash-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut kills = 0;
    let started = Instant::now();
    for d in delays(0x5eed_1234, 200) {
        let mut child = spawn_child(&dir);
        tokio::time::sleep(Duration::from_millis(d)).await;
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "child failed: {status}");
                break;
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "did not finish"
        );
    }
    // Finish (the last delay may have been too short): run once more unkilled.
    let status = spawn_child(&dir).wait().unwrap();
    assert!(status.success());
    assert!(kills >= 5, "only {kills} kills happened");

    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.lines().last() == Some("end"),
        "the last child finished the run"
    );
    let (resumes, starts) = check_log(&log);
    assert!(resumes >= kills, "{resumes} resumes for {kills} kills");
    assert!(starts >= STEPS as usize, "{starts}");

    // The final state equals an uninterrupted run's.
    let g = graph(dir.join("log-ref"))
        .compile_with(InMemorySaver::new())
        .unwrap();
    let want = g
        .invoke(
            Job::default(),
            &RunConfig::thread("ref").recursion_limit(1000),
        )
        .await
        .unwrap()
        .into_value();
    let g = graph(dir.join("unused"))
        .compile_with(saver(&dir.join("db.sqlite")).await)
        .unwrap();
    let got = g.get_state(&RunConfig::thread("job")).await.unwrap();
    assert_eq!(got.values, want);
    assert!(got.next.is_empty());
    assert_eq!(got.values.seen, (1..=STEPS).collect::<Vec<_>>());
    eprintln!("{kills} kills, {resumes} resumes, {starts} task starts");
    std::fs::remove_dir_all(&dir).ok();
}

fn uuid_like() -> String {
    format!("{}-{:?}", std::process::id(), Instant::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}
