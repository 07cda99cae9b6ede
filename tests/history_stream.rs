//! Walking a long thread's history as a stream (`CompiledGraph::state_history_stream`), in
//! memory, on SQLite and on PostgreSQL: it yields what `state_history` returns, page by page
//! as it is polled, with the same filter, `before` and `limit`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use langgraph::prelude::*;
use langgraph::{HISTORY_PAGE, ListOptions};

#[path = "support/store.rs"]
#[macro_use]
mod store;
use store::Store;

#[path = "support/counter.rs"]
mod counter;
use counter::{Counter, CounterUpdate, checkpoints, looping};

/// The ids of `states`, newest first.
fn ids(states: &[StateSnapshot<Counter>]) -> Vec<String> {
    states
        .iter()
        .map(|s| s.checkpoint_id.clone().unwrap())
        .collect()
}

async fn streamed(
    g: &CompiledGraph<Counter>,
    cfg: &RunConfig,
    options: ListOptions,
) -> Vec<StateSnapshot<Counter>> {
    g.state_history_stream(cfg, options)
        .try_collect()
        .await
        .unwrap()
}

async fn walk(saver: Arc<dyn Checkpointer>) {
    // Two runs of 150 steps on one thread: 2 x 152 checkpoints, nearly five pages.
    let g = looping(150).compile_with_shared(saver.clone()).unwrap();
    let cfg = RunConfig::thread("long");
    g.invoke(Counter::default(), &cfg).await.unwrap();
    let again = CounterUpdate::new().counter(0);
    g.invoke(again, &cfg).await.unwrap();
    let all = checkpoints(&g, "long").await;
    assert_eq!(all.len(), 304);

    // The whole history, the same states in the same order.
    let s = streamed(&g, &cfg, ListOptions::new()).await;
    assert_eq!(ids(&s), ids(&all));
    let logs =
        |v: &[StateSnapshot<Counter>]| v.iter().map(|s| s.values.log.len()).collect::<Vec<_>>();
    assert_eq!(logs(&s), logs(&all));
    // A limit that ends inside a page, at a page's end and past the history.
    for limit in [1, 70, 2 * HISTORY_PAGE, 1000] {
        let s = streamed(&g, &cfg, ListOptions::new().limit(limit)).await;
        assert_eq!(ids(&s), ids(&all[..limit.min(all.len())]), "limit {limit}");
    }
    // Below a checkpoint, with and without a limit.
    let below = all[100].checkpoint_id.clone().unwrap();
    let s = streamed(&g, &cfg, ListOptions::new().before(below.clone())).await;
    assert_eq!(ids(&s), ids(&all[101..]));
    let s = streamed(&g, &cfg, ListOptions::new().before(below).limit(65)).await;
    assert_eq!(ids(&s), ids(&all[101..166]));
    // A filter: what state_history gives with it, across pages.
    for filter in [("source", "input"), ("source", "loop")] {
        let options = ListOptions::new().filter(filter.0, filter.1);
        let want = g.state_history(&cfg, &options).await.unwrap();
        assert_eq!(
            ids(&streamed(&g, &cfg, options).await),
            ids(&want),
            "{filter:?}"
        );
    }
    // Steps count on across the thread's runs: one checkpoint in each run.
    for step in [40, 200] {
        let one = streamed(&g, &cfg, ListOptions::new().filter("step", step)).await;
        assert_eq!(one.len(), 1, "step {step}");
        assert_eq!(one[0].step(), Some(step));
    }
    // Pages are read as the stream is polled: after three states, the thread is deleted, and
    // the stream yields the rest of the page it holds, then finds no more.
    let mut lazy = g.state_history_stream(&cfg, ListOptions::new());
    for want in &all[..3] {
        let got = lazy.next().await.unwrap().unwrap();
        assert_eq!(got.checkpoint_id, want.checkpoint_id);
    }
    saver.delete_thread("long").await.unwrap();
    let rest: Vec<_> = lazy.try_collect().await.unwrap();
    assert_eq!(ids(&rest), ids(&all[3..HISTORY_PAGE]));
    assert!(streamed(&g, &cfg, ListOptions::new()).await.is_empty());
}

#[tokio::test]
async fn a_long_history_streams_page_by_page_in_memory() {
    walk(Arc::new(InMemorySaver::new())).await;
}

async fn on(store: &Store) {
    walk(store.open().await).await;
}

on_both!(on:
    a_long_history_streams_page_by_page_on_sqlite,
    a_long_history_streams_page_by_page_on_postgres);

#[tokio::test]
async fn a_stream_without_a_checkpointer_yields_the_error_and_ends() {
    let g = looping(3).compile().unwrap();
    let cfg = RunConfig::thread("t");
    let mut s = g.state_history_stream(&cfg, ListOptions::new());
    let e = s.next().await.unwrap().unwrap_err();
    assert!(matches!(e, RunError::NoCheckpointer(_)), "{e}");
    assert!(s.next().await.is_none());
}
