use langgraph_llm::{ToolError, tool};

/// Not async.
#[tool]
fn weather(city: String) -> Result<String, ToolError> {
    Ok(city)
}

fn main() {}
