//! Two processes continue the same paused thread at the same moment: exactly one proceeds to
//! the end, the other gets the typed conflict error; the history stays linear and no step is
//! lost or run twice.

use std::time::Duration;

use langgraph::prelude::*;

use crate::job::{self, Backend, Mode, STEPS};

async fn two_resumers(tag: &str, backend: Backend) {
    let dir = job::temp_dir(tag);
    let g = job::graph(dir.join("log"), Duration::ZERO)
        .compile_with_shared(backend.saver().await)
        .unwrap();
    // Pause the thread before the first fan-out.
    let cfg = job::config("shared", Durability::Sync);
    let paused = g
        .invoke(Job::default(), &cfg.clone().interrupt_before(["w1"]))
        .await
        .unwrap();
    assert!(paused.paused);

    let mut children: Vec<_> = (0..2)
        .map(|_| job::spawn_child(&dir, &backend, "shared", Mode::Race, Durability::Sync))
        .collect();
    // Both are connected and polling before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(dir.join("go"), "").unwrap();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let mut outcomes: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("result-")
                .then(|| std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["conflict", "ok"], "{tag}");

    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.values, job::reference().await, "{tag}: final state");
    assert_eq!(st.values.seen, (1..=STEPS).collect::<Vec<_>>());
    let hist = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap();
    for pair in hist.windows(2) {
        assert_eq!(
            pair[0].parent_checkpoint_id, pair[1].checkpoint_id,
            "{tag}: linear history"
        );
    }
    backend.cleanup();
    std::fs::remove_dir_all(&dir).ok();
}

use job::Job;

#[tokio::test]
async fn sqlite_two_processes_resume_one_thread_one_wins() {
    let dir = job::temp_dir("race-sqlite-db");
    two_resumers("race-sqlite", Backend::Sqlite(dir.join("db.sqlite"))).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_two_processes_resume_one_thread_one_wins() {
    let schema = crate::pg::schema_name("race");
    two_resumers("race-pg", Backend::Postgres(schema)).await;
}
