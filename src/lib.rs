//! Typed, durable agent graphs.
//!
//! Nodes are plain async functions over a **typed state**; edges and routers decide what runs
//! next; a **checkpointer** snapshots the run at every superstep so it can be interrupted (by
//! a human, a crash or a limit) and resumed exactly where it stopped.
//!
//! `use langgraph::prelude::*;` brings everything a normal graph needs. The crates behind it:
//! [`langgraph_core`] (state, builder, engine, streaming, subgraphs, reports) and
//! [`checkpoint`] (the checkpoint model and the savers); with the `llm` feature, `llm` (the
//! LLM layer: messages, models, structured output, tools, agents).
//!
//! Features: `sqlite` (default: `SqliteSaver`, the embedded checkpointer), `postgres`
//! (`PostgresSaver`), `llm` (`langgraph::llm`), `opentelemetry` (`langgraph::otel`).
//!
//! # Example
//!
//! ```
//! use langgraph::prelude::*;
//!
//! #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
//! struct Review {
//!     draft: String,
//!     #[reducer(append)]
//!     notes: Vec<String>,
//!     rounds: u32,
//! }
//!
//! async fn write(s: &Review) -> ReviewUpdate {
//!     ReviewUpdate::new().draft(format!("{} (revised)", s.draft)).rounds(s.rounds + 1)
//! }
//!
//! async fn critique(s: &Review) -> ReviewUpdate {
//!     ReviewUpdate::new().notes(vec![format!("round {} looks fine", s.rounds)])
//! }
//!
//! fn done(s: &Review) -> Route {
//!     if s.rounds >= 3 { Route::end() } else { Route::to("write") }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let graph = StateGraph::<Review>::new()
//!     .node("write", write)
//!     .node("critique", critique)
//!     .edge(START, "write")
//!     .edge("write", "critique")
//!     .route("critique", done, ["write", END])
//!     .compile_with(InMemorySaver::new())?;
//!
//! let cfg = RunConfig::thread("doc-42");
//! let out = graph.invoke(Review { draft: "v0".into(), ..Default::default() }, &cfg).await?;
//! assert_eq!(out.rounds, 3);
//! assert_eq!(out.notes.len(), 3);
//! let history = graph.state_history(&cfg, &ListOptions::default()).await?;
//! assert_eq!(history.len(), 8); // input, start, and one checkpoint per superstep
//! # Ok(())
//! # }
//! ```

pub use langgraph_checkpoint as checkpoint;
pub use langgraph_checkpoint::{
    Checkpointer, InMemorySaver, Prune, StorageStats, ThreadInfo, ThreadQuery, ThreadStatus,
};
#[cfg(feature = "postgres")]
pub use langgraph_checkpoint::{PostgresOptions, PostgresSaver};
#[cfg(feature = "sqlite")]
pub use langgraph_checkpoint::{SqliteOptions, SqliteSaver, Synchronous};
pub use langgraph_core::*;
#[cfg(feature = "llm")]
pub use langgraph_llm as llm;
#[cfg(feature = "opentelemetry")]
pub mod otel;

/// Everything a normal graph needs, in one import.
pub mod prelude {
    #[cfg(feature = "sqlite")]
    pub use langgraph_checkpoint::SqliteSaver;
    pub use langgraph_checkpoint::{Checkpointer, InMemorySaver, Prune, ThreadQuery, ThreadStatus};
    pub use langgraph_core::{
        ALL_NODES, Budget, CachePolicy, Command, CompiledGraph, Ctx, Durability, END, FromState,
        GraphError, Input, Interrupt, ListOptions, NodeError, OnExceeded, Outcome, Persistence,
        Projection, RetryPolicy, Route, RunConfig, RunError, RunOutput, RunReport, START, SendTo,
        State, StateGraph, StateSnapshot, StreamEvent, StreamMode, StreamModes,
    };
    #[cfg(feature = "llm")]
    pub use langgraph_llm::{
        Llm, Message, MessagesState, OpenAiChat, ScriptedModel, ToolError, create_react_agent, tool,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
}
