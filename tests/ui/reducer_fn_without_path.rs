use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    #[reducer(fn)]
    total: i64,
}

fn main() {}
