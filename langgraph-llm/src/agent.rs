//! `create_react_agent`: the model calls tools until it answers, as a compiled graph over
//! [`MessagesState`], optionally pausing before tools run so a human can approve, edit or
//! reject the calls.

use std::sync::Arc;

use langgraph_checkpoint::Checkpointer;
use langgraph_core::{CompiledGraph, Ctx, END, GraphError, NodeError, START, StateGraph};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::llm::Llm;
use crate::message::{Message, MessagesState, MessagesStateUpdate, ToolCall};
use crate::model::ChatRequest;
use crate::tool::Tool;
use crate::tool_node::{ToolNode, tools_condition};

/// What the agent asks a human before tools run (the interrupt's payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolApproval {
    /// The calls the model wants to make.
    pub calls: Vec<ToolCall>,
}

/// A human's answer to a [`ToolApproval`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Approval {
    /// Run the calls as they are.
    Approve,
    /// Run these calls instead (the assistant message is rewritten to match).
    Edit {
        /// The calls to run.
        calls: Vec<ToolCall>,
    },
    /// Run nothing; each call gets this reason as its answer, and the model goes on.
    Reject {
        /// Why.
        reason: String,
    },
}

/// Builds a ReAct agent; see [`create_react_agent`].
pub struct ReactAgent {
    llm: Llm,
    tools: ToolNode,
    approve: bool,
    system: Option<String>,
    examples: Vec<Message>,
}

/// An agent that calls `llm` with `tools` until it answers without calling any.
///
/// ```
/// use langgraph_llm::{create_react_agent, tool_fn, Llm, MessagesState, ScriptedModel, ToolError};
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct City { city: String }
/// let weather = tool_fn("weather", "Weather in a city.", |c: City| async move {
///     Ok::<_, ToolError>(format!("sunny in {}", c.city))
/// });
/// let model = ScriptedModel::new("m")
///     .call_tool("weather", serde_json::json!({"city": "Paris"}))
///     .reply("It is sunny in Paris.");
/// let agent = create_react_agent(Llm::new(model), [weather]).compile().unwrap();
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let out = rt.block_on(agent.invoke(MessagesState::user("Weather in Paris?"), &Default::default())).unwrap();
/// let texts: Vec<&str> = out.messages.iter().map(|m| m.content.as_str()).collect();
/// assert_eq!(texts, ["Weather in Paris?", "", "sunny in Paris", "It is sunny in Paris."]);
/// ```
pub fn create_react_agent(llm: Llm, tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> ReactAgent {
    ReactAgent {
        llm,
        tools: ToolNode::new(tools),
        approve: false,
        system: None,
        examples: Vec::new(),
    }
}

impl ReactAgent {
    /// Pauses before tools run: the interrupt's payload is a [`ToolApproval`], the answer an
    /// [`Approval`] (needs a checkpointer).
    pub fn approve_tools(mut self, yes: bool) -> Self {
        self.approve = yes;
        self
    }

    /// A system prompt, sent first in every model call (not stored in the state).
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// Example turns sent after the system prompt in every call (not stored): few-shot tool
    /// calls help small models call tools at all.
    pub fn examples(mut self, messages: Vec<Message>) -> Self {
        self.examples = messages;
        self
    }

    /// What a tool error does (see [`ToolNode::handle_errors`]).
    pub fn handle_tool_errors(mut self, yes: bool) -> Self {
        self.tools = self.tools.handle_errors(yes);
        self
    }

    /// The graph, before compiling (to add a checkpointer or more nodes).
    pub fn graph(self) -> StateGraph<MessagesState> {
        let Self {
            llm,
            tools,
            approve,
            system,
            examples,
        } = self;
        let specs = tools.specs();
        let mut prefix: Vec<Message> = system.into_iter().map(Message::system).collect();
        prefix.extend(examples);
        let prefix = Arc::new(prefix);
        let agent = move |s: &MessagesState, ctx: Ctx| {
            let (llm, specs, prefix) = (llm.clone(), specs.clone(), prefix.clone());
            let mut messages: Vec<Message> = prefix.as_ref().clone();
            messages.extend(s.messages.iter().cloned());
            async move {
                let mut request = ChatRequest::new(messages);
                request.tools = specs;
                let r = llm.request(Some(&ctx), request).await?;
                Ok::<_, NodeError>(MessagesStateUpdate::new().messages(vec![r.message]))
            }
        };
        let run_tools = move |s: &MessagesState, ctx: Ctx| {
            let (tools, last) = (tools.clone(), s.messages.last().cloned());
            async move {
                let Some(last) = last.filter(Message::has_tool_calls) else {
                    return Ok(MessagesStateUpdate::new());
                };
                let mut out = Vec::new();
                let mut calls = last.tool_calls.clone();
                if approve {
                    let ask = ToolApproval {
                        calls: calls.clone(),
                    };
                    match ctx.interrupt::<Approval>(&ask).await? {
                        Approval::Approve => {}
                        Approval::Edit { calls: edited } => {
                            calls = edited;
                            out.push(last.clone().with_tool_calls(calls.clone()));
                        }
                        Approval::Reject { reason } => {
                            let answers = calls
                                .iter()
                                .map(|c| {
                                    Message::tool(
                                        c.id.clone(),
                                        format!("Rejected by a human: {reason}"),
                                    )
                                    .with_name(c.name.clone())
                                })
                                .collect();
                            return Ok(MessagesStateUpdate::new().messages(answers));
                        }
                    }
                }
                out.extend(tools.run_calls(&calls).await.map_err(NodeError::new)?);
                Ok::<_, NodeError>(MessagesStateUpdate::new().messages(out))
            }
        };
        StateGraph::<MessagesState>::new()
            .node("agent", agent)
            .node("tools", run_tools)
            .edge(START, "agent")
            .route("agent", tools_condition::<MessagesState>, ["tools", END])
            .edge("tools", "agent")
            .name("react_agent")
    }

    /// Compiles the agent without a checkpointer.
    pub fn compile(self) -> Result<CompiledGraph<MessagesState>, GraphError> {
        self.graph().compile()
    }

    /// Compiles the agent with a checkpointer (needed to approve tool calls).
    pub fn compile_with(
        self,
        saver: impl Checkpointer,
    ) -> Result<CompiledGraph<MessagesState>, GraphError> {
        self.graph().compile_with(saver)
    }
}
