//! `ToolNode`: runs the tool calls of the last assistant message, concurrently, and answers
//! each with a tool message. `tools_condition`: the router that goes to the tools or ends.

use std::collections::HashMap;
use std::sync::Arc;

use langgraph_core::{Ctx, NodeError, Route, State};

use crate::error::LlmError;
use crate::message::{Message, MessagesState, MessagesStateUpdate, ToolCall};
use crate::model::ToolSpec;
use crate::tool::Tool;

/// A state with a conversation: what [`ToolNode`], [`tools_condition`] and the agent read and
/// write. Implement it for your own state to use them.
pub trait HasMessages: State {
    /// The conversation.
    fn messages(&self) -> &[Message];
    /// An update that adds (or replaces, by id) these messages.
    fn add_messages(messages: Vec<Message>) -> Self::Update;
}

impl HasMessages for MessagesState {
    fn messages(&self) -> &[Message] {
        &self.messages
    }
    fn add_messages(messages: Vec<Message>) -> MessagesStateUpdate {
        MessagesStateUpdate::new().messages(messages)
    }
}

/// Runs tool calls.
///
/// A tool's error (or a call of an unknown tool, or bad arguments) goes back to the model as
/// the tool message `Error: ...`, so it can correct itself; with
/// [`handle_errors(false)`](Self::handle_errors) it fails the node instead.
#[derive(Clone)]
pub struct ToolNode {
    tools: Arc<HashMap<String, Arc<dyn Tool>>>,
    handle_errors: bool,
}

impl std::fmt::Debug for ToolNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.tools.keys().collect();
        names.sort();
        f.debug_struct("ToolNode").field("tools", &names).finish()
    }
}

impl ToolNode {
    /// A node for these tools.
    pub fn new(tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> Self {
        Self {
            tools: Arc::new(tools.into_iter().map(|t| (t.spec().name, t)).collect()),
            handle_errors: true,
        }
    }

    /// Whether tool errors go back to the model (default) or fail the node.
    pub fn handle_errors(mut self, yes: bool) -> Self {
        self.handle_errors = yes;
        self
    }

    /// The tools' specs, sorted by name (for the model).
    pub fn specs(&self) -> Vec<ToolSpec> {
        let mut v: Vec<ToolSpec> = self.tools.values().map(|t| t.spec()).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Runs `calls` concurrently; one tool message per call, in the calls' order.
    pub async fn run_calls(&self, calls: &[ToolCall]) -> Result<Vec<Message>, LlmError> {
        let runs = calls.iter().map(|c| async move {
            let result = match self.tools.get(&c.name) {
                None => Err(LlmError::UnknownTool(c.name.clone())),
                Some(tool) => tool
                    .call(c.arguments.clone())
                    .await
                    .map_err(|e| LlmError::Tool {
                        tool: c.name.clone(),
                        message: e.0,
                    }),
            };
            let text = match result {
                Ok(text) => text,
                Err(e) if self.handle_errors => {
                    tracing::info!(tool = %c.name, error = %e, "tool error goes back to the model");
                    format!("Error: {e}")
                }
                Err(e) => return Err(e),
            };
            Ok(Message::tool(c.id.clone(), text).with_name(c.name.clone()))
        });
        futures::future::join_all(runs).await.into_iter().collect()
    }

    /// Runs the tool calls of the last message (none if it is not an assistant message with
    /// calls).
    pub async fn run(&self, messages: &[Message]) -> Result<Vec<Message>, LlmError> {
        match messages.last() {
            Some(m) if m.has_tool_calls() => self.run_calls(&m.tool_calls).await,
            _ => Ok(Vec::new()),
        }
    }

    /// The node function for a graph over `S`.
    pub fn node<S: HasMessages>(
        &self,
    ) -> impl Fn(&S, Ctx) -> futures::future::BoxFuture<'static, Result<S::Update, NodeError>>
    + Send
    + Sync
    + 'static {
        let this = self.clone();
        move |s: &S, _ctx: Ctx| {
            let (this, messages) = (this.clone(), s.messages().to_vec());
            Box::pin(async move {
                let out = this.run(&messages).await.map_err(NodeError::new)?;
                Ok(S::add_messages(out))
            })
        }
    }
}

/// Routes to `"tools"` when the last message calls tools, else to the end.
///
/// ```
/// use langgraph_llm::{tools_condition, Message, MessagesState, ToolCall};
/// let mut s = MessagesState::user("hi");
/// assert!(tools_condition(&s).is_end());
/// s.messages.push(Message::assistant("").with_tool_calls(vec![ToolCall::new("c", "t", serde_json::json!({}))]));
/// assert_eq!(tools_condition(&s).node_names(), ["tools"]);
/// ```
pub fn tools_condition<S: HasMessages>(state: &S) -> Route {
    match state.messages().last() {
        Some(m) if m.has_tool_calls() => Route::to("tools"),
        _ => Route::end(),
    }
}
