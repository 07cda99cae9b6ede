//! Answers given while nothing was asked (a thread paused at a breakpoint, or edited after a
//! node asked) are stored with the checkpoint: a later process hands them to the first
//! question asked, and a task that failed after taking one gets it again. Updates given with a
//! resume are stored the same way. Each test runs on SQLite and on PostgreSQL; a new saver on
//! the same storage stands for a new process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use langgraph::checkpoint::CheckpointError;
use langgraph::prelude::*;
use serde_json::json;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Doc {
    #[reducer(append)]
    log: Vec<String>,
}

/// START -> draft -> review -> END, paused before review; review asks for a number, and fails
/// (for good) on its first `fail_first` attempts after it got the answer.
fn graph(
    saver: Arc<dyn Checkpointer>,
    fail_first: usize,
    runs: Arc<AtomicUsize>,
) -> CompiledGraph<Doc> {
    reviewed(saver, fail_first, runs, None)
}

/// [`graph`], with a retry policy on review, whose failures are then retryable.
fn reviewed(
    saver: Arc<dyn Checkpointer>,
    fail_first: usize,
    runs: Arc<AtomicUsize>,
    retry: Option<RetryPolicy>,
) -> CompiledGraph<Doc> {
    let retryable = retry.is_some();
    let g = StateGraph::<Doc>::new()
        .node("draft", |_: &Doc| {
            DocUpdate::new().log(vec!["draft".into()])
        })
        .node("review", move |_: &Doc, ctx: Ctx| {
            let runs = runs.clone();
            async move {
                let score: u32 = ctx.interrupt("score?").await?;
                if runs.fetch_add(1, Ordering::SeqCst) < fail_first {
                    let e = NodeError::msg("reviewer crashed");
                    return Err(if retryable { e } else { e.permanent() });
                }
                Ok::<_, NodeError>(DocUpdate::new().log(vec![format!("score {score}")]))
            }
        })
        .edge(START, "draft")
        .edge("draft", "review")
        .edge("review", END)
        .interrupt_before(["review"]);
    let g = match retry {
        Some(p) => g.retry("review", p),
        None => g,
    };
    g.compile_with_shared(saver).unwrap()
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Form {
    #[reducer(append)]
    log: Vec<String>,
    owner: String,
}

/// The future of the form node.
type Asking = std::pin::Pin<Box<dyn Future<Output = Result<FormUpdate, NodeError>> + Send>>;

/// Asks a name, then an age, and logs both; a form filled for Bob also sets the owner.
fn form_node(_: &Form, ctx: Ctx) -> Asking {
    Box::pin(async move {
        let name: String = ctx.interrupt("name?").await?;
        let age: u32 = ctx.interrupt("age?").await?;
        let mut out = FormUpdate::new().log(vec![format!("{name} {age}")]);
        if name == "Bob" {
            out = out.owner("form".to_string());
        }
        Ok(out)
    })
}

/// START -> form -> END, optionally paused before the form.
fn form(saver: Arc<dyn Checkpointer>, breakpoint: bool) -> CompiledGraph<Form> {
    let g = StateGraph::<Form>::new()
        .node("form", form_node)
        .edge(START, "form")
        .edge("form", END);
    let g = if breakpoint {
        g.interrupt_before(["form"])
    } else {
        g
    };
    g.compile_with_shared(saver).unwrap()
}

on_both!(retry: a_kept_answer_survives_a_failed_attempt_and_a_new_process_on_sqlite, a_kept_answer_survives_a_failed_attempt_and_a_new_process_on_postgres);

async fn retry(store: &Store) {
    let cfg = RunConfig::thread("doc-1");
    let runs = Arc::new(AtomicUsize::new(0));
    {
        let g = graph(store.open().await, 1, runs.clone());
        let out = g.invoke(Doc::default(), &cfg).await.unwrap();
        assert!(
            out.paused && out.interrupts.is_empty(),
            "paused at the breakpoint"
        );
        // Nothing was asked yet: the answer is kept, review takes it, then fails.
        let e = g.invoke(Command::resume(7), &cfg).await.unwrap_err();
        assert!(
            matches!(e, RunError::Node { ref node, .. } if node == "review"),
            "{e}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
    // A new process (a new saver on the same file) retries the superstep: the failed task
    // gets the kept answer again and is not asked.
    let g = graph(store.open().await, 1, runs.clone());
    let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    assert!(!out.paused, "{out:?}");
    assert_eq!(out.value.log, ["draft", "score 7"]);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

on_both!(retried: a_kept_answer_answers_every_attempt_of_its_question_on_sqlite, a_kept_answer_answers_every_attempt_of_its_question_on_postgres);

/// A retried attempt asks its question again: the kept answer it took answers it again,
/// instead of pausing the run.
async fn retried(store: &Store) {
    let cfg = RunConfig::thread("doc-r");
    let runs = Arc::new(AtomicUsize::new(0));
    let policy = RetryPolicy::new(3)
        .initial_interval(std::time::Duration::from_millis(1))
        .jitter(false);
    let g = reviewed(store.open().await, 2, runs.clone(), Some(policy));
    g.invoke(Doc::default(), &cfg).await.unwrap();
    let out = g.invoke(Command::resume(8), &cfg).await.unwrap();
    assert!(!out.paused, "{out:?}");
    assert_eq!(out.value.log, ["draft", "score 8"]);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "two failed attempts, then the third"
    );
}

on_both!(down: a_kept_answer_goes_down_to_a_subgraph_node_and_survives_a_new_process_on_sqlite, a_kept_answer_goes_down_to_a_subgraph_node_and_survives_a_new_process_on_postgres);

/// START -> review -> END, paused before review; review is the form graph as a subgraph node.
fn form_in_a_subgraph(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Form> {
    let inner = StateGraph::<Form>::new()
        .node("form", form_node)
        .edge(START, "form")
        .edge("form", END)
        .compile()
        .unwrap();
    StateGraph::<Form>::new()
        .subgraph("review", inner)
        .edge(START, "review")
        .edge("review", END)
        .interrupt_before(["review"])
        .compile_with_shared(saver)
        .unwrap()
}

/// A bare answer at a breakpoint before a subgraph node answers the subgraph's first question;
/// it stays answered when the subgraph pauses on its second and a new process resumes it.
async fn down(store: &Store) {
    let cfg = RunConfig::thread("form-down");
    {
        let g = form_in_a_subgraph(store.open().await);
        g.invoke(Form::default(), &cfg).await.unwrap();
        let out = g.invoke(Command::resume("Ada"), &cfg).await.unwrap();
        assert_eq!(out.interrupts.len(), 1, "{out:?}");
        assert_eq!(out.interrupts[0].value, "age?");
    }
    let g = form_in_a_subgraph(store.open().await);
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.interrupts.len(), 1);
    assert_eq!(st.interrupts[0].value, "age?");
    let out = g.invoke(Command::resume(36), &cfg).await.unwrap();
    assert!(!out.paused, "{out:?}");
    assert_eq!(out.value.log, ["Ada 36"]);
}

on_both!(typed: a_kept_answer_of_the_wrong_type_fails_the_node_and_a_new_answer_replaces_it_on_sqlite, a_kept_answer_of_the_wrong_type_fails_the_node_and_a_new_answer_replaces_it_on_postgres);

async fn typed(store: &Store) {
    let cfg = RunConfig::thread("doc-2");
    let runs = Arc::new(AtomicUsize::new(0));
    let g = graph(store.open().await, 0, runs.clone());
    g.invoke(Doc::default(), &cfg).await.unwrap();
    // No question is open, so no schema checks the answer up front: the node that takes it
    // fails with a typed error naming itself, and nothing is lost.
    let e = g.invoke(Command::resume("high"), &cfg).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, RunError::Node { ref node, .. } if node == "review"),
        "{e}"
    );
    assert!(msg.contains("does not fit"), "{msg}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "the node stopped at the answer"
    );
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.next, ["review"]);
    assert_eq!(st.values.log, ["draft"]);
    // A new bare answer replaces the kept one.
    let out = g.invoke(Command::resume(9), &cfg).await.unwrap();
    assert_eq!(out.value.log, ["draft", "score 9"]);
}

