//! The edits that are not a node's write, on SQLite and PostgreSQL, across a new process (a
//! new saver on the same store between the edit and the run that goes on from it): a staged
//! input, a copy of a checkpoint, the tasks due dropped, and a replay of an input checkpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use langgraph::checkpoint::Source;
use langgraph::prelude::*;
use langgraph::{Durability, ListOptions};

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Doc {
    #[reducer(append)]
    log: Vec<String>,
}

/// START -> draft -> review -> END, where review asks for an approval when asked to.
fn graph(saver: Arc<dyn Checkpointer>, ask: bool) -> CompiledGraph<Doc> {
    StateGraph::<Doc>::new()
        .node("draft", |_: &Doc| {
            DocUpdate::new().log(vec!["draft".into()])
        })
        .node("review", move |_: &Doc, ctx: Ctx| async move {
            let verdict = if ask {
                ctx.interrupt::<String>("approve?").await?
            } else {
                "auto".to_string()
            };
            Ok::<_, NodeError>(DocUpdate::new().log(vec![format!("review:{verdict}")]))
        })
        .edge(START, "draft")
        .edge("draft", "review")
        .edge("review", END)
        .compile_with_shared(saver)
        .unwrap()
}

fn line(s: &str) -> DocUpdate {
    DocUpdate::new().log(vec![s.to_string()])
}

/// `(source, step, next)` of the thread's checkpoints, oldest first.
async fn history(g: &CompiledGraph<Doc>, cfg: &RunConfig) -> Vec<(Source, i64, Vec<String>)> {
    let mut h: Vec<_> = g
        .state_history(cfg, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            let m = s.metadata.unwrap();
            (m.source, m.step, s.next)
        })
        .collect();
    h.reverse();
    h
}

/// A run of the graph (no questions) on thread `cfg`, and the thread's history, newest first.
async fn ran(store: &Store, cfg: &RunConfig) -> (CompiledGraph<Doc>, Vec<StateSnapshot<Doc>>) {
    let g = graph(store.open().await, false);
    g.invoke(line("in"), cfg).await.unwrap();
    let all = g.state_history(cfg, &ListOptions::default()).await.unwrap();
    (g, all)
}

async fn staged_input(store: &Store) {
    let cfg = RunConfig::thread("staged");
    graph(store.open().await, false)
        .stage_input(&cfg, line("in"))
        .await
        .unwrap();
    let g = graph(store.open().await, false);
    let st = g.get_state(&cfg).await.unwrap();
    assert_eq!(st.next, ["__start__"]);
    assert!(st.values.log.is_empty(), "{:?}", st.values);
    let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);
    let h = history(&g, &cfg).await;
    assert_eq!(h[0], (Source::Input, -1, vec!["__start__".to_string()]));
    assert_eq!(h[1], (Source::Loop, 0, vec!["draft".to_string()]));
    assert_eq!(h.len(), 4, "{h:?}");

    // Under durability `exit`, the run stores only where it ends.
    let exit = RunConfig::thread("staged-exit").durability(Durability::Exit);
    g.stage_input(&exit, line("in")).await.unwrap();
    let out = graph(store.open().await, false)
        .invoke(Input::Continue, &exit)
        .await
        .unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);
    let h = history(&g, &exit).await;
    assert_eq!(
        h,
        [
            (Source::Input, -1, vec!["__start__".to_string()]),
            (Source::Loop, 2, vec![])
        ]
    );

    // A resume with an update on a staged input: the input and the update are both applied.
    let cfg = RunConfig::thread("staged-resume");
    g.stage_input(&cfg, line("in")).await.unwrap();
    let out = g
        .invoke(Command::resume("x").update(line("u")), &cfg)
        .await
        .unwrap();
    assert!(!out.paused);
    assert!(out.log.starts_with(&["in".to_string()]), "{:?}", out.log);
    assert!(out.log.contains(&"u".to_string()), "{:?}", out.log);
}
on_both!(staged_input: a_staged_input_survives_a_new_process_on_sqlite, a_staged_input_survives_a_new_process_on_postgres);

async fn staged_on_a_paused_thread(store: &Store) {
    let cfg = RunConfig::thread("paused");
    let g = graph(store.open().await, true);
    assert!(g.invoke(line("first"), &cfg).await.unwrap().paused);
    g.stage_input(&cfg, line("second")).await.unwrap();
    let g = graph(store.open().await, true);
    assert_eq!(
        g.get_state(&cfg).await.unwrap().next,
        ["__start__", "review"]
    );
    // START and review run in one superstep: review is answered and START's edge makes draft
    // due; draft leads to review, which asks again.
    let out = g.invoke(Command::resume("yes"), &cfg).await.unwrap();
    assert!(out.paused);
    assert_eq!(out.log, ["first", "draft", "second", "review:yes", "draft"]);
    let h = history(&g, &cfg).await;
    let last = &h[h.len() - 2..];
    assert_eq!(last[0].2, ["draft"], "{h:?}");
    assert_eq!(last[1].2, ["review"], "{h:?}");
    assert_eq!(g.get_state(&cfg).await.unwrap().interrupts.len(), 1);
}
on_both!(staged_on_a_paused_thread: an_input_staged_on_a_paused_thread_runs_with_the_answered_task_on_sqlite, an_input_staged_on_a_paused_thread_runs_with_the_answered_task_on_postgres);

