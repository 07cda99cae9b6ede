use langgraph_llm::{ToolError, tool};

/// Destructures its argument.
#[tool]
async fn weather((city, _): (String, u8)) -> Result<String, ToolError> {
    Ok(city)
}

fn main() {}