on_both!(used: a_kept_answer_is_used_up_once_its_task_asks_again_on_sqlite, a_kept_answer_is_used_up_once_its_task_asks_again_on_postgres);

async fn used(store: &Store) {
    let cfg = RunConfig::thread("doc-3");
    let g = form(store.open().await, true);
    g.invoke(Form::default(), &cfg).await.unwrap();
    let out = g.invoke(Command::resume("Ada"), &cfg).await.unwrap();
    assert!(out.paused);
    assert_eq!(out.interrupts.len(), 1);
    assert_eq!(out.interrupts[0].value, "age?");
    // The open question is age; the name stays answered in a new process too.
    let again = form(store.open().await, true);
    let st = again.get_state(&cfg).await.unwrap();
    assert_eq!(st.interrupts.len(), 1);
    assert_eq!(st.interrupts[0].value, "age?");
    let out = again.invoke(Command::resume(36), &cfg).await.unwrap();
    assert_eq!(out.value.log, ["Ada 36"]);
}

on_both!(once: a_kept_answer_goes_to_one_question_only_across_retries_on_sqlite, a_kept_answer_goes_to_one_question_only_across_retries_on_postgres);

async fn once(store: &Store) {
    let cfg = RunConfig::thread("doc-4");
    let flaky = Arc::new(AtomicUsize::new(0));
    let f = flaky.clone();
    let g = StateGraph::<Form>::new()
        // Takes the kept answer with its first question, then pauses on its second.
        .node("form", form_node)
        // Fails once before it asks anything, then asks.
        .node("check", move |_: &Form, ctx: Ctx| {
            let f = f.clone();
            async move {
                tokio::task::yield_now().await;
                if f.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(NodeError::msg("flaky").permanent());
                }
                let ok: String = ctx.interrupt("ok?").await?;
                Ok::<_, NodeError>(FormUpdate::new().log(vec![format!("check {ok}")]))
            }
        })
        .edge(START, "form")
        .edge(START, "check")
        .edge("form", END)
        .edge("check", END)
        .interrupt_before(["form", "check"])
        .compile_with_shared(store.open().await)
        .unwrap();
    g.invoke(Form::default(), &cfg).await.unwrap();
    let e = g.invoke(Command::resume("Ada"), &cfg).await.unwrap_err();
    assert!(
        matches!(e, RunError::Node { ref node, .. } if node == "check"),
        "{e}"
    );
    // The retry: form keeps "Ada" as its own answer and asks its age again; check asks its
    // own question instead of taking "Ada" a second time.
    let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    let mut asked: Vec<String> = out
        .interrupts
        .iter()
        .map(|i| i.value.as_str().unwrap().to_string())
        .collect();
    asked.sort();
    assert_eq!(asked, ["age?", "ok?"], "{out:?}");
    let ids: Vec<(String, serde_json::Value)> = out
        .interrupts
        .iter()
        .map(|i| {
            let answer = if i.value == "age?" {
                json!(36)
            } else {
                json!("yes")
            };
            (i.id.clone(), answer)
        })
        .collect();
    let out = g.invoke(Command::resume_by_id(ids), &cfg).await.unwrap();
    let mut log = out.value.log.clone();
    log.sort();
    assert_eq!(log, ["Ada 36", "check yes"]);
}

