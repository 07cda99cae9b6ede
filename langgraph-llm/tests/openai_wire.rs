//! The OpenAI wire format against a mock server: plain answers, SSE streaming, tool calls,
//! a 429 then success, an invalid structured answer then a valid one, usage and cost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use langgraph_llm::{
    ChatModel, ChatRequest, FinishReason, Llm, LlmError, Message, OpenAiChat, Pricing, tool_fn,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn completion(content: Value, usage: (u64, u64)) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1}
    })
}

async fn server() -> (MockServer, OpenAiChat) {
    let s = MockServer::start().await;
    let m = OpenAiChat::new(format!("{}/v1", s.uri()), "test-key").model("test-model");
    (s, m)
}

#[tokio::test]
async fn a_plain_answer_with_usage() {
    let (s, m) = server().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"model": "test-model", "stream": false,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(json!("hello"), (12, 3))))
        .expect(1)
        .mount(&s)
        .await;
    let r = m
        .generate(&ChatRequest::new(vec![
            Message::system("be brief"),
            Message::user("hi"),
        ]))
        .await
        .unwrap();
    assert_eq!(r.message.content, "hello");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (12, 3));
    assert_eq!(r.finish_reason, FinishReason::Stop);
    let auth = s.received_requests().await.unwrap()[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(auth, "Bearer test-key");
}

#[tokio::test]
async fn tool_calls_and_tool_results_round_trip() {
    let (s, m) = server().await;
    let answer = json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
    });
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"tool_choice": "auto", "tools": [{"type": "function",
            "function": {"name": "weather", "description": "Weather in a city."}}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&s)
        .await;
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct City {
        #[allow(dead_code)]
        city: String,
    }
    let weather = tool_fn("weather", "Weather in a city.", |_: City| async {
        Ok::<_, langgraph_llm::ToolError>("sunny")
    });
    let mut req = ChatRequest::new(vec![
        Message::user("weather?"),
        Message::assistant("").with_tool_calls(vec![langgraph_llm::ToolCall::new(
            "old",
            "weather",
            json!({"city": "Rome"}),
        )]),
        Message::tool("old", "rainy"),
    ]);
    req.tools = vec![weather.spec()];
    let r = m.generate(&req).await.unwrap();
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(r.message.tool_calls[0].name, "weather");
    assert_eq!(r.message.tool_calls[0].arguments["city"], "Paris");
    // The history went out in the wire format.
    let body: Value = s.received_requests().await.unwrap()[0].body_json().unwrap();
    assert_eq!(
        body["messages"][1]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Rome\"}"
    );
    assert_eq!(body["messages"][2]["tool_call_id"], "old");
}

#[tokio::test]
async fn streamed_answers_arrive_in_chunks_with_usage_last() {
    let (s, m) = server().await;
    let events = [
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]}),
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]}),
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}),
        json!({"id": "s", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}),
    ];
    let mut sse = String::new();
    for e in &events {
        sse.push_str(&format!("data: {e}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .mount(&s)
        .await;
    use futures::StreamExt;
    let mut stream = m
        .generate_stream(&ChatRequest::new(vec![Message::user("hi")]))
        .await
        .unwrap();
    let mut acc = langgraph_llm::ChunkAccumulator::default();
    let mut texts = Vec::new();
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        if let langgraph_llm::ChatChunk::Text(t) = &c {
            texts.push(t.clone());
        }
        acc.push(&c);
    }
    assert_eq!(texts, ["Hel", "lo"]);
    let r = acc.finish("test-model").unwrap();
    assert_eq!(r.message.content, "Hello");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (4, 2));
}

/// Answers with the given responses in order.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut v = self.0.lock().unwrap();
        if v.len() > 1 {
            v.remove(0)
        } else {
            v[0].clone()
        }
    }
}

#[tokio::test]
async fn a_rate_limit_is_retried_and_usage_is_priced() {
    let (s, m) = server().await;
    let limited = ResponseTemplate::new(429).set_body_json(
        json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}}),
    );
    let ok =
        ResponseTemplate::new(200).set_body_json(completion(json!("fine"), (1_000_000, 500_000)));
    Mock::given(method("POST"))
        .respond_with(Sequence(std::sync::Mutex::new(vec![limited, ok])))
        .mount(&s)
        .await;
    let llm = Llm::new(m)
        .retries(2, Duration::from_millis(5))
        .pricing(Pricing::new().model("test-model", 0.15, 0.60));
    let r = llm.invoke(&[Message::user("hi")]).await.unwrap();
    assert_eq!(r.message.content, "fine");
    assert_eq!(
        s.received_requests().await.unwrap().len(),
        2,
        "one 429, one success"
    );
    assert!((llm.pricing_table().cost(&r.model, &r.usage) - 0.45).abs() < 1e-9);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (s, m) = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "bad key", "type": "invalid_request_error", "param": null, "code": null}}),
        ))
        .mount(&s)
        .await;
    let e = Llm::new(m)
        .invoke(&[Message::user("hi")])
        .await
        .unwrap_err();
    assert!(
        matches!(e, LlmError::Http { status: 401, ref body } if body == "bad key"),
        "{e}"
    );
    assert_eq!(s.received_requests().await.unwrap().len(), 1);
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
struct Sentiment {
    label: String,
    #[schemars(range(min = 0.0, max = 1.0))]
    confidence: f64,
}

#[tokio::test]
async fn an_invalid_structured_answer_is_asked_again() {
    let (s, m) = server().await;
    let first = ResponseTemplate::new(200).set_body_json(completion(
        json!("{\"label\": \"pos\", \"confidence\": 3"),
        (10, 5),
    ));
    let second = ResponseTemplate::new(200).set_body_json(completion(
        json!("{\"label\": \"pos\", \"confidence\": 7}"),
        (30, 5),
    ));
    let third = ResponseTemplate::new(200).set_body_json(completion(
        json!("{\"label\": \"pos\", \"confidence\": 0.7}"),
        (50, 5),
    ));
    Mock::given(method("POST"))
        .respond_with(Sequence(std::sync::Mutex::new(vec![first, second, third])))
        .mount(&s)
        .await;
    let llm = Llm::new(m);
    let v: Sentiment = llm
        .structured::<Sentiment>()
        .retries(2)
        .invoke(&[Message::user("great!")])
        .await
        .unwrap();
    assert_eq!(
        v,
        Sentiment {
            label: "pos".into(),
            confidence: 0.7
        }
    );
    let reqs = s.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    let first_body: Value = reqs[0].body_json().unwrap();
    let fmt = &first_body["response_format"];
    assert_eq!(fmt["type"], "json_schema");
    assert_eq!(fmt["json_schema"]["strict"], true);
    assert_eq!(fmt["json_schema"]["schema"]["additionalProperties"], false);
    // The re-ask carries the bad answer and the validator's complaint.
    let third_body: Value = reqs[2].body_json().unwrap();
    let msgs = third_body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 5);
    assert!(
        msgs[2]["content"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        msgs[4]["content"].as_str().unwrap().contains("7"),
        "{}",
        msgs[4]
    );
}

#[tokio::test]
async fn the_final_structured_error_keeps_every_attempt() {
    let (s, m) = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(json!("nope"), (1, 1))))
        .mount(&s)
        .await;
    let e = Llm::new(m)
        .structured::<Sentiment>()
        .retries(1)
        .invoke(&[Message::user("?")])
        .await
        .unwrap_err();
    let LlmError::Structured { attempts, .. } = e else {
        panic!("{e}")
    };
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.raw == "nope"));
}
