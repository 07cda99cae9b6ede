//! A ReAct agent: the model calls local tools until it can answer; a human approves each batch
//! of tool calls; the run report shows tokens and cost.
//!
//! ```text
//! cargo run -p react-agent                         # a scripted model (no server needed)
//! scripts/local-llm.sh && OPENAI_BASE_URL=http://127.0.0.1:8089/v1 cargo run -p react-agent
//! ```
//!
//! Answer the approval prompt with `y` (default), `n` or an edited city; without a terminal the
//! calls are approved.

use std::io::IsTerminal;

use langgraph::llm::{
    Approval, Llm, Message, MessagesState, OpenAiChat, Pricing, ScriptedModel, ToolApproval,
    ToolCall, ToolError, create_react_agent, tool,
};
use langgraph::prelude::*;
use tokio::io::AsyncBufReadExt;

/// Current weather for a city.
#[tool]
async fn get_weather(city: String) -> Result<String, ToolError> {
    let sky = match city.len() % 3 {
        0 => "sunny",
        1 => "cloudy",
        _ => "rainy",
    };
    Ok(format!("It is {sky} in {city}."))
}

/// Local time in a city.
#[tool]
async fn get_time(city: String) -> Result<String, ToolError> {
    Ok(format!("It is 14:05 in {city}."))
}

/// The model: a real server when `OPENAI_BASE_URL` is set, else a script that plays one turn.
fn model() -> Result<(Llm, &'static str), Box<dyn std::error::Error>> {
    let pricing = Pricing::new()
        .model("gpt-4o-mini", 0.15, 0.60)
        .model("smollm2", 0.05, 0.10);
    if std::env::var("OPENAI_BASE_URL").is_ok() {
        let m = OpenAiChat::from_env()?;
        return Ok((
            Llm::new(m)
                .pricing(pricing)
                .temperature(0.0)
                .max_tokens(128),
            "server",
        ));
    }
    let script = ScriptedModel::new("gpt-4o-mini")
        .call_tool("get_weather", serde_json::json!({"city": "Paris"}))
        .reply("It is rainy in Paris.");
    Ok((Llm::new(script).pricing(pricing), "scripted"))
}

/// Tiny local models call tools only after seeing examples.
fn examples() -> Vec<Message> {
    let call = |id: &str, city: &str| {
        Message::assistant("").with_tool_calls(vec![ToolCall::new(
            id,
            "get_weather",
            serde_json::json!({"city": city}),
        )])
    };
    vec![
        Message::user("What is the weather in Berlin?"),
        call("ex_0", "Berlin"),
        Message::user("What is the weather in Rome?"),
        call("ex_1", "Rome"),
    ]
}

async fn ask(calls: &ToolApproval) -> Approval {
    let shown: Vec<String> = calls
        .calls
        .iter()
        .map(|c| format!("{}({})", c.name, c.arguments))
        .collect();
    println!("the model wants to call: {}", shown.join(", "));
    if !std::io::stdin().is_terminal() {
        println!("approve? [y/n/other city] y (no terminal)");
        return Approval::Approve;
    }
    println!("approve? [y/n/other city]");
    let mut line = String::new();
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    if input.read_line(&mut line).await.is_err() {
        return Approval::Approve;
    }
    match line.trim() {
        "" | "y" | "yes" => Approval::Approve,
        "n" | "no" => Approval::Reject {
            reason: "the user said no".into(),
        },
        city => {
            let mut edited = calls.calls.clone();
            for c in &mut edited {
                c.arguments = serde_json::json!({"city": city});
            }
            Approval::Edit { calls: edited }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, which) = model()?;
    println!("model: {} ({which})", llm.model_name());
    let saver = SqliteSaver::open("react-agent.db").await?;
    let agent = create_react_agent(llm, [get_weather(), get_time()])
        .system_prompt("Use the tools to answer questions about the weather and the time.")
        .examples(examples())
        .approve_tools(true)
        .compile_with(saver)?;
    let cfg = RunConfig::thread(format!("demo-{}", std::process::id()))
        .recursion_limit(12)
        .budget(Budget::usd(0.01));
    let mut out = agent
        .invoke(MessagesState::user("What is the weather in Paris?"), &cfg)
        .await?;
    while out.is_interrupted() {
        let calls: ToolApproval = serde_json::from_value(out.interrupts[0].value.clone())?;
        out = agent.resume(&cfg, ask(&calls).await).await?;
    }
    for m in &out.messages {
        let calls: Vec<String> = m
            .tool_calls
            .iter()
            .map(|c| format!(" -> {}({})", c.name, c.arguments))
            .collect();
        let role = format!("{:?}", m.role);
        println!("{role:>9}: {}{}", m.content, calls.concat());
    }
    // The whole run, across the approval pause.
    let usage = out.report.spent;
    println!(
        "{} model calls, {} tokens in, {} out, cost {:.6}",
        usage.calls, usage.input_tokens, usage.output_tokens, usage.cost
    );
    Ok(())
}
