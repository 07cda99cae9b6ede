//! Chat messages, with ids (so `#[reducer(add_messages)]` can replace and remove them), and
//! [`MessagesState`], the state of a chat agent.

use langgraph_core::channels::Identified;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The human.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolCall {
    /// The call's id (the tool's answer refers to it).
    pub id: String,
    /// The tool.
    pub name: String,
    /// The arguments (a JSON object).
    pub arguments: Value,
}

impl ToolCall {
    /// A call of `name` with `arguments`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

/// One chat message.
///
/// ```
/// use langgraph_llm::{Message, Role, ToolCall};
/// let m = Message::user("Weather in Paris?");
/// assert_eq!((m.role, m.content.as_str()), (Role::User, "Weather in Paris?"));
/// let call = ToolCall::new("c1", "weather", serde_json::json!({"city": "Paris"}));
/// let a = Message::assistant("").with_tool_calls(vec![call]);
/// assert!(a.has_tool_calls());
/// let t = Message::tool("c1", "sunny");
/// assert_eq!(t.tool_call_id.as_deref(), Some("c1"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// The message's id (given on arrival when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Who speaks.
    pub role: Role,
    /// The text.
    #[serde(default)]
    pub content: String,
    /// The tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool's name (tool messages), or a speaker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A removal marker: merging it deletes the message with the same id.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove: bool,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            id: None,
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            remove: false,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool's answer to call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        let mut m = Self::new(Role::Tool, content);
        m.tool_call_id = Some(call_id.into());
        m
    }

    /// A marker that deletes the message with id `id` when merged.
    pub fn remove(id: impl Into<String>) -> Self {
        let mut m = Self::new(Role::User, "");
        m.id = Some(id.into());
        m.remove = true;
        m
    }

    /// With an id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// With tool calls (an assistant message).
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = calls;
        self
    }

    /// With a name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// True for an assistant message that calls tools.
    pub fn has_tool_calls(&self) -> bool {
        self.role == Role::Assistant && !self.tool_calls.is_empty()
    }
}

impl Identified for Message {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn set_id(&mut self, id: String) {
        self.id = Some(id);
    }
    fn is_removal(&self) -> bool {
        self.remove
    }
}

/// The state of a chat agent: the conversation, merged by id.
///
/// ```
/// use langgraph_llm::{Message, MessagesState};
/// let s = MessagesState::user("hi");
/// assert_eq!(s.messages.len(), 1);
/// assert_eq!(s.last().map(|m| m.content.as_str()), Some("hi"));
/// ```
#[derive(langgraph_macros::State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesState {
    /// The conversation.
    #[reducer(add_messages)]
    pub messages: Vec<Message>,
}

impl MessagesState {
    /// A conversation that starts with a user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            messages: vec![Message::user(content)],
        }
    }

    /// The last message.
    pub fn last(&self) -> Option<&Message> {
        self.messages.last()
    }
}
