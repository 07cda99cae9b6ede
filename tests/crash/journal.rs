//! A journaled side effect survives a crash: the child charges (appends a line to a file)
//! through `ctx.once`, then is killed while the node still works; the restarted child runs
//! the node again and the charge is not repeated.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use langgraph::prelude::*;
use langgraph::{NodeError, SqliteSaver};

use crate::job::{log_line, temp_dir};

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Pay {
    receipt: String,
}

fn graph(dir: PathBuf, work: Duration) -> StateGraph<Pay> {
    StateGraph::<Pay>::new()
        .node("pay", move |_: &Pay, ctx: Ctx| {
            let dir = dir.clone();
            async move {
                let receipt: String = ctx
                    .once("charge", async {
                        log_line(&dir.join("charges"), &format!("charge {}", ctx.task_id()));
                        Ok::<_, NodeError>(format!("receipt-{}", std::process::id()))
                    })
                    .await?;
                // The rest of the node's work; the first child is killed here.
                tokio::time::sleep(work).await;
                Ok::<_, NodeError>(PayUpdate::new().receipt(receipt))
            }
        })
        .edge(START, "pay")
        .edge("pay", END)
}

/// The child: `LG_JOURNAL_CHILD=<dir>`, `LG_JOURNAL_WORK_MS` of work after the charge.
#[test]
fn journal_child() {
    let Ok(dir) = std::env::var("LG_JOURNAL_CHILD") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let work: u64 = std::env::var("LG_JOURNAL_WORK_MS")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let saver = SqliteSaver::open(dir.join("db.sqlite")).await.unwrap();
        let g = graph(dir.clone(), Duration::from_millis(work))
            .compile_with(saver)
            .unwrap();
        let cfg = RunConfig::thread("pay").durability(Durability::Sync);
        let started = g.get_state(&cfg).await.unwrap().checkpoint_id.is_some();
        if started {
            g.continue_run(&cfg).await.unwrap();
        } else {
            g.invoke(Pay::default(), &cfg).await.unwrap();
        }
    });
}

fn spawn(dir: &Path, work_ms: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "journal::journal_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LG_JOURNAL_CHILD", dir)
        .env("LG_JOURNAL_WORK_MS", work_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_journaled_charge_runs_once_across_a_crash() {
    let dir = temp_dir("journal");
    let charges = dir.join("charges");
    let mut child = spawn(&dir, 60_000);
    let first_pid = child.id();
    let t0 = Instant::now();
    while !charges.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the child never charged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Charged and recorded (`once` returns only after the journal write); now crash.
    tokio::time::sleep(Duration::from_millis(50)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(spawn(&dir, 0).wait().unwrap().success());

    let lines = std::fs::read_to_string(&charges).unwrap();
    assert_eq!(lines.lines().count(), 1, "charged once: {lines}");
    let saver = SqliteSaver::open(dir.join("db.sqlite")).await.unwrap();
    let g = graph(dir.clone(), Duration::ZERO)
        .compile_with(saver)
        .unwrap();
    let st = g.get_state(&RunConfig::thread("pay")).await.unwrap();
    assert!(st.next.is_empty(), "the run finished");
    assert_eq!(
        st.values.receipt,
        format!("receipt-{first_pid}"),
        "the second run used the first run's recorded receipt"
    );
    std::fs::remove_dir_all(&dir).ok();
}
