//! `OpenAiChat`: any OpenAI-compatible chat completions server (OpenAI, a local llama.cpp
//! server, vLLM, ...), through `async-openai`.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value, json};

use crate::error::LlmError;
use crate::message::{Message, Role, ToolCall};
use crate::model::{
    ChatChunk, ChatModel, ChatRequest, ChatResponse, FinishReason, ResponseFormat, TokenUsage,
    ToolChoice, parse_arguments,
};

/// A chat model behind an OpenAI-compatible HTTP API.
///
/// ```
/// use std::time::Duration;
/// use langgraph_llm::OpenAiChat;
/// let m = OpenAiChat::new("http://127.0.0.1:8089/v1", "unused-key")
///     .model("gpt-4o-mini")
///     .timeout(Duration::from_secs(30));
/// assert_eq!(langgraph_llm::ChatModel::model_name(&m), "gpt-4o-mini");
/// ```
#[derive(Clone)]
pub struct OpenAiChat {
    client: Client<OpenAIConfig>,
    model: String,
    timeout: Duration,
    base_url: String,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OpenAiChat {
    /// A server at `base_url` (ending in `/v1`) with API key `key`.
    pub fn new(base_url: impl Into<String>, key: impl Into<String>) -> Self {
        let base_url = base_url.into();
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(key);
        Self {
            client: Client::with_config(config),
            model: "gpt-4o-mini".into(),
            timeout: Duration::from_secs(120),
            base_url,
        }
    }

    /// From the usual environment variables: `OPENAI_BASE_URL` (default
    /// `https://api.openai.com/v1`), `OPENAI_API_KEY` (required unless the base URL is a
    /// local address), `OPENAI_MODEL` (default `gpt-4o-mini`).
    pub fn from_env() -> Result<Self, LlmError> {
        let base =
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
        let local = base.contains("://127.0.0.1") || base.contains("://localhost");
        let key = match std::env::var("OPENAI_API_KEY") {
            Ok(k) => k,
            Err(_) if local => "local".into(),
            Err(_) => {
                return Err(LlmError::Config(
                    "set OPENAI_API_KEY (or OPENAI_BASE_URL to a local server)".into(),
                ));
            }
        };
        let mut m = Self::new(base, key);
        if let Ok(model) = std::env::var("OPENAI_MODEL") {
            m.model = model;
        }
        Ok(m)
    }

    /// Uses model `name`.
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.model = name.into();
        self
    }

    /// Gives up on a request after `d` (default 120 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    fn body(&self, r: &ChatRequest, stream: bool) -> Value {
        let mut b = Map::new();
        b.insert("model".into(), json!(self.model));
        b.insert(
            "messages".into(),
            Value::Array(r.messages.iter().map(wire_message).collect()),
        );
        if !r.tools.is_empty() {
            let tools = r
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters}})
                })
                .collect();
            b.insert("tools".into(), Value::Array(tools));
            let choice = match r.tool_choice {
                ToolChoice::Auto => "auto",
                ToolChoice::Required => "required",
                ToolChoice::None => "none",
            };
            b.insert("tool_choice".into(), json!(choice));
        }
        if let Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) = &r.response_format
        {
            b.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}),
            );
        }
        if let Some(t) = r.temperature {
            b.insert("temperature".into(), json!(t));
        }
        if let Some(m) = r.max_tokens {
            b.insert("max_completion_tokens".into(), json!(m));
        }
        if let Some(s) = r.seed {
            b.insert("seed".into(), json!(s));
        }
        b.insert("stream".into(), json!(stream));
        if stream {
            b.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Value::Object(b)
    }
}

/// A message in the wire format.
fn wire_message(m: &Message) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut o = Map::new();
    o.insert("role".into(), json!(role));
    o.insert("content".into(), json!(m.content));
    if !m.tool_calls.is_empty() {
        let calls = m
            .tool_calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments.to_string()}})
            })
            .collect();
        o.insert("tool_calls".into(), Value::Array(calls));
    }
    if let Some(id) = &m.tool_call_id {
        o.insert("tool_call_id".into(), json!(id));
    }
    if let (Some(name), Role::User) = (&m.name, m.role) {
        o.insert("name".into(), json!(name));
    }
    Value::Object(o)
}

fn error(e: OpenAIError) -> LlmError {
    match e {
        OpenAIError::ApiError(r) => LlmError::Http {
            status: r.status_code.as_u16(),
            body: r.api_error.message,
        },
        OpenAIError::Reqwest(e) => match e.status() {
            Some(s) => LlmError::Http {
                status: s.as_u16(),
                body: e.to_string(),
            },
            None => LlmError::Transport(e.to_string()),
        },
        OpenAIError::JSONDeserialize(e, body) => LlmError::Protocol(format!(
            "{e}: {}",
            body.chars().take(500).collect::<String>()
        )),
        other => LlmError::Protocol(other.to_string()),
    }
}

