use langgraph::prelude::*;

#[derive(State, Clone, Default)]
enum NotAStruct {
    #[default]
    A,
}

fn main() {}
