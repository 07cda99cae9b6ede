//! `ScriptedModel`: a model that answers from a script, for deterministic tests of graphs
//! that call models.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::LlmError;
use crate::message::{Message, ToolCall};
use crate::model::{ChatChunk, ChatModel, ChatRequest, ChatResponse, FinishReason, TokenUsage};

enum Step {
    Answer(Message),
    Fail(u16, String),
}

struct Script {
    steps: VecDeque<Step>,
    requests: Vec<ChatRequest>,
}

/// Answers requests from a script, in order, and records the requests it got. Usage counts
/// one token per word of the prompt and of the answer.
///
/// ```
/// use langgraph_llm::{ChatModel, ChatRequest, Message, ScriptedModel, ToolCall};
/// let m = ScriptedModel::new("scripted")
///     .call_tool("weather", serde_json::json!({"city": "Paris"}))
///     .reply("It is sunny.");
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let first = rt.block_on(m.generate(&ChatRequest::new(vec![Message::user("weather?")]))).unwrap();
/// assert_eq!(first.message.tool_calls[0].name, "weather");
/// let second = rt.block_on(m.generate(&ChatRequest::new(vec![]))).unwrap();
/// assert_eq!(second.message.content, "It is sunny.");
/// assert_eq!(m.requests().len(), 2);
/// assert!(rt.block_on(m.generate(&ChatRequest::new(vec![]))).is_err(), "the script is over");
/// ```
#[derive(Clone)]
pub struct ScriptedModel {
    name: String,
    script: Arc<Mutex<Script>>,
}

impl std::fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModel")
            .field("name", &self.name)
            .finish()
    }
}

impl ScriptedModel {
    /// An empty script for a model called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            script: Arc::new(Mutex::new(Script {
                steps: VecDeque::new(),
                requests: Vec::new(),
            })),
        }
    }

    fn push(self, step: Step) -> Self {
        self.lock().steps.push_back(step);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Then answers with text.
    pub fn reply(self, text: impl Into<String>) -> Self {
        self.push(Step::Answer(Message::assistant(text)))
    }

    /// Then calls one tool.
    pub fn call_tool(self, name: &str, arguments: serde_json::Value) -> Self {
        let n = self.lock().steps.len();
        let call = ToolCall::new(format!("call_{n}"), name, arguments);
        self.push(Step::Answer(
            Message::assistant("").with_tool_calls(vec![call]),
        ))
    }

    /// Then answers with this message (several tool calls, say).
    pub fn message(self, m: Message) -> Self {
        self.push(Step::Answer(m))
    }

    /// Then fails with an HTTP status (a 429 or a 5xx is retried by [`Llm`](crate::Llm)).
    pub fn fail(self, status: u16, body: impl Into<String>) -> Self {
        self.push(Step::Fail(status, body.into()))
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().requests.clone()
    }

    /// Steps not used yet.
    pub fn remaining(&self) -> usize {
        self.lock().steps.len()
    }
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn model_name(&self) -> &str {
        &self.name
    }

    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let step = {
            let mut s = self.lock();
            s.requests.push(request.clone());
            s.steps.pop_front()
        };
        match step {
            None => Err(LlmError::Protocol(format!(
                "scripted model `{}` has no answer left",
                self.name
            ))),
            Some(Step::Fail(status, body)) => Err(LlmError::Http { status, body }),
            Some(Step::Answer(message)) => {
                let input_tokens = request.messages.iter().map(|m| words(&m.content)).sum();
                let output_tokens = words(&message.content) + message.tool_calls.len() as u64;
                let finish_reason = if message.tool_calls.is_empty() {
                    FinishReason::Stop
                } else {
                    FinishReason::ToolCalls
                };
                Ok(ChatResponse {
                    message,
                    usage: TokenUsage {
                        input_tokens,
                        output_tokens,
                    },
                    model: self.name.clone(),
                    finish_reason,
                })
            }
        }
    }

    /// Streams the answer's text word by word.
    async fn generate_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<BoxStream<'static, Result<ChatChunk, LlmError>>, LlmError> {
        let r = self.generate(request).await?;
        let mut words: Vec<String> = r
            .message
            .content
            .split_inclusive(' ')
            .map(str::to_string)
            .collect();
        if words.is_empty() && r.message.tool_calls.is_empty() {
            words.push(String::new());
        }
        Ok(r.into_chunks(words))
    }
}