fn finish_reason(v: &Value) -> Option<FinishReason> {
    Some(match v.as_str()? {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    })
}

fn usage(v: &Value) -> TokenUsage {
    TokenUsage {
        input_tokens: v["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: v["completion_tokens"].as_u64().unwrap_or(0),
    }
}

/// A whole (not streamed) answer.
fn response(v: &Value, model: &str) -> Result<ChatResponse, LlmError> {
    let choice = v["choices"]
        .get(0)
        .ok_or_else(|| LlmError::Protocol(format!("no choices in {v}")))?;
    let msg = &choice["message"];
    let mut calls = Vec::new();
    for c in msg["tool_calls"].as_array().into_iter().flatten() {
        let name = c["function"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let args = c["function"]["arguments"].as_str().unwrap_or_default();
        calls.push(ToolCall {
            id: c["id"].as_str().unwrap_or_default().to_string(),
            arguments: parse_arguments(&name, args)?,
            name,
        });
    }
    let message =
        Message::assistant(msg["content"].as_str().unwrap_or_default()).with_tool_calls(calls);
    Ok(ChatResponse {
        finish_reason: finish_reason(&choice["finish_reason"]).unwrap_or(FinishReason::Stop),
        usage: usage(&v["usage"]),
        model: v["model"].as_str().unwrap_or(model).to_string(),
        message: match v["id"].as_str() {
            Some(id) => message.with_id(id),
            None => message,
        },
    })
}

/// The chunks of one streamed event.
fn chunks(v: &Value) -> Vec<ChatChunk> {
    let mut out = Vec::new();
    if let Some(choice) = v["choices"].get(0) {
        let delta = &choice["delta"];
        if let Some(t) = delta["content"].as_str()
            && !t.is_empty()
        {
            out.push(ChatChunk::Text(t.to_string()));
        }
        for c in delta["tool_calls"].as_array().into_iter().flatten() {
            out.push(ChatChunk::ToolCall {
                index: c["index"].as_u64().unwrap_or(0) as u32,
                id: c["id"].as_str().map(str::to_string),
                name: c["function"]["name"].as_str().map(str::to_string),
                arguments: c["function"]["arguments"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        if let Some(f) = finish_reason(&choice["finish_reason"]) {
            out.push(ChatChunk::Finish(f));
        }
    }
    if v["usage"].is_object() {
        out.push(ChatChunk::Usage(usage(&v["usage"])));
    }
    out
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn model_name(&self) -> &str {
        &self.model
    }

    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = self.body(request, false);
        let chat = self.client.chat();
        let call = chat.create_byot::<Value, Value>(body);
        let v = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(error)?;
        response(&v, &self.model)
    }

    async fn generate_stream(
        &self,
        request: &ChatRequest,
    ) -> Result<BoxStream<'static, Result<ChatChunk, LlmError>>, LlmError> {
        let body = self.body(request, true);
        let chat = self.client.chat();
        let call = chat.create_stream_byot::<Value, Value>(body);
        let events = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(error)?;
        let chunks = events.flat_map(|ev| {
            let items: Vec<Result<ChatChunk, LlmError>> = match ev {
                Ok(v) => chunks(&v).into_iter().map(Ok).collect(),
                Err(e) => vec![Err(error(e))],
            };
            futures::stream::iter(items)
        });
        Ok(Box::pin(chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_answers_follow_the_wire_format() {
        let call = ToolCall::new("c1", "weather", json!({"city": "Paris"}));
        let a = wire_message(&Message::assistant("").with_tool_calls(vec![call]));
        assert_eq!(
            a["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        let t = wire_message(&Message::tool("c1", "sunny"));
        assert_eq!(
            (t["role"].as_str(), t["tool_call_id"].as_str()),
            (Some("tool"), Some("c1"))
        );
        let r = response(
            &json!({"id": "x", "model": "m", "choices": [{"message": {"content": null,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Rome\"}"}}]},
                "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 5, "completion_tokens": 7}}),
            "m",
        )
        .unwrap();
        assert_eq!(r.message.tool_calls[0].arguments["city"], "Rome");
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (5, 7));
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        let c = chunks(&json!({"choices": [{"delta": {"content": "Hi"}, "finish_reason": null}]}));
        assert_eq!(c, [ChatChunk::Text("Hi".into())]);
        let u =
            chunks(&json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}));
        assert!(matches!(
            u[..],
            [ChatChunk::Usage(TokenUsage {
                input_tokens: 1,
                output_tokens: 2
            })]
        ));
    }
}
