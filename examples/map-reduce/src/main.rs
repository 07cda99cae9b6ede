//! Map-reduce: `split` fans out one `summarize` task per chunk with `SendTo`; the tasks run
//! concurrently in one superstep and `combine` runs once, after all of them.
//!
//! Run it with `cargo run -p map-reduce`.

use std::time::Duration;

use langgraph::prelude::*;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Doc {
    text: String,
    chunks: Vec<String>,
    /// Appended by the workers, in the order the chunks were sent.
    #[reducer(append)]
    summaries: Vec<String>,
    summary: String,
}

/// The private input of one `summarize` task.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Chunk {
    id: usize,
    text: String,
}

async fn split(d: &Doc) -> DocUpdate {
    let chunks = d.text.split(". ").map(str::to_string).collect();
    DocUpdate::new().chunks(chunks)
}

fn fan_out(d: &Doc) -> Route {
    Route::send_all(d.chunks.iter().enumerate().map(|(id, t)| {
        SendTo::new(
            "summarize",
            Chunk {
                id,
                text: t.clone(),
            },
        )
    }))
}

async fn summarize(c: Chunk) -> DocUpdate {
    // Later chunks finish first: the merged order is still the send order.
    tokio::time::sleep(Duration::from_millis(50 - 10 * c.id as u64 % 50)).await;
    let words: Vec<&str> = c.text.split_whitespace().take(3).collect();
    DocUpdate::new().summaries(vec![format!("[{}] {}", c.id, words.join(" "))])
}

async fn combine(d: &Doc) -> DocUpdate {
    DocUpdate::new().summary(d.summaries.join(" / "))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let graph = StateGraph::<Doc>::new()
        .node("split", split)
        .node_with_input("summarize", summarize)
        .node("combine", combine)
        .edge(START, "split")
        .route("split", fan_out, ["summarize"])
        .edge("summarize", "combine")
        .edge("combine", END)
        .compile()?;
    let text = "Graphs run in supersteps. Tasks of a superstep run concurrently. \
                Writes are applied at the barrier. Checkpoints make runs resumable";
    let out = graph
        .invoke(DocUpdate::new().text(text), &RunConfig::new())
        .await?;
    println!("{}", out.summary);
    assert_eq!(out.summaries.len(), 4);
    assert!(out.summaries[0].starts_with("[0]") && out.summaries[3].starts_with("[3]"));
    Ok(())
}
