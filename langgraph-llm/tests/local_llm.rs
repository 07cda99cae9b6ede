//! End to end against a real small model behind an OpenAI-compatible server
//! (`scripts/local-llm.sh`; `scripts/test.sh` starts it and sets `LG_LOCAL_LLM_URL`). The model
//! is tiny: these tests check protocol facts (a tool call was made, JSON validates, tokens
//! stream, usage is recorded, a budget stops a run), never the quality of answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use futures::StreamExt;
use langgraph_core::{
    Budget, Ctx, END, NodeError, OnExceeded, RunConfig, START, StateGraph, StreamEvent, StreamMode,
};
use langgraph_llm::{
    Llm, Message, MessagesState, MessagesStateUpdate, OpenAiChat, Pricing, Role, ToolCall,
    ToolError, create_react_agent, tool,
};
use serde_json::json;

/// The server, or `None` outside CI when it is not running (CI must run these tests).
fn server() -> Option<String> {
    match std::env::var("LG_LOCAL_LLM_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("LG_LOCAL_LLM_URL is not set: CI must start scripts/local-llm.sh")
        }
        Err(_) => {
            eprintln!("skipped: start scripts/local-llm.sh and set LG_LOCAL_LLM_URL");
            None
        }
    }
}

fn llm(url: &str) -> Llm {
    let model = OpenAiChat::new(url, "local").model("smollm2");
    Llm::new(model)
        .pricing(Pricing::new().model("smollm2", 0.1, 0.2))
        .temperature(0.0)
        .seed(42)
        .max_tokens(96)
}

/// Current weather for a city.
#[tool]
async fn get_weather(city: String) -> Result<String, ToolError> {
    Ok(format!("It is sunny in {city}."))
}

/// Two example calls: the model is too small to call tools without them.
fn few_shot() -> Vec<Message> {
    let call = |id: &str, city: &str| {
        Message::assistant("").with_tool_calls(vec![ToolCall::new(
            id,
            "get_weather",
            json!({"city": city}),
        )])
    };
    vec![
        Message::user("What is the weather in Berlin?"),
        call("call_0", "Berlin"),
        Message::user("What is the weather in Rome?"),
        call("call_1", "Rome"),
    ]
}

#[tokio::test]
async fn a_react_agent_calls_a_tool_and_records_usage() {
    let Some(url) = server() else { return };
    let agent = create_react_agent(llm(&url), [get_weather()])
        .examples(few_shot())
        .compile()
        .unwrap();
    // A tiny model misses now and then: three tries to see one tool call.
    let mut called = false;
    for _ in 0..3 {
        let out = agent
            .invoke(
                MessagesState::user("What is the weather in Paris?"),
                &RunConfig::new().recursion_limit(8),
            )
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                eprintln!("run failed: {e}");
                continue;
            }
        };
        let usage = out.report.usage();
        assert!(usage.input_tokens > 0 && usage.calls >= 1, "{usage:?}");
        assert!(usage.cost > 0.0);
        if let Some(t) = out.messages.iter().find(|m| m.role == Role::Tool) {
            assert!(t.content.starts_with("It is sunny in"), "{}", t.content);
            let call_id = t.tool_call_id.clone().unwrap();
            assert!(
                out.messages
                    .iter()
                    .any(|m| m.tool_calls.iter().any(|c| c.id == call_id))
            );
            called = true;
            break;
        }
    }
    assert!(called, "no tool call in three tries");
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
#[serde(rename_all = "lowercase")]
enum Label {
    Positive,
    Negative,
    Neutral,
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
struct Sentiment {
    #[allow(dead_code)] // its presence and value are checked by the schema
    sentiment: Label,
    #[schemars(range(min = 0.0, max = 1.0))]
    confidence: f64,
}

#[tokio::test]
async fn structured_output_validates_against_the_schema() {
    let Some(url) = server() else { return };
    let s: Sentiment = llm(&url)
        .temperature(0.7)
        .structured::<Sentiment>()
        .retries(4)
        .invoke(&[
            Message::system("Classify the sentiment. Answer with JSON: sentiment and confidence between 0 and 1."),
            Message::user("I love this phone, the battery lasts for days!"),
        ])
        .await
        .unwrap();
    assert!((0.0..=1.0).contains(&s.confidence), "{s:?}");
}

#[tokio::test]
async fn tokens_stream_into_the_graph() {
    let Some(url) = server() else { return };
    let llm = llm(&url);
    let g = StateGraph::<MessagesState>::new()
        .node("chat", move |s: &MessagesState, ctx: Ctx| {
            let (llm, msgs) = (llm.clone(), s.messages.clone());
            async move {
                let r = llm.invoke_in(&ctx, &msgs).await?;
                Ok::<_, NodeError>(MessagesStateUpdate::new().messages(vec![r.message]))
            }
        })
        .edge(START, "chat")
        .edge("chat", END)
        .compile()
        .unwrap();
    let mut s = g.stream(
        MessagesState::user("Name three colors."),
        &RunConfig::new(),
        StreamMode::Messages | StreamMode::Values,
    );
    let (mut chunks, mut last) = (Vec::new(), None);
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::Message { node, chunk, .. } => {
                assert_eq!(node, "chat");
                if let Some(t) = chunk["chunk"]["Text"].as_str() {
                    chunks.push(t.to_string());
                }
                if let Some(u) = chunk["chunk"].get("Usage") {
                    assert!(u["output_tokens"].as_u64().unwrap() > 0);
                }
            }
            StreamEvent::Values(v) => last = Some(v),
            _ => {}
        }
    }
    assert!(chunks.len() >= 2, "{chunks:?}");
    assert_eq!(last.unwrap().messages[1].content, chunks.concat());
}

#[tokio::test]
async fn a_budget_stops_a_run_before_the_call_past_it() {
    let Some(url) = server() else { return };
    let llm = llm(&url);
    let g = StateGraph::<MessagesState>::new()
        .node("twice", move |s: &MessagesState, ctx: Ctx| {
            let (llm, msgs) = (llm.clone(), s.messages.clone());
            async move {
                let a = llm.invoke_in(&ctx, &msgs).await?;
                let b = llm.invoke_in(&ctx, &msgs).await?;
                Ok::<_, NodeError>(MessagesStateUpdate::new().messages(vec![a.message, b.message]))
            }
        })
        .edge(START, "twice")
        .edge("twice", END)
        .compile()
        .unwrap();
    let cfg = RunConfig::new().budget(Budget::unlimited().tokens(5).on_exceeded(OnExceeded::Fail));
    let e = g
        .invoke(MessagesState::user("Say hello."), &cfg)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("budget is spent: tokens reached"),
        "{e}"
    );
}
