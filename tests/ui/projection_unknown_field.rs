use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    question: String,
}

#[derive(Projection)]
#[projection(of = S)]
struct In {
    questoin: String,
}

fn main() {}
