//! Humans in the loop of a subgraph, on SQLite and on PostgreSQL: a subgraph's state edited
//! while it waits for an answer, and an answer that reaches the question the subgraph asks
//! again. A new saver on the same storage stands for a new process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use langgraph::prelude::*;

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

/// The subgraph's state.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Doc {
    #[reducer(append)]
    log: Vec<String>,
}

/// The parent's state: what the subgraph logged, and an owner set by hand.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Form {
    #[reducer(append)]
    log: Vec<String>,
    owner: String,
}

/// A subgraph with a state of its own: prepares (logs "prepared"), then asks and logs the
/// answer.
fn approval(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Doc> {
    StateGraph::<Doc>::new()
        .node("prepare", |_: &Doc| {
            DocUpdate::new().log(vec!["prepared".into()])
        })
        .node("check", |_: &Doc, ctx: Ctx| async move {
            let answer: String = ctx.interrupt("approve?").await?;
            Ok::<_, NodeError>(DocUpdate::new().log(vec![format!("check:{answer}")]))
        })
        .edge(START, "prepare")
        .edge("prepare", "check")
        .edge("check", END)
        .compile_with_shared(saver)
        .unwrap()
}

/// START -> review -> END; review runs the approval subgraph and logs what it logged.
fn reviewing(saver: Arc<dyn Checkpointer>) -> CompiledGraph<Form> {
    let sub = approval(saver.clone());
    StateGraph::<Form>::new()
        .node("review", move |_: &Form, ctx: Ctx| {
            let sub = sub.clone();
            async move {
                let out = ctx.invoke(&sub, DocUpdate::new()).await?;
                Ok::<_, NodeError>(FormUpdate::new().log(out.log))
            }
        })
        .edge(START, "review")
        .edge("review", END)
        .compile_with_shared(saver)
        .unwrap()
}

on_both!(edited_subgraph: an_edited_subgraph_gets_the_answer_to_its_question_on_sqlite, an_edited_subgraph_gets_the_answer_to_its_question_on_postgres);

/// The subgraph's state is edited while it waits for an answer (through its own compiled
/// graph, in the namespace the parent's task names); the answer then given to the parent, in
/// a new process, reaches the question the subgraph asks again.
async fn edited_subgraph(store: &Store) {
    let cfg = RunConfig::thread("doc-sub");
    {
        let saver = store.open().await;
        let g = reviewing(saver.clone());
        let out = g.invoke(Form::default(), &cfg).await.unwrap();
        assert_eq!(out.interrupts.len(), 1);
        let ns = g.get_state(&cfg).await.unwrap().tasks[0]
            .subgraph_ns
            .clone();
        let sub_cfg = cfg.clone().checkpoint_ns(ns);
        let sub = approval(saver);
        let before = sub.get_state(&sub_cfg).await.unwrap();
        assert_eq!(before.next, ["check"]);
        assert_eq!(before.interrupts.len(), 1);
        sub.update_state(&sub_cfg, DocUpdate::new().log(vec!["edited".into()]), None)
            .await
            .unwrap();
        let after = sub.get_state(&sub_cfg).await.unwrap();
        assert_eq!(after.values.log, ["prepared", "edited"]);
        assert_eq!(after.next, ["check"], "the question is due again");
        assert!(after.interrupts.is_empty(), "and not open any more");
        // The parent's own checkpoint is untouched.
        let parent = g.get_state(&cfg).await.unwrap();
        assert_eq!(parent.next, ["review"]);
        assert!(parent.values.log.is_empty());
    }
    let g = reviewing(store.open().await);
    let out = g.invoke(Command::resume("yes"), &cfg).await.unwrap();
    assert!(!out.paused, "{:?}", out.interrupts);
    assert_eq!(out.value.log, ["prepared", "edited", "check:yes"]);
}

on_both!(edited_parent: a_subgraph_started_over_after_an_edit_of_its_parent_gets_the_answer_on_sqlite, a_subgraph_started_over_after_an_edit_of_its_parent_gets_the_answer_on_postgres);

/// The parent is edited while its subgraph waits for an answer, so its task runs again from a
/// new checkpoint and the subgraph starts over. The answer given next (in a new process) is
/// kept, handed down, and stays with the subgraph until its question, a superstep later, takes
/// it.
async fn edited_parent(store: &Store) {
    let cfg = RunConfig::thread("doc-parent");
    {
        let g = reviewing(store.open().await);
        let out = g.invoke(Form::default(), &cfg).await.unwrap();
        assert_eq!(out.interrupts.len(), 1);
        g.update_state(&cfg, FormUpdate::new().owner("ed".to_string()), Some(START))
            .await
            .unwrap();
        let st = g.get_state(&cfg).await.unwrap();
        assert_eq!(st.next, ["review"]);
        assert!(
            st.interrupts.is_empty(),
            "the question is not pending any more"
        );
    }
    let g = reviewing(store.open().await);
    let out = g.invoke(Command::resume("yes"), &cfg).await.unwrap();
    assert!(!out.paused, "{:?}", out.interrupts);
    assert_eq!(out.value.log, ["prepared", "check:yes"]);
    assert_eq!(out.value.owner, "ed");
}

on_both!(twice: a_node_that_runs_a_subgraph_twice_keeps_the_runs_apart_on_sqlite, a_node_that_runs_a_subgraph_twice_keeps_the_runs_apart_on_postgres);

/// A node runs the approval subgraph twice: each run has its own checkpoints, asks its own
/// question and gets its own answer, across new processes.
async fn twice(store: &Store) {
    let cfg = RunConfig::thread("doc-twice");
    let graph = |saver: Arc<dyn Checkpointer>| {
        let sub = approval(saver.clone());
        StateGraph::<Form>::new()
            .node("both", move |_: &Form, ctx: Ctx| {
                let sub = sub.clone();
                async move {
                    let first = ctx.invoke(&sub, DocUpdate::new()).await?;
                    let second = ctx.invoke(&sub, DocUpdate::new()).await?;
                    Ok::<_, NodeError>(FormUpdate::new().log([first.log, second.log].concat()))
                }
            })
            .edge(START, "both")
            .edge("both", END)
            .compile_with_shared(saver)
            .unwrap()
    };
    let out = graph(store.open().await)
        .invoke(Form::default(), &cfg)
        .await
        .unwrap();
    assert_eq!(out.interrupts.len(), 1, "the first run asks");
    let out = graph(store.open().await)
        .invoke(Command::resume("one"), &cfg)
        .await
        .unwrap();
    assert_eq!(out.interrupts.len(), 1, "then the second run asks");
    let out = graph(store.open().await)
        .invoke(Command::resume("two"), &cfg)
        .await
        .unwrap();
    assert!(!out.paused);
    assert_eq!(
        out.value.log,
        ["prepared", "check:one", "prepared", "check:two"]
    );
}
