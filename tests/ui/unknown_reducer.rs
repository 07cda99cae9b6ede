use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    #[reducer(apend)]
    items: Vec<String>,
}

fn main() {}
