//! The chat model contract: a request (messages, tools, output format), a response (the
//! assistant message and token usage), and streamed chunks.

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LlmError;
use crate::message::{Message, ToolCall};

/// A tool as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: String,
    /// What it does (from the tool's doc comment).
    pub description: String,
    /// JSON schema of its arguments (an object).
    pub parameters: Value,
}

/// Whether and how the model must call tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must call a tool.
    Required,
    /// The model must not call tools.
    None,
}

/// The shape the answer must have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseFormat {
    /// A JSON object matching `schema` (OpenAI's `json_schema` format).
    JsonSchema {
        /// A name for the schema.
        name: String,
        /// The schema.
        schema: Value,
        /// Strict mode (the provider enforces the schema where it can).
        strict: bool,
    },
}

/// One request to a chat model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Whether it must call one.
    #[serde(default)]
    pub tool_choice: ToolChoice,
    /// The answer's required shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Ceiling on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Seed for reproducible sampling (where supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

impl ChatRequest {
    /// A request with these messages.
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }
}

/// Tokens of one call, as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It finished its answer.
    Stop,
    /// It hit the token ceiling.
    Length,
    /// It called tools.
    ToolCalls,
    /// The provider filtered the answer.
    ContentFilter,
    /// Anything else the provider said.
    Other(String),
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant message (with tool calls, if any).
    pub message: Message,
    /// Tokens used.
    pub usage: TokenUsage,
    /// The model that answered.
    pub model: String,
    /// Why it stopped.
    pub finish_reason: FinishReason,
}

impl ChatResponse {
    /// This answer as a stream: the `text` pieces (the caller splits the content), then its
    /// tool calls, usage and finish reason.
    pub(crate) fn into_chunks(
        self,
        text: Vec<String>,
    ) -> BoxStream<'static, Result<ChatChunk, LlmError>> {
        let mut chunks: Vec<Result<ChatChunk, LlmError>> =
            text.into_iter().map(|t| Ok(ChatChunk::Text(t))).collect();
        for (i, c) in self.message.tool_calls.into_iter().enumerate() {
            chunks.push(Ok(ChatChunk::ToolCall {
                index: i as u32,
                id: Some(c.id),
                name: Some(c.name),
                arguments: c.arguments.to_string(),
            }));
        }
        chunks.push(Ok(ChatChunk::Usage(self.usage)));
        chunks.push(Ok(ChatChunk::Finish(self.finish_reason)));
        Box::pin(futures::stream::iter(chunks))
    }
}

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChatChunk {
    /// Text.
    Text(String),
    /// A tool call, or a piece of one (`index` says which call of the answer).
    ToolCall {
        /// Which call.
        index: u32,
        /// Its id (first piece).
        id: Option<String>,
        /// The tool (first piece).
        name: Option<String>,
        /// A piece of the arguments' JSON text.
        arguments: String,
    },
    /// Token usage (usually last).
    Usage(TokenUsage),
    /// The end: why the model stopped.
    Finish(FinishReason),
}

/// Assembles streamed chunks into a response.
#[derive(Debug, Default)]
pub struct ChunkAccumulator {
    text: String,
    calls: Vec<(Option<String>, Option<String>, String)>,
    usage: TokenUsage,
    finish: Option<FinishReason>,
}

impl ChunkAccumulator {
    /// Takes in a chunk.
    pub fn push(&mut self, chunk: &ChatChunk) {
        match chunk {
            ChatChunk::Text(t) => self.text.push_str(t),
            ChatChunk::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                let i = *index as usize;
                if self.calls.len() <= i {
                    self.calls.resize(i + 1, (None, None, String::new()));
                }
                let c = &mut self.calls[i];
                if id.is_some() {
                    c.0.clone_from(id);
                }
                if name.is_some() {
                    c.1.clone_from(name);
                }
                c.2.push_str(arguments);
            }
            ChatChunk::Usage(u) => self.usage = *u,
            ChatChunk::Finish(f) => self.finish = Some(f.clone()),
        }
    }

    /// The response the chunks make up.
    pub fn finish(self, model: &str) -> Result<ChatResponse, LlmError> {
        let mut calls = Vec::new();
        for (i, (id, name, args)) in self.calls.into_iter().enumerate() {
            let name = name
                .ok_or_else(|| LlmError::Protocol(format!("streamed tool call {i} has no name")))?;
            let arguments = parse_arguments(&name, &args)?;
            calls.push(ToolCall {
                id: id.unwrap_or_else(|| format!("call_{i}")),
                name,
                arguments,
            });
        }
        let finish_reason = self.finish.unwrap_or(if calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        });
        Ok(ChatResponse {
            message: Message::assistant(self.text).with_tool_calls(calls),
            usage: self.usage,
            model: model.to_string(),
            finish_reason,
        })
    }
}

