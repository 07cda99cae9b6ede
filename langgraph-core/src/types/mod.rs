//! Values that steer a run: where to go next ([`Route`], [`SendTo`], [`Command`]), what a
//! paused run asks ([`Interrupt`]) and how a run starts ([`Input`]).

mod command;
mod input;
mod interrupt;
mod route;
mod send;

pub use command::{Command, Resume};
pub use input::Input;
pub use interrupt::Interrupt;
pub use route::{IntoRoute, Route, Target};
pub use send::{SendArg, SendTo};

/// The virtual entry node: `edge(START, "first")` makes `first` run in the first superstep.
pub const START: &str = "__start__";
/// The virtual exit node: an edge or route to `END` finishes that branch. As the `as_node` of
/// [`update_state`](crate::CompiledGraph::update_state), with an empty update, it drops the
/// tasks due at the checkpoint (see [`clear_tasks`](crate::CompiledGraph::clear_tasks)).
pub const END: &str = "__end__";
/// As the `as_node` of [`update_state`](crate::CompiledGraph::update_state): the update is
/// stored as the input of a run that has not started (see
/// [`stage_input`](crate::CompiledGraph::stage_input)).
pub const INPUT: &str = "__input__";
/// As the `as_node` of [`update_state`](crate::CompiledGraph::update_state), with an empty
/// update: a copy of the checkpoint to run again from (see
/// [`copy_checkpoint`](crate::CompiledGraph::copy_checkpoint)).
pub const COPY: &str = "__copy__";
/// Every node, for breakpoints: `interrupt_before([ALL_NODES])` pauses before each superstep,
/// so a thread can be stepped through one superstep per `invoke`.
///
/// ```
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
/// use langgraph_checkpoint::InMemorySaver;
/// use langgraph_core::{ALL_NODES, END, Input, RunConfig, START, StateGraph};
///
/// let g = StateGraph::<Review>::new()
///     .node("draft", |_: &Review| ReviewUpdate::new().draft("v1".to_string()))
///     .node("review", |_: &Review| ReviewUpdate::new().notes(vec!["ok".into()]))
///     .edge(START, "draft")
///     .edge("draft", "review")
///     .edge("review", END)
///     .interrupt_before([ALL_NODES])
///     .compile_with(InMemorySaver::new())
///     .unwrap();
/// let cfg = RunConfig::thread("step-by-step");
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// rt.block_on(async {
///     let out = g.invoke(Review::default(), &cfg).await.unwrap();
///     assert!(out.paused && out.draft.is_empty()); // before draft
///     let out = g.invoke(Input::Continue, &cfg).await.unwrap();
///     assert!(out.paused && out.draft == "v1" && out.notes.is_empty()); // before review
///     let out = g.invoke(Input::Continue, &cfg).await.unwrap();
///     assert!(!out.paused && out.notes == ["ok"]);
/// });
/// ```
pub const ALL_NODES: &str = "*";
