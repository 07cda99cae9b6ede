use langgraph::prelude::*;

#[derive(State, Clone, Default)]
struct Generic<T> {
    value: T,
}

fn main() {}
