use langgraph::prelude::*;

#[derive(State, Clone, Default)]
struct Tuple(u32);

fn main() {}