on_both!(update: an_update_given_with_a_resume_is_applied_once_when_its_superstep_completes_on_sqlite, an_update_given_with_a_resume_is_applied_once_when_its_superstep_completes_on_postgres);

async fn update(store: &Store) {
    let cfg = RunConfig::thread("form-1");
    {
        let g = form(store.open().await, false);
        g.invoke(Form::default(), &cfg).await.unwrap();
        let with_note = Command::resume("Ada").update(FormUpdate::new().log(vec!["note".into()]));
        let out = g.invoke(with_note, &cfg).await.unwrap();
        // Paused on the second question: the update shows in the paused view, once.
        assert_eq!(out.interrupts[0].value, "age?");
        assert_eq!(out.value.log, ["note"]);
        assert_eq!(g.get_state(&cfg).await.unwrap().values.log, ["note"]);
    }
    // A new process answers the second question: the stored update is applied with the
    // superstep, before the task's write, and only once.
    let g = form(store.open().await, false);
    let out = g.invoke(Command::resume(36), &cfg).await.unwrap();
    assert!(!out.paused);
    assert_eq!(out.value.log, ["note", "Ada 36"]);
    let history = g
        .state_history(&cfg, &langgraph::ListOptions::default())
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "input, start, the form's superstep");

    // Nothing left to run: the update would never be applied, so it is refused.
    let e = g
        .invoke(
            Command::resume("x").update(FormUpdate::new().log(vec!["late".into()])),
            &cfg,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, RunError::InvalidResume(ref m) if m.contains("update_state")),
        "{e}"
    );
    assert_eq!(
        g.get_state(&cfg).await.unwrap().values.log,
        ["note", "Ada 36"]
    );

    // The update and the task write one last-value key in the same superstep: a conflict,
    // as between two tasks, and nothing is committed.
    let cfg = RunConfig::thread("form-2");
    g.invoke(Form::default(), &cfg).await.unwrap();
    let owner = Command::resume("Bob").update(FormUpdate::new().owner("human".to_string()));
    let paused = g.invoke(owner, &cfg).await.unwrap();
    assert_eq!(paused.value.owner, "human", "{paused:?}");
    let e = g.invoke(Command::resume(40), &cfg).await.unwrap_err();
    assert!(matches!(e, RunError::InvalidUpdate { .. }), "{e}");
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.next, ["form"], "the superstep did not commit");
    // The update stays with the superstep, so answering again conflicts again; writing the
    // form's output by hand moves the thread on.
    let e = g.invoke(Command::resume(40), &cfg).await.unwrap_err();
    assert!(matches!(e, RunError::InvalidUpdate { .. }), "{e}");
    let done = FormUpdate::new().log(vec!["Bob 40".into()]);
    g.update_state(&cfg, done, Some("form")).await.unwrap();
    let st = g.get_state(&cfg).await.unwrap();
    assert!(st.next.is_empty());
    assert_eq!(st.values.log, ["Bob 40"]);
}

