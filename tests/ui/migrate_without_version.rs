use langgraph::prelude::*;

fn up(_: u32, v: serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    Ok(v)
}

#[derive(State, Clone, Default, Serialize, Deserialize)]
#[state(migrate = up)]
struct S {
    total: i64,
}

fn main() {}
