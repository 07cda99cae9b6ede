//! The LLM layer: chat messages and the `add_messages` state, a dyn-safe [`ChatModel`] with an
//! OpenAI-compatible adapter ([`OpenAiChat`], feature `openai`) and a [`ScriptedModel`] for
//! tests, [`Llm`] (budget checks, token streaming into the graph, usage and cost on every
//! call), validated [`Structured`] output with re-asking, tools (`#[tool]`, [`tool_fn`],
//! [`ToolNode`], [`tools_condition`]) and a ReAct agent ([`create_react_agent`]) with an
//! optional human approval of tool calls.
//!
//! - [`message`]: `Message`, `ToolCall`, `MessagesState`;
//! - [`model`]: requests, responses, chunks, the `ChatModel` trait;
//! - [`llm`]: `Llm`; [`structured`]: `Structured`; [`pricing`]: `Pricing`;
//! - [`tool`](mod@tool), [`tool_node`], [`agent`]: tools and the agent;
//! - [`scripted`], `openai`: models.

pub mod agent;
pub mod error;
pub mod llm;
pub mod message;
pub mod model;
#[cfg(feature = "openai")]
pub mod openai;
pub mod pricing;
pub mod scripted;
pub mod structured;
pub mod tool;
pub mod tool_node;

pub use agent::{Approval, ReactAgent, ToolApproval, create_react_agent};
pub use error::{FailedAttempt, LlmError};
/// `#[tool]`: see [`tool_fn`] for what it builds.
pub use langgraph_macros::tool;
pub use llm::{InterruptExt, Llm};
pub use message::{Message, MessagesState, MessagesStateUpdate, Role, ToolCall};
pub use model::{
    ChatChunk, ChatModel, ChatRequest, ChatResponse, ChunkAccumulator, FinishReason,
    ResponseFormat, TokenUsage, ToolChoice, ToolSpec,
};
#[cfg(feature = "openai")]
pub use openai::OpenAiChat;
pub use pricing::{Price, Pricing};
pub use scripted::ScriptedModel;
pub use structured::{Structured, strict_schema};
pub use tool::{FnTool, Json, Tool, ToolError, ToolOutput, arguments_schema, tool_fn};
pub use tool_node::{HasMessages, ToolNode, tools_condition};

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use schemars;
    pub use serde;
    pub use serde_json;
}
