//! What listing threads costs (`Checkpointer::threads`): a store of N chat threads of three
//! turns each (nine checkpoints a thread; a tenth of the threads end on a question, with eight),
//! half of them written before a cutoff and half after, interleaved in id order.
//!
//! ```text
//! cargo run --release -p langgraph-bench --example threads -- \
//!     [--threads 1000,10000] [--reps 5] [--postgres URL]
//! ```
//!
//! Prints, per N, the median time (and range) of: the first page of 100 threads; a walk
//! through every thread in pages of 1,000; a walk through the idle half (`updated_before`
//! the cutoff) in pages of 1,000; one page under a prefix that matches 100 threads; and the
//! tenth of the threads whose run metadata names user `ann`, in pages of 1,000; the tenth
//! waiting for an answer (`ThreadStatus::Interrupted`), in pages of 1,000, and
//! the first page of 100 of them. On
//! PostgreSQL the head rows are analyzed first, as autovacuum does on a live database: with
//! the statistics of an empty table the planner sorts every head row instead of reading the
//! index in order (5.4 ms instead of about 0.5 for the first page of 10,000 threads).

use std::sync::Arc;
use std::time::Duration;

use langgraph::prelude::*;

#[path = "support/timing.rs"]
mod timing;
use langgraph::{PostgresOptions, PostgresSaver, SqliteOptions, Synchronous, ThreadInfo};
use timing::time;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct Chat {
    #[reducer(append)]
    lines: Vec<String>,
}

fn chat(saver: Arc<dyn Checkpointer>) -> Result<CompiledGraph<Chat>, Box<dyn std::error::Error>> {
    Ok(StateGraph::<Chat>::new()
        .node("reply", |s: &Chat, ctx: Ctx| {
            let (n, ask) = (s.lines.len(), s.lines.last().is_some_and(|l| l == "ask"));
            async move {
                if ask {
                    let _: String = ctx.interrupt("ok?").await?;
                }
                Ok::<_, NodeError>(ChatUpdate::new().lines(vec![format!("reply {n}")]))
            }
        })
        .edge(START, "reply")
        .edge("reply", END)
        .compile_with_shared(saver)?)
}

struct Args {
    threads: Vec<usize>,
    reps: usize,
    postgres: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        threads: vec![1000, 10000],
        reps: 5,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => {
                a.threads = value()?
                    .split(',')
                    .map(|n| n.parse().map_err(|e| format!("--threads: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--reps" => a.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--postgres" => a.postgres = Some(value()?),
            "--help" | "-h" => {
                return Err(
                    "usage: threads [--threads 1000,10000] [--reps 5] [--postgres URL]".into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Every thread `query` lists, `page` at a time.
async fn walk(
    saver: &dyn Checkpointer,
    query: &ThreadQuery,
    page: usize,
) -> Result<Vec<ThreadInfo>, Box<dyn std::error::Error>> {
    let mut all: Vec<ThreadInfo> = Vec::new();
    loop {
        let mut q = query.clone().limit(page);
        if let Some(last) = all.last() {
            q = q.after(last.thread_id.clone());
        }
        let found = saver.threads(&q).await?;
        let done = found.len() < page;
        all.extend(found);
        if done {
            return Ok(all);
        }
    }
}

async fn open(
    a: &Args,
    dir: &std::path::Path,
    n: usize,
) -> Result<Arc<dyn Checkpointer>, Box<dyn std::error::Error>> {
    Ok(match &a.postgres {
        Some(url) => {
            let opts = PostgresOptions::default().schema("lg_bench_threads");
            let saver = PostgresSaver::connect_with(url, opts).await?;
            saver.truncate().await?;
            Arc::new(saver)
        }
        None => {
            // The setup does not need an fsync per commit; the listing reads only.
            let opts = SqliteOptions::default().synchronous(Synchronous::Normal);
            Arc::new(SqliteSaver::open_with(dir.join(format!("threads-{n}.db")), opts).await?)
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("lg-bench-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kind = if a.postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    for &n in &a.threads {
        let saver = open(&a, &dir, n).await?;
        let g = chat(saver.clone())?;
        let name = |i: usize| format!("user-{i:06}/chat");
        let mut cutoff = std::time::SystemTime::now();
        for half in [0, 1] {
            for i in (half..n).step_by(2) {
                let user = if i % 10 == 3 { "ann" } else { "bob" };
                let cfg = RunConfig::thread(name(i))
                    .durability(Durability::Async)
                    .metadata("user", user);
                for turn in 0..3 {
                    // A tenth of the threads end on a question: they wait for an answer.
                    let line = if turn == 2 && i % 10 == 5 {
                        "ask".to_string()
                    } else {
                        format!("user line {turn}")
                    };
                    g.invoke(ChatUpdate::new().lines(vec![line]), &cfg).await?;
                }
            }
            if half == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                cutoff = std::time::SystemTime::now();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        if let Some(url) = &a.postgres {
            let pool = sqlx::PgPool::connect(url).await?;
            sqlx::query("ANALYZE lg_bench_threads.lg_heads")
                .execute(&pool)
                .await?;
            pool.close().await;
        }
        let s = &*saver;
        let first = time(a.reps, 100.min(n), || async {
            Ok(s.threads(&ThreadQuery::new().limit(100)).await?.len())
        })
        .await?;
        let all = time(a.reps, n, || async {
            Ok(walk(s, &ThreadQuery::new(), 1000).await?.len())
        })
        .await?;
        let idle = ThreadQuery::new().updated_before(cutoff);
        let idle = time(a.reps, n.div_ceil(2), || async {
            Ok(walk(s, &idle, 1000).await?.len())
        })
        .await?;
        // `user-0001` matches threads 100 to 199.
        let prefix = ThreadQuery::new().prefix("user-0001").limit(100);
        let expected = n.clamp(100, 200) - 100;
        let tenant = time(a.reps, expected, || async {
            Ok(s.threads(&prefix).await?.len())
        })
        .await?;
        let anns = ThreadQuery::new().metadata("user", "ann");
        let expected = (0..n).filter(|i| i % 10 == 3).count();
        let user = time(a.reps, expected, || async {
            Ok(walk(s, &anns, 1000).await?.len())
        })
        .await?;
        let waiting = ThreadQuery::new().status(ThreadStatus::Interrupted);
        let expected = (5..n).step_by(10).count();
        let inbox = time(a.reps, expected, || async {
            Ok(walk(s, &waiting, 1000).await?.len())
        })
        .await?;
        let first_inbox = time(a.reps, expected.min(100), || async {
            Ok(s.threads(&waiting.clone().limit(100)).await?.len())
        })
        .await?;
        println!(
            "{kind} {n} threads ({} checkpoints): first page of 100 {first}; all in pages of \
             1,000 {all}; the idle half {idle}; a prefix page of 100 {tenant}; one user's \
             tenth by metadata {user}; the tenth waiting for an answer {inbox} (first page of \
             100 {first_inbox})",
            9 * n - (5..n).step_by(10).count()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
