//! Quickstart: a draft is revised and critiqued until three rounds are done; every superstep
//! is checkpointed to a SQLite file (`quickstart.db`, created if missing), and the thread's
//! history is read back from it at the end.
//!
//! Run it with `cargo run -p quickstart`. Run it again: it first shows what the previous run
//! left in the file.

use langgraph::prelude::*;

/// A document under review.
#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Review {
    /// The current draft.
    draft: String,
    /// Reviewer notes, appended by every critique.
    #[reducer(append)]
    notes: Vec<String>,
    /// Revision rounds so far.
    rounds: u32,
}

async fn write(s: &Review) -> ReviewUpdate {
    ReviewUpdate::new()
        .draft(format!("{} (revised)", s.draft))
        .rounds(s.rounds + 1)
}

async fn critique(s: &Review) -> ReviewUpdate {
    ReviewUpdate::new().notes(vec![format!("round {} looks fine", s.rounds)])
}

fn done(s: &Review) -> Route {
    if s.rounds >= 3 {
        Route::end()
    } else {
        Route::to("write")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let saver = SqliteSaver::open("quickstart.db").await?;
    let graph = StateGraph::<Review>::new()
        .node("write", write)
        .node("critique", critique)
        .edge(START, "write")
        .edge("write", "critique")
        .route("critique", done, ["write", END])
        .compile_with(saver.clone())?; // every problem is reported at once

    let cfg = RunConfig::thread("doc-42");
    let previous = graph.get_state(&cfg).await?;
    if previous.checkpoint_id.is_some() {
        println!(
            "quickstart.db already holds thread doc-42 (step {:?}): {:?}; starting it over",
            previous.step(),
            previous.values.draft
        );
        saver.delete_thread("doc-42").await?;
    }
    let out = graph
        .invoke(
            Review {
                draft: "v0".into(),
                ..Default::default()
            },
            &cfg,
        )
        .await?;
    println!("{} after {} rounds", out.draft, out.rounds);
    println!("notes: {:?}", out.notes);

    for snap in graph.state_history(&cfg, &ListOptions::default()).await? {
        let meta = snap.metadata.as_ref().map(|m| (m.step, m.source.as_str()));
        println!("checkpoint {meta:?} next={:?}", snap.next);
    }
    // A finished thread needs only its latest checkpoint: prune the rest of its history.
    saver.prune(&["doc-42"], Prune::KeepLatest).await?;
    let kept = graph.state_history(&cfg, &ListOptions::default()).await?;
    println!(
        "after pruning: {} checkpoint(s), draft {:?}",
        kept.len(),
        kept[0].values.draft
    );
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].values.draft, out.draft);

    println!("\n{}", graph.draw_mermaid());
    assert_eq!(out.rounds, 3);
    Ok(())
}
