//! The ReAct agent with a scripted model: tool calls, human approval (approve, edit, reject),
//! usage and cost in the run report, token streaming, and budgets that pause or fail a run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use futures::StreamExt;
use langgraph_checkpoint::InMemorySaver;
use langgraph_core::{Budget, OnExceeded, RunConfig, StreamEvent, StreamMode};
use langgraph_llm::{
    Approval, InterruptExt, Llm, MessagesState, Pricing, Role, ScriptedModel, ToolApproval,
    ToolError, create_react_agent, tool,
};
use serde_json::json;

/// Current weather for a city.
#[tool]
async fn weather(city: String) -> Result<String, ToolError> {
    Ok(format!("sunny in {city}"))
}

fn llm(model: ScriptedModel) -> Llm {
    Llm::new(model).pricing(Pricing::new().model("scripted", 1000.0, 2000.0))
}

fn contents(s: &MessagesState) -> Vec<(Role, String)> {
    s.messages
        .iter()
        .map(|m| (m.role, m.content.clone()))
        .collect()
}

#[tokio::test]
async fn the_agent_calls_tools_until_it_answers_and_accounts_for_it() {
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .reply("It is sunny in Paris.");
    let agent = create_react_agent(llm(model.clone()), [weather()])
        .system_prompt("You are terse.")
        .compile()
        .unwrap();
    let out = agent
        .invoke(MessagesState::user("Weather in Paris?"), &RunConfig::new())
        .await
        .unwrap();
    assert_eq!(
        contents(&out)[2..],
        [
            (Role::Tool, "sunny in Paris".to_string()),
            (Role::Assistant, "It is sunny in Paris.".to_string())
        ]
    );
    // The system prompt goes to the model, not into the state.
    let first = &model.requests()[0];
    assert_eq!(first.messages[0].content, "You are terse.");
    assert_eq!(first.tools[0].name, "weather");
    assert_eq!(out.messages[0].role, Role::User);
    // Two calls: usage and cost per node.
    let agent_report = &out.report["agent"];
    assert_eq!(agent_report.usage.calls, 2);
    assert!(agent_report.usage.cost > 0.0);
    assert_eq!(out.report["tools"].usage.calls, 0);
}

#[tokio::test]
async fn tokens_stream_with_the_node_that_asked() {
    let model = ScriptedModel::new("scripted").reply("one two three");
    let agent = create_react_agent(llm(model), [weather()])
        .compile()
        .unwrap();
    let mut s = agent.stream(
        MessagesState::user("count"),
        &RunConfig::new(),
        StreamMode::Messages,
    );
    let mut text = String::new();
    while let Some(ev) = s.next().await {
        if let StreamEvent::Message { node, chunk, .. } = ev.unwrap() {
            assert_eq!(node, "agent");
            if let Some(t) = chunk["chunk"]["Text"].as_str() {
                text.push_str(t);
            }
        }
    }
    assert_eq!(text, "one two three");
}

async fn approval_agent(model: ScriptedModel) -> langgraph_core::CompiledGraph<MessagesState> {
    create_react_agent(llm(model), [weather()])
        .approve_tools(true)
        .compile_with(InMemorySaver::new())
        .unwrap()
}

#[tokio::test]
async fn a_human_approves_edits_or_rejects_tool_calls() {
    // Approve.
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .reply("done");
    let agent = approval_agent(model).await;
    let cfg = RunConfig::thread("approve");
    let paused = agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap();
    assert!(paused.is_interrupted());
    let ask: ToolApproval = serde_json::from_value(paused.interrupts[0].value.clone()).unwrap();
    assert_eq!(ask.calls[0].arguments["city"], "Paris");
    let out = agent.resume(&cfg, Approval::Approve).await.unwrap();
    assert_eq!(out.messages[2].content, "sunny in Paris");

    // Edit: the edited call runs, and the assistant message is rewritten to match.
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .reply("done");
    let agent = approval_agent(model).await;
    let cfg = RunConfig::thread("edit");
    let paused = agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap();
    let mut calls = serde_json::from_value::<ToolApproval>(paused.interrupts[0].value.clone())
        .unwrap()
        .calls;
    calls[0].arguments = json!({"city": "Oslo"});
    let out = agent.resume(&cfg, Approval::Edit { calls }).await.unwrap();
    assert_eq!(out.messages[1].tool_calls[0].arguments["city"], "Oslo");
    assert_eq!(out.messages[2].content, "sunny in Oslo");
    assert_eq!(
        out.messages.len(),
        4,
        "the edit replaced the assistant message by id"
    );

    // Reject: nothing runs, the model reads the reason.
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .reply("ok, I will not");
    let agent = approval_agent(model).await;
    let cfg = RunConfig::thread("reject");
    agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap();
    let out = agent
        .resume(
            &cfg,
            Approval::Reject {
                reason: "no network today".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        out.messages[2].content,
        "Rejected by a human: no network today"
    );
    assert_eq!(out.messages[3].content, "ok, I will not");

    // A wrong answer is refused before anything runs.
    let model = ScriptedModel::new("scripted").call_tool("weather", json!({"city": "Paris"}));
    let agent = approval_agent(model).await;
    let cfg = RunConfig::thread("wrong");
    agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap();
    let e = agent
        .resume(&cfg, json!({"decision": "maybe"}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not match its schema"), "{e}");
}

#[tokio::test]
async fn a_budget_fails_the_run_before_the_call_that_would_exceed_it() {
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .reply("never asked");
    let agent = create_react_agent(llm(model.clone()), [weather()])
        .compile()
        .unwrap();
    let cfg = RunConfig::new().budget(Budget::unlimited().calls(1).on_exceeded(OnExceeded::Fail));
    let e = agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("budget is spent: calls reached 1 of 1"),
        "{e}"
    );
    assert_eq!(model.requests().len(), 1, "no call past the ceiling");
}

#[tokio::test]
async fn a_budget_pauses_the_run_and_a_raised_budget_resumes_it() {
    let model = ScriptedModel::new("scripted")
        .call_tool("weather", json!({"city": "Paris"}))
        .call_tool("weather", json!({"city": "Rome"}))
        .reply("Paris and Rome are sunny.");
    let agent = create_react_agent(llm(model.clone()), [weather()])
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("budget").budget(Budget::unlimited().calls(1));
    let paused = agent
        .invoke(MessagesState::user("weather?"), &cfg)
        .await
        .unwrap();
    assert!(paused.is_interrupted());
    let exceeded = paused.interrupts[0].budget_exceeded().unwrap();
    assert_eq!(
        (exceeded.ceiling.as_str(), exceeded.spent.calls),
        ("calls", 1)
    );
    // Raising it to 2 lets one more call through; what was spent survived the pause.
    let paused = agent
        .resume(&cfg, Budget::unlimited().calls(2))
        .await
        .unwrap();
    assert!(paused.is_interrupted(), "the third call needs more budget");
    assert_eq!(
        paused.interrupts[0].budget_exceeded().unwrap().spent.calls,
        2
    );
    let out = agent
        .resume(&cfg, Budget::unlimited().calls(10))
        .await
        .unwrap();
    assert_eq!(
        out.messages.last().unwrap().content,
        "Paris and Rome are sunny."
    );
    assert_eq!(model.requests().len(), 3);
    // The raised budget is stored with the thread.
    let st = agent.get_state(&cfg).await.unwrap();
    assert!(st.next.is_empty());
    assert_eq!(st.metadata.unwrap().step, 5);
}
