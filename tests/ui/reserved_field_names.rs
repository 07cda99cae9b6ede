use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    new: i64,
    __hidden: i64,
}

fn main() {}
