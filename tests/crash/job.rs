//! The job the children run, where it is stored, and the child process itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use langgraph::checkpoint::Checkpointer;
use langgraph::prelude::*;
use langgraph::{SqliteOptions, Synchronous};

/// Supersteps of the loop node.
pub const STEPS: i64 = 200;
/// Every this many steps the loop fans out to three workers of different speeds.
const FAN_EVERY: i64 = 25;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub counter: i64,
    #[reducer(append)]
    pub seen: Vec<i64>,
    #[reducer(append)]
    pub fanned: Vec<String>,
}

/// Appends a line and syncs it: the log is the side effect whose duplicates the tests look for.
/// The line and its newline go out in one `write`, which a kill cannot tear (`writeln!` writes
/// them separately, so a child killed in between joined its line to the next process's).
pub fn log_line(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
    f.sync_data().unwrap();
}

/// The job: `STEPS` loop steps, fanning out to three workers every `FAN_EVERY` steps. Every
/// task logs `start <thread> <task id> <step> <node>` before its work; `pace` is the work.
pub fn graph(log: PathBuf, pace: Duration) -> StateGraph<Job> {
    let l = log.clone();
    let mut g = StateGraph::<Job>::new()
        .node("step", move |s: &Job, ctx: &Ctx| {
            let thread = ctx.thread_id().unwrap_or("-").to_string();
            log_line(
                &l,
                &format!("start {thread} {} {} step", ctx.task_id(), ctx.step()),
            );
            let n = s.counter + 1;
            async move {
                tokio::time::sleep(pace).await;
                JobUpdate::new().counter(n).seen(vec![n])
            }
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Job| {
                if s.counter >= STEPS {
                    Route::end()
                } else if s.counter % FAN_EVERY == 0 {
                    Route::to_all(["w1", "w2", "w3"])
                } else {
                    Route::to("step")
                }
            },
            ["step", "w1", "w2", "w3", END],
        );
    for (name, factor) in [("w1", 1u32), ("w2", 4), ("w3", 7)] {
        let l = log.clone();
        g = g
            .node(name, move |s: &Job, ctx: &Ctx| {
                let thread = ctx.thread_id().unwrap_or("-").to_string();
                log_line(
                    &l,
                    &format!("start {thread} {} {} {name}", ctx.task_id(), ctx.step()),
                );
                let tag = format!("{name}@{}", s.counter);
                async move {
                    tokio::time::sleep(pace * factor).await;
                    JobUpdate::new().fanned(vec![tag])
                }
            })
            .edge(name, "step");
    }
    g
}

/// The final state of an uninterrupted run.
pub async fn reference() -> Job {
    let g = graph(
        std::env::temp_dir().join("lg-crash-ref.log"),
        Duration::ZERO,
    )
    .compile_with(InMemorySaver::new())
    .unwrap();
    let cfg = RunConfig::thread("ref").recursion_limit(10 * STEPS as usize);
    g.invoke(Job::default(), &cfg).await.unwrap().into_value()
}

/// Where the job is stored.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Backend {
    fn to_env(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite:{}", p.display()),
            #[cfg(feature = "postgres")]
            Self::Postgres(schema) => format!("postgres:{schema}"),
        }
    }

    fn from_env(v: &str) -> Self {
        match v.split_once(':') {
            Some(("sqlite", p)) => Self::Sqlite(PathBuf::from(p)),
            #[cfg(feature = "postgres")]
            Some(("postgres", schema)) => Self::Postgres(schema.to_string()),
            _ => panic!("bad backend {v}"),
        }
    }

    pub async fn saver(&self) -> Arc<dyn Checkpointer> {
        match self {
            Self::Sqlite(p) => Arc::new(
                langgraph::SqliteSaver::open_with(
                    p,
                    SqliteOptions::default().synchronous(Synchronous::Full),
                )
                .await
                .unwrap(),
            ),
            #[cfg(feature = "postgres")]
            Self::Postgres(schema) => {
                let opts = langgraph::PostgresOptions::default().schema(schema.clone());
                Arc::new(
                    langgraph::PostgresSaver::connect_with(&crate::pg::url(), opts)
                        .await
                        .unwrap(),
                )
            }
        }
    }

    pub fn cleanup(&self) {
        match self {
            Self::Sqlite(_) => {}
            #[cfg(feature = "postgres")]
            Self::Postgres(schema) => crate::pg::drop_schema(schema),
        }
    }
}

