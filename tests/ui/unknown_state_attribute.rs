use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
#[state(versoin = 2)]
struct S {
    total: i64,
}

fn main() {}
