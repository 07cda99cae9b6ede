//! Walking a thread's history lazily: [`CompiledGraph::state_history_stream`].

use futures::stream::{self, BoxStream, StreamExt};
use langgraph_checkpoint::ListOptions;

use crate::compiled::CompiledGraph;
use crate::config::RunConfig;
use crate::error::RunError;
use crate::snapshot::StateSnapshot;
use crate::state::{FromState, State};

/// How many checkpoints a history stream reads per call to the checkpointer.
pub const HISTORY_PAGE: usize = 64;

/// Where a history stream is: its filter, below which checkpoint the next page starts, how
/// many checkpoints it may still yield (`None`: no limit), and whether it has ended.
struct Cursor {
    filter: serde_json::Map<String, serde_json::Value>,
    before: Option<String>,
    left: Option<usize>,
    done: bool,
}

impl Cursor {
    /// The options of the next page: the stream's filter, below the last checkpoint read.
    fn next_page(&self) -> ListOptions {
        let size = self.left.map_or(HISTORY_PAGE, |l| l.min(HISTORY_PAGE));
        ListOptions {
            filter: self.filter.clone(),
            before: self.before.clone(),
            limit: Some(size),
        }
    }

    /// Moves past `page`, read with `asked` as its limit: a short page (or one whose last
    /// checkpoint has no id to go on from) ends the stream.
    fn advance<S>(&mut self, page: &[StateSnapshot<S>], asked: usize) {
        let last = page.last().and_then(|s| s.checkpoint_id.clone());
        self.done = page.len() < asked || last.is_none();
        self.before = last;
        self.left = self.left.map(|l| l.saturating_sub(page.len()));
    }
}

impl<S: State, O: FromState<S>> CompiledGraph<S, O> {
    /// [`state_history`](Self::state_history) as a stream: the thread's checkpoints newest
    /// first, narrowed by `options` (a metadata filter, `before`, `limit`), read
    /// [`HISTORY_PAGE`] at a time as the stream is polled. Walking a long thread's history
    /// holds one page of states in memory, not the whole history, and a walk that stops early
    /// (say, at the first checkpoint a node wrote) reads no further pages. Checkpoints stored
    /// while the stream runs are newer than where it is and are not listed. An error is
    /// yielded and ends the stream. The stream is boxed (`Unpin` and `Send`), so `next()` works
    /// on it directly.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use futures::{StreamExt, TryStreamExt};
    /// use langgraph_checkpoint::InMemorySaver;
    /// use langgraph_core::{END, ListOptions, RunConfig, START, StateGraph};
    ///
    /// let g = StateGraph::<Review>::new()
    ///     .node("draft", |s: &Review| ReviewUpdate::new().rounds(s.rounds + 1))
    ///     .edge(START, "draft")
    ///     .edge("draft", END)
    ///     .compile_with(InMemorySaver::new())
    ///     .unwrap();
    /// let cfg = RunConfig::thread("long");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..100 {
    ///         g.invoke(ReviewUpdate::new(), &cfg).await.unwrap();
    ///     }
    ///     // The newest checkpoint where `rounds` was 40: the runs after it are listed page by
    ///     // page until it is found (two pages of 64 here); older pages are never read.
    ///     let found = g
    ///         .state_history_stream(&cfg, ListOptions::new().filter("source", "loop"))
    ///         .try_filter(|s| std::future::ready(s.values.rounds == 40))
    ///         .next()
    ///         .await
    ///         .unwrap()
    ///         .unwrap();
    ///     assert_eq!(found.values.rounds, 40);
    ///     let all: Vec<_> = g
    ///         .state_history_stream(&cfg, ListOptions::new())
    ///         .try_collect()
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(all.len(), 300); // an input, a start and a step per run
    /// });
    /// ```
    pub fn state_history_stream<'a>(
        &'a self,
        config: &'a RunConfig,
        options: ListOptions,
    ) -> BoxStream<'a, Result<StateSnapshot<S>, RunError>> {
        let start = Cursor {
            filter: options.filter,
            before: options.before,
            left: options.limit,
            done: false,
        };
        stream::unfold(start, move |mut at| async move {
            if at.done || at.left == Some(0) {
                return None;
            }
            let page = at.next_page();
            let asked = page.limit.unwrap_or(HISTORY_PAGE);
            let items: Vec<_> = match self.state_history(config, &page).await {
                Ok(states) => {
                    at.advance(&states, asked);
                    states.into_iter().map(Ok).collect()
                }
                Err(e) => {
                    at.done = true;
                    vec![Err(e)]
                }
            };
            Some((stream::iter(items), at))
        })
        .flatten()
        .boxed()
    }
}