/// The run config of a thread (the loop needs more than the default recursion limit).
pub fn config(thread: &str, durability: Durability) -> RunConfig {
    RunConfig::thread(thread)
        .durability(durability)
        .recursion_limit(10 * STEPS as usize)
}

fn durability_to_env(d: Durability) -> &'static str {
    match d {
        Durability::Sync => "sync",
        Durability::Async => "async",
        Durability::Exit => "exit",
    }
}

fn durability_from_env(v: &str) -> Durability {
    match v {
        "async" => Durability::Async,
        "exit" => Durability::Exit,
        _ => Durability::Sync,
    }
}

/// What a child does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Start or resume the thread and run it to its end.
    Run,
    /// Wait for the file `go` in the directory, then continue the thread; write the outcome
    /// (`ok`, `conflict` or `error ...`) to `result-<pid>`.
    Race,
}

/// Spawns a child on `thread` (or several, comma-separated) in `dir` (where the log is),
/// running with `durability`.
pub fn spawn_child(
    dir: &Path,
    backend: &Backend,
    thread: &str,
    mode: Mode,
    durability: Durability,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "job::child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LG_CRASH_CHILD", dir)
        .env("LG_CRASH_BACKEND", backend.to_env())
        .env("LG_CRASH_THREAD", thread)
        .env("LG_CRASH_DURABILITY", durability_to_env(durability))
        .env(
            "LG_CRASH_MODE",
            if mode == Mode::Race { "race" } else { "run" },
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The pace of the children's work per task.
pub const PACE: Duration = Duration::from_millis(6);

/// The child: see [`Mode`].
#[test]
fn child_process() {
    let Ok(dir) = std::env::var("LG_CRASH_CHILD") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let backend = Backend::from_env(&std::env::var("LG_CRASH_BACKEND").unwrap());
    let thread = std::env::var("LG_CRASH_THREAD").unwrap();
    let race = std::env::var("LG_CRASH_MODE").as_deref() == Ok("race");
    let durability = durability_from_env(&std::env::var("LG_CRASH_DURABILITY").unwrap());
    let log = dir.join("log");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let g = graph(log.clone(), PACE)
            .compile_with_shared(backend.saver().await)
            .unwrap();
        let cfg = config(&thread, durability);
        if race {
            while !dir.join("go").exists() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let outcome = match g.continue_run(&cfg).await {
                Ok(_) => "ok".to_string(),
                Err(e) if e.is_conflict() => "conflict".to_string(),
                Err(e) => format!("error {e}"),
            };
            let file = dir.join(format!("result-{}", std::process::id()));
            std::fs::write(file, outcome).unwrap();
            return;
        }
        // Several threads (comma-separated) run side by side, sharing the saver's commits.
        let runs = thread.split(',').map(|thread| {
            let (g, log, thread) = (g.clone(), log.clone(), thread.to_string());
            tokio::spawn(async move { run_thread(&g, &log, &thread, durability).await })
        });
        for run in futures::future::join_all(runs).await {
            run.unwrap();
        }
    });
}

/// Starts or resumes `thread` and runs it to its end, logging what it does.
async fn run_thread(g: &CompiledGraph<Job>, log: &Path, thread: &str, durability: Durability) {
    let cfg = config(thread, durability);
    let st = g.get_state(&cfg).await.unwrap();
    match st.metadata.as_ref().map(|m| m.step) {
        None => {
            log_line(log, &format!("begin {thread}"));
            g.invoke(Job::default(), &cfg).await.unwrap();
        }
        Some(step) => {
            let done: Vec<String> = st
                .tasks
                .iter()
                .filter(|t| t.result.is_some())
                .map(|t| t.id.clone())
                .collect();
            log_line(log, &format!("resume {thread} {step} {}", done.join(",")));
            g.continue_run(&cfg).await.unwrap();
        }
    }
    log_line(log, &format!("end {thread}"));
}

/// A fresh directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lg-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
