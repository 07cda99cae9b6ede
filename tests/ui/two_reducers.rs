use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    #[reducer(append)]
    #[state(ephemeral)]
    items: Vec<String>,
}

fn main() {}
