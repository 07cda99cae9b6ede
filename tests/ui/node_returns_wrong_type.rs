use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    counter: i64,
}

async fn bad(_: &S) -> i64 {
    1
}

fn main() {
    let _ = StateGraph::<S>::new().node("bad", bad);
}