/// Tool-call arguments from the model's JSON text (empty text: no arguments).
pub(crate) fn parse_arguments(tool: &str, text: &str) -> Result<Value, LlmError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(text).map_err(|e| LlmError::BadToolArguments {
        tool: tool.to_string(),
        raw: text.to_string(),
        reason: e.to_string(),
    })
}

/// A chat model. Implement it for a provider; use it through
/// [`Llm`](crate::Llm), which adds usage, cost, budgets, streaming into the graph and
/// structured output.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The model's name (what the pricing table is keyed by).
    fn model_name(&self) -> &str;

    /// Answers a request.
    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// Answers a request piece by piece. The default answers whole, as one text chunk,
    /// its tool calls, usage and the finish reason.
    async fn generate_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<BoxStream<'static, Result<ChatChunk, LlmError>>, LlmError> {
        let mut r = self.generate(request).await?;
        let text = vec![std::mem::take(&mut r.message.content)];
        Ok(r.into_chunks(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that only answers whole: the trait's default streams that answer.
    struct Whole;

    #[async_trait]
    impl ChatModel for Whole {
        fn model_name(&self) -> &str {
            "whole"
        }
        async fn generate(&self, _: &ChatRequest) -> Result<ChatResponse, LlmError> {
            Ok(ChatResponse {
                message: Message::assistant("hi").with_tool_calls(vec![
                    crate::message::ToolCall::new("c1", "add", serde_json::json!({"a": 1})),
                ]),
                usage: TokenUsage {
                    input_tokens: 2,
                    output_tokens: 3,
                },
                model: "whole".into(),
                finish_reason: FinishReason::ToolCalls,
            })
        }
    }

    #[tokio::test]
    async fn the_default_stream_replays_a_whole_answer() {
        use futures::StreamExt;
        let s = Whole
            .generate_stream(&ChatRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let chunks: Vec<ChatChunk> = s
            .map(|c| c.unwrap_or_else(|e| panic!("{e}")))
            .collect()
            .await;
        let mut acc = ChunkAccumulator::default();
        chunks.iter().for_each(|c| acc.push(c));
        let r = acc.finish("whole").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunks[0], ChatChunk::Text("hi".into()));
        assert_eq!(r.message.content, "hi");
        assert_eq!(r.message.tool_calls[0].name, "add");
        assert_eq!(r.message.tool_calls[0].arguments["a"], 1);
        assert_eq!(r.usage.output_tokens, 3);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    }

    #[test]
    fn chunks_assemble_into_a_response() {
        let mut acc = ChunkAccumulator::default();
        for c in [
            ChatChunk::Text("Hel".into()),
            ChatChunk::Text("lo".into()),
            ChatChunk::ToolCall {
                index: 0,
                id: Some("c1".into()),
                name: Some("weather".into()),
                arguments: "{\"city\":".into(),
            },
            ChatChunk::ToolCall {
                index: 0,
                id: None,
                name: None,
                arguments: "\"Paris\"}".into(),
            },
            ChatChunk::Usage(TokenUsage {
                input_tokens: 3,
                output_tokens: 4,
            }),
        ] {
            acc.push(&c);
        }
        let r = acc.finish("m").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.message.content, "Hello");
        assert_eq!(r.message.tool_calls[0].arguments["city"], "Paris");
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(r.usage.output_tokens, 4);
        let mut bad = ChunkAccumulator::default();
        bad.push(&ChatChunk::ToolCall {
            index: 0,
            id: None,
            name: Some("t".into()),
            arguments: "{oops".into(),
        });
        assert!(matches!(
            bad.finish("m"),
            Err(LlmError::BadToolArguments { .. })
        ));
    }
}
