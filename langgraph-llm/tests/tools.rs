//! `#[tool]` and `ToolNode` with a scripted model.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use langgraph_llm::{Json, Message, Tool, ToolCall, ToolError, ToolNode, tool};
use serde_json::json;

/// Current weather for a city.
#[tool]
async fn weather(
    city: String,
    #[schemars(range(min = 0, max = 3))] days: u8,
) -> Result<String, ToolError> {
    if city.is_empty() {
        return Err("no city".into());
    }
    Ok(format!("sunny in {city} for {days} days"))
}

/// Adds two numbers.
///
/// Both may be negative.
#[tool]
async fn add(a: i64, b: i64) -> Result<Json<serde_json::Value>, std::io::Error> {
    Ok(Json(json!({"sum": a + b})))
}

#[tokio::test]
async fn tools_describe_themselves_and_run() {
    let w = weather();
    let spec = w.spec();
    assert_eq!(spec.name, "weather");
    assert_eq!(spec.description, "Current weather for a city.");
    assert_eq!(spec.parameters["properties"]["city"]["type"], "string");
    assert_eq!(spec.parameters["properties"]["days"]["maximum"], 3);
    assert_eq!(spec.parameters["required"], json!(["city", "days"]));
    assert_eq!(
        w.call(json!({"city": "Paris", "days": 2})).await.unwrap(),
        "sunny in Paris for 2 days"
    );
    assert_eq!(
        add().spec().description,
        "Adds two numbers.\n\nBoth may be negative."
    );
    assert_eq!(
        add().call(json!({"a": 2, "b": -5})).await.unwrap(),
        "{\"sum\":-3}"
    );
    let bad = w.call(json!({"town": "Paris"})).await.unwrap_err();
    assert!(bad.0.contains("invalid arguments for `weather`"), "{bad}");
}

#[tokio::test]
async fn a_tool_node_runs_calls_concurrently_and_reports_errors_to_the_model() {
    let tools: Vec<Arc<dyn Tool>> = vec![weather(), add()];
    let node = ToolNode::new(tools);
    let calls = vec![
        ToolCall::new("1", "weather", json!({"city": "Oslo", "days": 1})),
        ToolCall::new("2", "weather", json!({"city": "", "days": 1})),
        ToolCall::new("3", "nope", json!({})),
        ToolCall::new("4", "add", json!({"a": 1, "b": 1})),
    ];
    let msgs = vec![Message::assistant("").with_tool_calls(calls.clone())];
    let out = node.run(&msgs).await.unwrap();
    let texts: Vec<(&str, &str)> = out
        .iter()
        .map(|m| (m.tool_call_id.as_deref().unwrap(), m.content.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            ("1", "sunny in Oslo for 1 days"),
            ("2", "Error: tool `weather` failed: no city"),
            ("3", "Error: the model called an unknown tool `nope`"),
            ("4", "{\"sum\":2}"),
        ]
    );
    assert_eq!(out[0].name.as_deref(), Some("weather"));
    let strict = ToolNode::new(vec![weather()]).handle_errors(false);
    assert!(strict.run_calls(&calls[1..2]).await.is_err());
    assert_eq!(
        node.specs()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["add", "weather"]
    );
}
