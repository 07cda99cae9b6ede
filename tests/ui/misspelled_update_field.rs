use langgraph::prelude::*;

#[derive(State, Clone, Default, Serialize, Deserialize)]
struct S {
    counter: i64,
}

fn main() {
    // A misspelled channel is a compile error, never a silently dropped write.
    let _ = SUpdate::new().conter(1);
}
