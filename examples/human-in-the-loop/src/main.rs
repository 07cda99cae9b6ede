//! Human in the loop: `review` asks a person to approve a draft with `ctx.interrupt`, the
//! runs pause (their state is in `hitl.db`), the "process" restarts (the database is reopened
//! by a new graph), the reviewer's inbox lists the threads waiting for an answer, a run
//! resumes with a typed, schema-checked answer, and a withdrawn article's question is dropped
//! (`clear_tasks`).
//!
//! `cargo run -p human-in-the-loop` answers from standard input (`y`/`n` and a comment), or
//! approves when there is no input. `cargo run -p human-in-the-loop -- n "too short"` answers
//! from the command line.

use std::io::IsTerminal;

use langgraph::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Article {
    draft: String,
    #[reducer(append)]
    log: Vec<String>,
    published: bool,
}

/// The answer a reviewer gives; its JSON schema is recorded with the question and checked
/// when the run is resumed.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Approval {
    approve: bool,
    comment: Option<String>,
}

async fn draft(a: &Article) -> ArticleUpdate {
    ArticleUpdate::new()
        .draft(format!("{} -- with a conclusion", a.draft))
        .log(vec!["drafted".into()])
}

async fn review(a: &Article, ctx: &Ctx) -> Result<ArticleUpdate, NodeError> {
    // Everything before the interrupt runs again on resume: keep it side-effect free.
    let answer: Approval = ctx
        .interrupt(json!({"question": "publish this draft?", "draft": a.draft}))
        .await?;
    let note = format!(
        "review: {} ({})",
        if answer.approve {
            "approved"
        } else {
            "rejected"
        },
        answer.comment.as_deref().unwrap_or("no comment")
    );
    Ok(ArticleUpdate::new()
        .published(answer.approve)
        .log(vec![note]))
}

fn graph(saver: SqliteSaver) -> Result<CompiledGraph<Article>, GraphError> {
    StateGraph::<Article>::new()
        .node("draft", draft)
        .node("review", review)
        .edge(START, "draft")
        .edge("draft", "review")
        .edge("review", END)
        .compile_with(saver)
}

async fn answer() -> Approval {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        return Approval {
            approve: a.starts_with('y'),
            comment: args.get(1).cloned(),
        };
    }
    if std::io::stdin().is_terminal() {
        println!("approve? [y/n] then a comment on the next line");
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    match lines.next_line().await {
        Ok(Some(yn)) => Approval {
            approve: yn.trim().starts_with('y'),
            comment: lines.next_line().await.ok().flatten(),
        },
        _ => Approval {
            approve: true,
            comment: Some("no input: approved by default".into()),
        },
    }
}

/// The reviewer's inbox: the threads waiting for an answer, with their questions.
async fn inbox(g: &CompiledGraph<Article>) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let saver = g.checkpointer().ok_or("the graph has no checkpointer")?;
    let waiting = ThreadQuery::new()
        .prefix("article-")
        .status(ThreadStatus::Interrupted);
    let mut ids = Vec::new();
    for t in saver.threads(&waiting).await? {
        let state = g
            .get_state(&RunConfig::thread(t.thread_id.as_str()))
            .await?;
        println!("  {} asks: {}", t.thread_id, state.interrupts[0].value);
        ids.push(t.thread_id);
    }
    Ok(ids)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = RunConfig::thread("article-7");
    {
        let saver = SqliteSaver::open("hitl.db").await?;
        for t in ["article-7", "article-8"] {
            saver.delete_thread(t).await?;
        }
        let g = graph(saver)?;
        let out = g
            .invoke(ArticleUpdate::new().draft("Rust agents"), &cfg)
            .await?;
        let question = &out.interrupts[0];
        println!("paused at `{}`, asking: {}", question.node, question.value);
        let other = RunConfig::thread("article-8");
        g.invoke(ArticleUpdate::new().draft("Typed state"), &other)
            .await?;
    } // the first "process" is gone; only hitl.db remains

    let g = graph(SqliteSaver::open("hitl.db").await?)?;
    println!("after restart, the inbox:");
    assert_eq!(inbox(&g).await?, ["article-7", "article-8"]);
    let pending = g.get_state(&cfg).await?;
    println!("article-7 waits on {:?}", pending.next);
    let out = g.resume(&cfg, answer().await).await?;
    println!("published: {}; log: {:?}", out.published, out.log);
    assert!(!out.is_interrupted());
    println!("the inbox now:");
    assert_eq!(inbox(&g).await?, ["article-8"]);
    // article-8 is withdrawn: its question is dropped and its thread ends where it stood.
    let withdrawn = RunConfig::thread("article-8");
    g.clear_tasks(&withdrawn).await?;
    let state = g.get_state(&withdrawn).await?;
    println!(
        "article-8 withdrawn (next: {:?}, published: {}); the inbox now:",
        state.next, state.values.published
    );
    assert!(inbox(&g).await?.is_empty());
    Ok(())
}
