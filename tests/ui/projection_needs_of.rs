use langgraph::prelude::*;

#[derive(Projection)]
struct In {
    question: String,
}

fn main() {}