async fn copied(store: &Store) {
    let cfg = RunConfig::thread("copied");
    let (g, all) = ran(store, &cfg).await;
    let before_review = all.iter().find(|s| s.next == ["review"]).unwrap();
    let at = cfg
        .clone()
        .checkpoint_id(before_review.checkpoint_id.clone().unwrap());
    let copy = g.copy_checkpoint(&at).await.unwrap();
    let g = graph(store.open().await, false);
    let st = g.get_state(&copy).await.unwrap();
    assert_eq!(st.parent_checkpoint_id, before_review.parent_checkpoint_id);
    assert_eq!(st.metadata.as_ref().unwrap().source, Source::Fork);
    assert_eq!(st.values.log, ["in", "draft"]);
    let out = g.invoke(Input::Continue, &copy).await.unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);

    // A copy of the input checkpoint carries the input: START runs again from it.
    let c0 = all.last().unwrap().checkpoint_id.clone().unwrap();
    let copy = g
        .copy_checkpoint(&cfg.clone().checkpoint_id(c0))
        .await
        .unwrap();
    let out = graph(store.open().await, false)
        .invoke(Input::Continue, &copy)
        .await
        .unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);
}
on_both!(copied: a_copy_runs_again_in_a_new_process_on_sqlite, a_copy_runs_again_in_a_new_process_on_postgres);

async fn cleared(store: &Store) {
    let cfg = RunConfig::thread("cleared");
    let g = graph(store.open().await, true);
    assert!(g.invoke(line("in"), &cfg).await.unwrap().paused);
    g.clear_tasks(&cfg).await.unwrap();
    let g = graph(store.open().await, true);
    let st = g.get_state(&cfg).await.unwrap();
    assert!(st.next.is_empty() && st.interrupts.is_empty(), "{st:?}");
    let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    assert!(!out.paused);
    assert_eq!(out.log, ["in", "draft"]);
    // A new turn starts from the cleared thread.
    let out = g.invoke(line("again"), &cfg).await.unwrap();
    assert!(out.paused);
    assert_eq!(out.log, ["in", "draft", "again", "draft"]);
}
on_both!(cleared: cleared_tasks_stay_cleared_in_a_new_process_on_sqlite, cleared_tasks_stay_cleared_in_a_new_process_on_postgres);

async fn replayed_input(store: &Store) {
    let cfg = RunConfig::thread("replayed");
    let (_, all) = ran(store, &cfg).await;
    let c0 = all.last().unwrap().checkpoint_id.clone().unwrap();
    let g = graph(store.open().await, false);
    let out = g
        .invoke(Input::Continue, &cfg.clone().checkpoint_id(c0.clone()))
        .await
        .unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);
    let fork = g
        .state_history(&cfg, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.metadata.as_ref().unwrap().source == Source::Fork)
        .unwrap();
    assert_eq!(fork.parent_checkpoint_id.as_deref(), Some(c0.as_str()));
    assert_eq!(fork.next, ["__start__"]);
}
on_both!(replayed_input: a_replay_of_the_input_checkpoint_runs_from_start_on_sqlite, a_replay_of_the_input_checkpoint_runs_from_start_on_postgres);

/// The same thread read with another state type, whose `log` is a number.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Counted {
    log: i64,
}

async fn unreadable_input(store: &Store) {
    let cfg = RunConfig::thread("unreadable");
    graph(store.open().await, false)
        .stage_input(&cfg, line("in"))
        .await
        .unwrap();
    let staged = graph(store.open().await, false)
        .get_state(&cfg)
        .await
        .unwrap()
        .checkpoint_id
        .unwrap();
    let other = StateGraph::<Counted>::new()
        .node("n", |_: &Counted| CountedUpdate::new().log(1))
        .edge(START, "n")
        .edge("n", END)
        .compile_with_shared(store.open().await)
        .unwrap();
    // The staged input does not fit: a typed error naming the thread and the checkpoint.
    let e = other.invoke(Input::Continue, &cfg).await.unwrap_err();
    match &e {
        RunError::Checkpoint(langgraph::checkpoint::CheckpointError::Corrupt {
            thread_id,
            checkpoint_id,
            reason,
        }) => {
            assert_eq!(thread_id, "unreadable");
            assert_eq!(checkpoint_id, &staged);
            assert!(reason.contains("run input"), "{reason}");
        }
        e => panic!("expected a corrupt checkpoint, got {e:?}"),
    }
    // Nothing was lost: the right graph still runs the staged input.
    let out = graph(store.open().await, false)
        .invoke(Input::Continue, &cfg)
        .await
        .unwrap();
    assert_eq!(out.log, ["in", "draft", "review:auto"]);
}
on_both!(unreadable_input: a_staged_input_that_does_not_fit_is_a_typed_error_on_sqlite, a_staged_input_that_does_not_fit_is_a_typed_error_on_postgres);
