//! The engine of typed, durable agent graphs.
//!
//! A graph runs over a **typed state** (`#[derive(State)]`): nodes are plain async functions
//! that read the state and return an *update*; edges and routers decide which nodes run next.
//! Execution proceeds in **supersteps**: every scheduled task runs concurrently on the same
//! snapshot, their updates are applied at the barrier through each field's reducer in a
//! deterministic order, and (with a checkpointer) the state is checkpointed, so a run can stop
//! — by an interrupt, a crash or a limit — and resume exactly there.
//!
//! # Example
//!
//! ```
//! use langgraph_core::{State, StateGraph, RunConfig, Route, START, END};
//! use serde::{Deserialize, Serialize};
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
//! async fn critique(s: &Review) -> ReviewUpdate {
//!     ReviewUpdate::new().notes(vec![format!("round {} looks fine", s.rounds)])
//! }
//! fn done(s: &Review) -> Route {
//!     if s.rounds >= 2 { Route::end() } else { Route::to("write") }
//! }
//!
//! # futures::executor::block_on(async {
//! let graph = StateGraph::<Review>::new()
//!     .node("write", write)
//!     .node("critique", critique)
//!     .edge(START, "write")
//!     .edge("write", "critique")
//!     .route("critique", done, ["write", END])
//!     .compile()?;
//! let out = graph.invoke(Review { draft: "v0".into(), ..Default::default() }, &RunConfig::new()).await?;
//! assert_eq!(out.draft, "v0 (revised) (revised)");
//! assert_eq!(out.notes.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

extern crate self as langgraph_core;

mod cache;
pub mod channels;
mod compiled;
mod config;
mod context;
mod error;
mod graph;
mod history;
mod journal;
mod kept_answer;
pub mod node;
mod node_future;
mod persistence;
mod pregel;
mod report;
mod snapshot;
mod special_edits;
mod state;
mod stream;
mod subgraph;
mod task_id;
mod types;
mod write_set;

pub use cache::{CachePolicy, InMemoryCache, NodeCache};
pub use compiled::{CompiledGraph, Outcome, RunOutput, RunStream};
pub use config::{DEFAULT_RECURSION_LIMIT, Durability, RunConfig};
pub use context::{Ctx, StreamWriter};
pub use error::{BoxError, GraphError, GraphProblem, NodeError, RunError};
pub use graph::StateGraph;
pub use history::HISTORY_PAGE;
pub use langgraph_checkpoint::ListOptions;
pub use langgraph_macros::{Projection, State};
pub use node::{IntoNodeOutput, NodeOutput};
pub use persistence::Persistence;
pub use pregel::retry::RetryPolicy;
pub use report::{Budget, BudgetExceeded, NodeReport, OnExceeded, RunReport, Usage};
pub use snapshot::{StateSnapshot, TaskSnapshot};
pub use state::{ChannelInfo, FromState, IntoUpdate, ReducerKind, State, StateInfo, StateUpdate};
pub use stream::{
    CheckpointEvent, DebugEvent, DebugKind, StreamEvent, StreamMode, StreamModes, TaskEnd,
    TaskStart,
};
pub use subgraph::ParentCommand;
pub use types::{
    ALL_NODES, COPY, Command, END, INPUT, Input, Interrupt, IntoRoute, Resume, Route, START,
    SendArg, SendTo, Target,
};
pub use write_set::{
    ChannelChange, INPUT_WRITER, OverwriteSet, StepWrites, WriteConflict, WriterId,
};

/// Items the derive macros refer to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::channels::{Appendable, Mergeable, add_by_id, reduce_with};
    pub use crate::error::NodeError;
    pub use crate::node::{IntoNodeOutput, NodeOutput};
    pub use crate::state::{
        ChannelInfo, FromState, IntoUpdate, ReducerKind, State, StateInfo, StateUpdate,
    };
    pub use crate::types::Input;
    pub use crate::write_set::{ChannelChange, OverwriteSet, StepWrites, WriteConflict};
    pub use schemars;
    pub use serde;
    pub use serde_json;

    /// The schema of an update type: one optional property per channel, of the channel's type;
    /// no other keys.
    pub fn update_schema(
        description: &str,
        fields: Vec<(&'static str, schemars::Schema, Option<&'static str>)>,
    ) -> schemars::Schema {
        let mut props = serde_json::Map::new();
        for (name, schema, doc) in fields {
            let mut v = schema.to_value();
            if let (Some(d), serde_json::Value::Object(m)) = (doc, &mut v) {
                m.entry("description").or_insert_with(|| d.into());
            }
            props.insert(name.to_string(), v);
        }
        let mut root = serde_json::Map::new();
        root.insert("description".into(), description.into());
        root.insert("type".into(), "object".into());
        root.insert("properties".into(), serde_json::Value::Object(props));
        root.insert("additionalProperties".into(), false.into());
        schemars::Schema::from(root)
    }

    /// Deserializes a present key as `Some`, even when its value is `null` (so an update can
    /// write `None` to an `Option` channel).
    pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: serde::Deserializer<'de>,
        T: serde::Deserialize<'de>,
    {
        T::deserialize(d).map(Some)
    }

    /// Builds an object schema from per-field schemas (used by the generated `state_schema`).
    pub fn object_schema(
        title: &str,
        description: Option<&str>,
        fields: Vec<(&'static str, schemars::Schema, Option<&'static str>, bool)>,
        generator: schemars::SchemaGenerator,
    ) -> serde_json::Value {
        let mut props = serde_json::Map::new();
        let mut required = Vec::new();
        for (name, schema, doc, req) in fields {
            let mut v = schema.to_value();
            if let (Some(d), serde_json::Value::Object(m)) = (doc, &mut v) {
                m.entry("description").or_insert_with(|| d.into());
            }
            props.insert(name.to_string(), v);
            if req {
                required.push(serde_json::Value::from(name));
            }
        }
        let mut root = serde_json::Map::new();
        root.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        root.insert("title".into(), title.into());
        if let Some(d) = description {
            root.insert("description".into(), d.into());
        }
        root.insert("type".into(), "object".into());
        root.insert("properties".into(), serde_json::Value::Object(props));
        root.insert("required".into(), serde_json::Value::Array(required));
        let defs = generator.definitions().clone();
        if !defs.is_empty() {
            root.insert("$defs".into(), serde_json::Value::Object(defs));
        }
        serde_json::Value::Object(root)
    }

    /// A state used by the documentation examples.
    pub mod doc_state {
        use serde::{Deserialize, Serialize};

        /// A document under review.
        #[derive(crate::State, Clone, Debug, Default, Serialize, Deserialize)]
        pub struct Review {
            /// The current draft.
            pub draft: String,
            /// Reviewer notes, appended.
            #[reducer(append)]
            pub notes: Vec<String>,
            /// Revision rounds so far.
            pub rounds: u32,
        }
    }
}
