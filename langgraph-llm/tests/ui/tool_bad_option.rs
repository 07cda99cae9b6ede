use langgraph_llm::{ToolError, tool};

/// An unknown option.
#[tool(name = "w")]
async fn weather(city: String) -> Result<String, ToolError> {
    Ok(city)
}

fn main() {}
