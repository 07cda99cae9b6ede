use langgraph_llm::{ToolError, tool};

#[tool]
async fn weather(city: String) -> Result<String, ToolError> {
    Ok(city)
}

fn main() {}
