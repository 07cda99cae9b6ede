use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    #[reducer(append)]
    total: u32,
}

fn main() {}