/// `e` says that checkpoint `checkpoint` of thread `thread` is corrupt.
fn names_corrupt(e: &RunError, thread: &str, checkpoint: &str) -> bool {
    matches!(e, RunError::Checkpoint(CheckpointError::Corrupt { thread_id, checkpoint_id, .. })
        if thread_id == thread && checkpoint_id == checkpoint)
}

/// A pending write that cannot be read (here a stored interrupt of the wrong shape) is a typed
/// error naming the thread and the checkpoint, for reading the state, its history and for
/// resuming.
#[tokio::test]
async fn an_unreadable_pending_write_is_a_typed_error_naming_thread_and_checkpoint() {
    let store = Store::sqlite("corrupt-writes");
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let db = dir.join("store.db");
    let cfg = RunConfig::thread("doc-c");
    let g = form(store.open().await, false);
    g.invoke(Form::default(), &cfg).await.unwrap();
    let head = g.get_state(&cfg).await.unwrap().checkpoint_id.unwrap();
    let corrupt = |sql: String| {
        let db = db.clone();
        async move {
            let saver = SqliteSaver::open(&db).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(saver.pool())
                .await
                .unwrap();
        }
    };
    corrupt(format!(
        "UPDATE lg_writes SET value = '\"not an interrupt\"' \
         WHERE checkpoint_id = '{head}' AND channel = '__interrupt__'"
    ))
    .await;
    let named = |e: &RunError| names_corrupt(e, "doc-c", &head);
    let e = g.get_state(&cfg).await.unwrap_err();
    assert!(named(&e), "{e}");
    let e = g.invoke(Command::resume("Ada"), &cfg).await.unwrap_err();
    assert!(named(&e), "{e}");
    let history = g
        .state_history(&cfg, &langgraph::ListOptions::default())
        .await;
    assert!(history.is_err(), "the history holds the same row");
}

/// A finished task's stored update that no longer fits the state (a field of another type, as
/// a changed state struct would leave it) is a typed error naming the thread and checkpoint,
/// for reading the paused superstep and for resuming it; it is not silently left out.
#[tokio::test]
async fn a_stored_update_that_does_not_fit_the_state_is_a_typed_error() {
    let store = Store::sqlite("misfit-update");
    let Store::Sqlite(dir) = &store else {
        unreachable!()
    };
    let cfg = RunConfig::thread("doc-m");
    let g = StateGraph::<Doc>::new()
        .node("quick", |_: &Doc| {
            DocUpdate::new().log(vec!["quick".into()])
        })
        .node("asker", |_: &Doc, ctx: Ctx| async move {
            let answer: String = ctx.interrupt("ok?").await?;
            Ok::<_, NodeError>(DocUpdate::new().log(vec![answer]))
        })
        .edge(START, "quick")
        .edge(START, "asker")
        .edge("quick", END)
        .edge("asker", END)
        .compile_with_shared(store.open().await)
        .unwrap();
    let out = g.invoke(Doc::default(), &cfg).await.unwrap();
    assert_eq!(out.interrupts.len(), 1);
    let state = g.get_state(&cfg).await.unwrap();
    assert_eq!(
        state.values.log,
        ["quick"],
        "the finished task's write shows"
    );
    let head = state.checkpoint_id.unwrap();
    let saver = SqliteSaver::open(dir.join("store.db")).await.unwrap();
    let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE lg_writes SET value = json_set(value, '$.update.log', 5) \
         WHERE checkpoint_id = '{head}' AND channel = '__writes__'"
    )))
    .execute(saver.pool())
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    let named = |e: &RunError| names_corrupt(e, "doc-m", &head);
    let e = g.get_state(&cfg).await.unwrap_err();
    assert!(named(&e), "{e}");
    let e = g.invoke(Command::resume("yes"), &cfg).await.unwrap_err();
    assert!(named(&e), "{e}");
}
