//! Edits of a thread that are not a node's write: dropping the tasks due
//! ([`CompiledGraph::clear_tasks`]), staging an input ([`CompiledGraph::stage_input`]) and
//! copying a checkpoint to run again from ([`CompiledGraph::copy_checkpoint`]). Each is also
//! [`update_state`](CompiledGraph::update_state) with `as_node` [`END`], [`INPUT`] or [`COPY`],
//! the names a client that speaks LangGraph's protocol sends.

use crate::compiled::CompiledGraph;
use crate::config::RunConfig;
use crate::error::RunError;
use crate::state::{FromState, State};
use crate::types::{COPY, END, INPUT};

impl<S: State, O: FromState<S>> CompiledGraph<S, O> {
    /// Drops the tasks due at the thread's latest checkpoint (or `config.checkpoint_id`): a
    /// checkpoint with source `update` in which they count as run with no writes, so that the
    /// thread ends there (a question a node asked is dropped with it). Tasks of that superstep
    /// that had finished keep their writes, and their edges fire. A staged input is dropped
    /// too. On a thread without checkpoints it stores an empty one. The same as
    /// `update_state(config, empty update, Some(END))`.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_checkpoint::InMemorySaver;
    /// use langgraph_core::{END, Input, RunConfig, START, StateGraph};
    ///
    /// let g = StateGraph::<Review>::new()
    ///     .node("draft", |_: &Review| ReviewUpdate::new().draft("v1".to_string()))
    ///     .node("review", |_: &Review| ReviewUpdate::new().notes(vec!["ok".into()]))
    ///     .edge(START, "draft")
    ///     .edge("draft", "review")
    ///     .edge("review", END)
    ///     .interrupt_before(["review"])
    ///     .compile_with(InMemorySaver::new())
    ///     .unwrap();
    /// let cfg = RunConfig::thread("rejected");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     g.invoke(Review::default(), &cfg).await.unwrap(); // paused before review
    ///     g.clear_tasks(&cfg).await.unwrap(); // a human rejects the draft: no review
    ///     let st = g.get_state(&cfg).await.unwrap();
    ///     assert!(st.next.is_empty() && st.values.draft == "v1");
    ///     let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    ///     assert!(!out.paused && out.notes.is_empty());
    /// });
    /// ```
    pub async fn clear_tasks(&self, config: &RunConfig) -> Result<RunConfig, RunError> {
        self.update_state(config, S::Update::default(), Some(END))
            .await
    }

    /// Stores `input` as the input of a run that has not started: a checkpoint with source
    /// `input` whose `next` is START (and the tasks still due at the base, which run in START's
    /// superstep), at step -1 on a new thread and one step on otherwise. The values stay those
    /// of the base until a run goes on from it ([`Input::Continue`](crate::Input)), which then
    /// applies `input` as `invoke(input)` would have. The same as `update_state(config, input,
    /// Some(INPUT))`.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_checkpoint::InMemorySaver;
    /// use langgraph_core::{END, Input, RunConfig, START, StateGraph};
    ///
    /// let g = StateGraph::<Review>::new()
    ///     .node("review", |r: &Review| ReviewUpdate::new().notes(vec![format!("read {}", r.draft)]))
    ///     .edge(START, "review")
    ///     .edge("review", END)
    ///     .compile_with(InMemorySaver::new())
    ///     .unwrap();
    /// let cfg = RunConfig::thread("queued");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     g.stage_input(&cfg, ReviewUpdate::new().draft("v2".to_string())).await.unwrap();
    ///     let st = g.get_state(&cfg).await.unwrap();
    ///     assert_eq!(st.next, ["__start__"]);
    ///     assert!(st.values.draft.is_empty()); // not applied yet
    ///     let out = g.invoke(Input::Continue, &cfg).await.unwrap();
    ///     assert_eq!(out.notes, ["read v2"]);
    /// });
    /// ```
    pub async fn stage_input(
        &self,
        config: &RunConfig,
        input: impl Into<S::Update>,
    ) -> Result<RunConfig, RunError> {
        self.update_state(config, input, Some(INPUT)).await
    }

    /// Copies the thread's latest checkpoint (or `config.checkpoint_id`) to run again from: a
    /// checkpoint with source `fork`, the same values and tasks, one step on and with the
    /// original's parent as its own (a sibling of it). A run on the returned configuration
    /// runs the copy's tasks again, on a new branch; answers and writes stored for the
    /// original stay with it. A thread without checkpoints is an error. The same as
    /// `update_state(config, empty update, Some(COPY))`.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_checkpoint::InMemorySaver;
    /// use langgraph_core::{END, Input, RunConfig, START, StateGraph};
    ///
    /// let g = StateGraph::<Review>::new()
    ///     .node("draft", |_: &Review| ReviewUpdate::new().draft("v1".to_string()))
    ///     .node("review", |_: &Review| ReviewUpdate::new().notes(vec!["ok".into()]))
    ///     .edge(START, "draft")
    ///     .edge("draft", "review")
    ///     .edge("review", END)
    ///     .compile_with(InMemorySaver::new())
    ///     .unwrap();
    /// let cfg = RunConfig::thread("again");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     g.invoke(Review::default(), &cfg).await.unwrap();
    ///     // The checkpoint before review ran, copied: review runs again from the copy.
    ///     let history = g.state_history(&cfg, &Default::default()).await.unwrap();
    ///     let before_review = history.iter().find(|s| s.next == ["review"]).unwrap();
    ///     let at = cfg.clone().checkpoint_id(before_review.checkpoint_id.clone().unwrap());
    ///     let copy = g.copy_checkpoint(&at).await.unwrap();
    ///     assert_eq!(g.get_state(&copy).await.unwrap().next, ["review"]);
    ///     let out = g.invoke(Input::Continue, &copy).await.unwrap();
    ///     assert_eq!(out.notes, ["ok"]);
    /// });
    /// ```
    pub async fn copy_checkpoint(&self, config: &RunConfig) -> Result<RunConfig, RunError> {
        self.update_state(config, S::Update::default(), Some(COPY))
            .await
    }
}
