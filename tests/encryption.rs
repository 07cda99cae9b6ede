//! Encrypted checkpoints (`checkpoint::Encrypted`, feature `encryption`): the conformance
//! suite through the wrapper on the three savers, and a run that pauses with a `Send`, a
//! pending write and a question, whose database file then holds none of the run's values,
//! resumes from a new process, refuses a wrong key with a typed error, rotates its key, and
//! goes on from a thread written before encryption was turned on.

#![cfg(feature = "encryption")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use langgraph::checkpoint::{CheckpointError, Encrypted, EncryptionKey, conformance};
use langgraph::prelude::*;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Case {
    card: String,
    #[reducer(append)]
    notes: Vec<String>,
    approved: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Chunk {
    doc: String,
}

/// Every value the run below stores, each of them only in that run's data.
const SECRETS: [&str; 6] = [
    "CARD-SECRET",
    "NOTE-SECRET",
    "SEND-SECRET",
    "AUDIT-SECRET",
    "QUESTION-SECRET",
    "ANSWER-SECRET",
];

/// START -> intake -> (two Sends) worker -> review, audit -> END. `review` asks; `audit`
/// finishes beside it, so its write waits as a pending write while the question is open.
fn case_graph(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Case> {
    StateGraph::<Case>::new()
        .node("intake", |_: &Case| async {
            CaseUpdate::new()
                .card("CARD-SECRET-4111")
                .notes(vec!["NOTE-SECRET-intake".into()])
        })
        .node_with_input("worker", |c: Chunk| async move {
            CaseUpdate::new().notes(vec![format!("worked {}", c.doc)])
        })
        .node("review", |s: &Case, ctx: Ctx| {
            let question = format!("approve QUESTION-SECRET for {}?", s.card);
            async move {
                let answer: String = ctx.interrupt(question).await?;
                Ok::<_, NodeError>(CaseUpdate::new().approved(answer))
            }
        })
        .node("audit", |_: &Case| async {
            CaseUpdate::new().notes(vec!["AUDIT-SECRET".into()])
        })
        .edge(START, "intake")
        .route(
            "intake",
            |_: &Case| {
                Route::send_all((0..2).map(|i| {
                    SendTo::new(
                        "worker",
                        Chunk {
                            doc: format!("SEND-SECRET-{i}"),
                        },
                    )
                }))
            },
            ["worker"],
        )
        .edge("worker", "review")
        .edge("worker", "audit")
        .edge("review", END)
        .edge("audit", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lg-enc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The secrets found in the bytes of the database files in `dir` (main file, log, index).
fn secrets_on_disk(dir: &Path) -> Vec<&'static str> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    SECRETS
        .into_iter()
        .filter(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
        .collect()
}

async fn sqlite(dir: &Path) -> SqliteSaver {
    SqliteSaver::open(dir.join("store.db")).await.unwrap()
}

fn cfg() -> RunConfig {
    RunConfig::thread("case-1").durability(Durability::Sync)
}

/// Runs the case to its question and answers it on a new saver; returns the final state.
async fn run_case(first: Arc<dyn Checkpointer>, second: Arc<dyn Checkpointer>) -> Case {
    let out = case_graph(first)
        .invoke(Case::default(), &cfg())
        .await
        .unwrap();
    assert!(out.is_interrupted());
    let g = case_graph(second);
    let st = g.get_state(&cfg()).await.unwrap();
    assert_eq!(st.values.card, "CARD-SECRET-4111");
    assert_eq!(
        st.interrupts[0].value,
        json!("approve QUESTION-SECRET for CARD-SECRET-4111?")
    );
    g.resume(&cfg(), "ANSWER-SECRET")
        .await
        .unwrap()
        .into_value()
}

fn expected_case() -> Case {
    Case {
        card: "CARD-SECRET-4111".into(),
        notes: vec![
            "NOTE-SECRET-intake".into(),
            "worked SEND-SECRET-0".into(),
            "worked SEND-SECRET-1".into(),
            "AUDIT-SECRET".into(),
        ],
        approved: "ANSWER-SECRET".into(),
    }
}

#[tokio::test]
async fn conformance_through_the_wrapper_in_memory_and_on_sqlite() {
    let key = EncryptionKey::generate();
    conformance::run_all(&Encrypted::new(InMemorySaver::new(), key.clone()))
        .await
        .unwrap();
    let dir = temp_dir("conformance");
    conformance::run_all(&Encrypted::new(sqlite(&dir).await, key))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;

#[cfg(feature = "postgres")]
#[tokio::test]
async fn conformance_through_the_wrapper_on_postgres() {
    let s = pg::Scoped::new("enc").await;
    let saver = Encrypted::new(s.saver.clone(), EncryptionKey::generate());
    conformance::run_all(&saver).await.unwrap();
}

/// The same run unencrypted leaves every secret in the file (so the scan below can fail).
#[tokio::test]
async fn an_unencrypted_database_holds_the_values_in_clear() {
    let dir = temp_dir("clear");
    let out = run_case(Arc::new(sqlite(&dir).await), Arc::new(sqlite(&dir).await)).await;
    assert_eq!(out, expected_case());
    assert_eq!(secrets_on_disk(&dir), SECRETS);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_encrypted_run_pauses_and_resumes_with_nothing_in_clear_on_disk() {
    let dir = temp_dir("sealed");
    let key = EncryptionKey::generate();
    let open = |key: EncryptionKey| {
        let dir = dir.clone();
        async move { Arc::new(Encrypted::new(sqlite(&dir).await, key)) as Arc<dyn Checkpointer> }
    };
    let out = run_case(open(key.clone()).await, open(key.clone()).await).await;
    assert_eq!(out, expected_case());
    assert_eq!(secrets_on_disk(&dir), Vec::<&str>::new());
    // The history reads whole: the Send arguments of the checkpoint after intake too.
    let g = case_graph(open(key.clone()).await);
    let history = g.state_history(&cfg(), &Default::default()).await.unwrap();
    assert!(history.len() >= 5, "{} checkpoints", history.len());
    assert!(history.iter().any(|s| {
        s.values
            .notes
            .first()
            .is_some_and(|n| n == "NOTE-SECRET-intake")
    }));

    // A wrong key is a typed error naming the thread, and nothing is changed by it.
    let wrong = case_graph(open(EncryptionKey::generate()).await);
    let err = wrong.get_state(&cfg()).await.unwrap_err();
    match err {
        RunError::Checkpoint(CheckpointError::Corrupt {
            thread_id, reason, ..
        }) => {
            assert_eq!(thread_id, "case-1");
            assert!(reason.contains("does not open with the key"), "{reason}");
        }
        other => panic!("expected a corrupt checkpoint error, got {other:?}"),
    }
    assert!(wrong.invoke(Case::default(), &cfg()).await.is_err());
    assert_eq!(g.get_state(&cfg()).await.unwrap().values, expected_case());

    // Rotation: a new key seals, the old one still opens; a new turn goes on.
    let new_key = EncryptionKey::generate();
    let rotated = Arc::new(Encrypted::new(sqlite(&dir).await, new_key).also_decrypt_with(key));
    let g = case_graph(rotated);
    let out = g.invoke(Case::default(), &cfg()).await.unwrap();
    assert!(out.is_interrupted(), "a new turn asks again");
    let out = g
        .resume(&cfg(), "ANSWER-SECRET")
        .await
        .unwrap()
        .into_value();
    assert_eq!(out.notes.len(), 8, "{:?}", out.notes);
    assert_eq!(secrets_on_disk(&dir), Vec::<&str>::new());
    let _ = std::fs::remove_dir_all(dir);
}

/// A thread written before encryption was turned on is read and goes on; what is written
/// from then on is sealed.
#[tokio::test]
async fn a_thread_from_before_encryption_goes_on_encrypted() {
    let dir = temp_dir("legacy");
    let plain = case_graph(Arc::new(sqlite(&dir).await));
    assert!(
        plain
            .invoke(Case::default(), &cfg())
            .await
            .unwrap()
            .is_interrupted()
    );
    let key = EncryptionKey::generate();
    let g = case_graph(Arc::new(Encrypted::new(sqlite(&dir).await, key)));
    let out = g.resume(&cfg(), "LATER-ANSWER").await.unwrap().into_value();
    assert_eq!(out.approved, "LATER-ANSWER");
    assert_eq!(out.notes, expected_case().notes);
    let saver = sqlite(&dir).await;
    let raw = saver.head("case-1", "").await.unwrap().checkpoint.unwrap();
    assert!(!raw.values["approved"].to_string().contains("LATER-ANSWER"));
    assert_eq!(
        raw.values["card"],
        json!("CARD-SECRET-4111"),
        "older values stay as they were"
    );
    let _ = std::fs::remove_dir_all(dir);
}
