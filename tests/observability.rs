//! Observability and fault tolerance beyond the scenarios: the run report, tracing spans, the
//! node cache, error handlers, the side-effect journal across an interrupt, commands from a
//! subgraph to its parent, subgraph streaming, LLM chunks, and drawings with subgraphs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use langgraph::prelude::*;
use langgraph::{CachePolicy, NodeError, RetryPolicy, StreamModes, Usage};
use serde_json::json;

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct S {
    n: i64,
    #[reducer(append)]
    path: Vec<String>,
    error: String,
}

fn counter() -> (Arc<AtomicU32>, Arc<AtomicU32>) {
    let c = Arc::new(AtomicU32::new(0));
    (c.clone(), c)
}

#[tokio::test]
async fn the_report_counts_tasks_retries_errors_and_usage_per_node() {
    let (calls, c) = counter();
    let g = StateGraph::<S>::new()
        .node("flaky", move |s: &S, ctx: &Ctx| {
            ctx.record_usage(Usage {
                input_tokens: 10,
                output_tokens: 2,
                cost: 0.01,
                calls: 1,
            });
            if c.fetch_add(1, Ordering::SeqCst) < 1 {
                return Err(NodeError::msg("once"));
            }
            Ok(SUpdate::new().n(s.n + 1))
        })
        .node("broken", |_: &S| {
            Err::<SUpdate, _>(NodeError::msg("always"))
        })
        .node("recover", |e: &S| {
            SUpdate::new().path(vec![format!("recovered: {}", e.error)])
        })
        .retry_default(RetryPolicy::new(2).initial_interval(Duration::ZERO))
        .on_error("broken", "recover", |e: &NodeError| {
            SUpdate::new().error(e.to_string())
        })
        .edge(START, "flaky")
        .edge("flaky", "broken")
        .edge("broken", END)
        .edge("recover", END)
        .compile()
        .unwrap();
    let out = g.invoke(S::default(), &RunConfig::new()).await.unwrap();
    assert_eq!(out.path, ["recovered: always"]);
    let r = &out.report;
    assert_eq!(r.steps, 3);
    assert_eq!((r["flaky"].tasks, r["flaky"].retries), (1, 1));
    assert_eq!(
        r["flaky"].usage.total_tokens(),
        24,
        "two attempts recorded usage"
    );
    assert_eq!((r["broken"].errors, r["broken"].retries), (1, 1));
    assert_eq!(r["recover"].tasks, 1);
    assert_eq!(r.usage().calls, 2);
    assert!(r.elapsed >= r["flaky"].max_time);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cached_nodes_run_once_per_input_until_the_entry_expires() {
    let (calls, c) = counter();
    let g = StateGraph::<S>::new()
        .node("slow", move |s: &S| {
            c.fetch_add(1, Ordering::SeqCst);
            SUpdate::new().path(vec![format!("n={}", s.n)])
        })
        .cache("slow", CachePolicy::new().ttl(Duration::from_millis(300)))
        .edge(START, "slow")
        .edge("slow", END)
        .compile()
        .unwrap();
    let cfg = RunConfig::new();
    let a = g.invoke(SUpdate::new().n(1), &cfg).await.unwrap();
    let b = g.invoke(SUpdate::new().n(1), &cfg).await.unwrap();
    assert_eq!(a.path, b.path);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second run took the cached output"
    );
    assert_eq!(b.report["slow"].cache_hits, 1);
    g.invoke(SUpdate::new().n(2), &cfg).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "another input runs");
    tokio::time::sleep(Duration::from_millis(350)).await;
    g.invoke(SUpdate::new().n(1), &cfg).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "an expired entry runs again"
    );
}

#[tokio::test]
async fn a_timed_out_node_goes_to_its_fallback() {
    let g = StateGraph::<S>::new()
        .node("slow", |_: &S| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            SUpdate::new().path(vec!["slow".into()])
        })
        .node("fallback", |s: &S| {
            SUpdate::new().path(vec![format!("fallback after: {}", s.error)])
        })
        .node("next", |_: &S| SUpdate::new().path(vec!["next".into()]))
        .timeout("slow", Duration::from_millis(20))
        .on_error("slow", "fallback", |e: &NodeError| {
            SUpdate::new().error(e.to_string())
        })
        .edge(START, "slow")
        .edge("slow", "next")
        .edge("next", END)
        .edge("fallback", END)
        .compile()
        .unwrap();
    let out = g.invoke(S::default(), &RunConfig::new()).await.unwrap();
    assert_eq!(
        out.path,
        ["fallback after: timed out after 20ms"],
        "`next` does not run"
    );
    assert!(
        g.draw_ascii().contains("slow -> next, fallback (on error)"),
        "{}",
        g.draw_ascii()
    );
    assert!(g.draw_mermaid().contains("slow -. on error .-> fallback"));
    let unknown = StateGraph::<S>::new()
        .node("a", |_: &S| SUpdate::new())
        .on_error("a", "nowhere", |_: &NodeError| SUpdate::new())
        .edge(START, "a")
        .edge("a", END)
        .compile()
        .unwrap_err();
    assert!(unknown.to_string().contains("nowhere"), "{unknown}");
}

#[tokio::test]
async fn journaled_side_effects_are_not_repeated_when_a_node_resumes() {
    let (charges, c) = counter();
    let g = StateGraph::<S>::new()
        .node("pay", move |_: &S, ctx: Ctx| {
            let c = c.clone();
            async move {
                let receipt: u32 = ctx
                    .once("charge", async {
                        Ok::<_, NodeError>(c.fetch_add(1, Ordering::SeqCst) + 100)
                    })
                    .await?;
                let ok: bool = ctx.interrupt(json!({"confirm": receipt})).await?;
                Ok::<_, NodeError>(SUpdate::new().path(vec![format!("receipt {receipt} {ok}")]))
            }
        })
        .edge(START, "pay")
        .edge("pay", END)
        .compile_with(SqliteSaver::in_memory().await.unwrap())
        .unwrap();
    let cfg = RunConfig::thread("pay");
    let first = g.invoke(S::default(), &cfg).await.unwrap();
    assert_eq!(first.interrupts[0].value, json!({"confirm": 100}));
    let out = g.resume(&cfg, true).await.unwrap();
    assert_eq!(out.path, ["receipt 100 true"]);
    assert_eq!(
        charges.load(Ordering::SeqCst),
        1,
        "the node ran twice, the charge once"
    );
}

#[tokio::test]
async fn a_subgraph_node_can_send_a_command_to_its_parent() {
    let child = StateGraph::<S>::new()
        .node("check", |s: &S| {
            if s.n > 10 {
                Command::goto("escalate")
                    .update(SUpdate::new().error("too big"))
                    .to_parent()
            } else {
                Command::new().update(SUpdate::new().path(vec!["checked".into()]))
            }
        })
        .edge(START, "check")
        .edge("check", END)
        .compile()
        .unwrap();
    let g = StateGraph::<S>::new()
        .subgraph("child", child)
        .node("escalate", |s: &S| {
            SUpdate::new().path(vec![format!("escalated: {}", s.error)])
        })
        .goto_targets("child", ["escalate"])
        .edge(START, "child")
        .edge("child", END)
        .edge("escalate", END)
        .compile()
        .unwrap();
    let small = g
        .invoke(SUpdate::new().n(1), &RunConfig::new())
        .await
        .unwrap();
    assert_eq!(small.path, ["checked"]);
    let big = g
        .invoke(SUpdate::new().n(11), &RunConfig::new())
        .await
        .unwrap();
    assert_eq!(big.path, ["escalated: too big"]);
    let root = StateGraph::<S>::new()
        .node("a", |_: &S| Command::<S>::goto(END).to_parent())
        .edge(START, "a")
        .edge("a", END)
        .compile()
        .unwrap()
        .invoke(S::default(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(
        root.to_string().contains("not called as a subgraph"),
        "{root}"
    );
}

#[tokio::test]
async fn subgraph_events_carry_their_namespace() {
    let child = StateGraph::<S>::new()
        .node("inner", |s: &S| SUpdate::new().n(s.n + 1))
        .edge(START, "inner")
        .edge("inner", END)
        .compile()
        .unwrap();
    let g = StateGraph::<S>::new()
        .subgraph("child", child)
        .edge(START, "child")
        .edge("child", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let modes = StreamModes::from(StreamMode::Updates).with_subgraphs();
    let mut s = g.stream(S::default(), &RunConfig::thread("t"), modes);
    let mut seen = Vec::new();
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::Subgraph { ns, mode, payload } => {
                assert!(ns.starts_with("child:"), "{ns}");
                seen.push(json!({"sub": mode.as_str(), "payload": payload}));
            }
            StreamEvent::Updates { node, update } => {
                seen.push(json!({"root": node, "payload": serde_json::to_value(update).unwrap()}))
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            json!({"sub": "updates", "payload": {"inner": {"n": 1}}}),
            json!({"root": "child", "payload": {"n": 1}}),
        ]
    );
    assert!(
        g.draw_mermaid().contains("subgraph child[\"child: S\"]"),
        "{}",
        g.draw_mermaid()
    );
    assert!(
        g.draw_ascii()
            .contains("[child: subgraph S]\n  inner -> __end__\n  __start__ -> inner"),
        "{}",
        g.draw_ascii()
    );
}

#[tokio::test]
async fn llm_chunks_and_the_report_reach_the_stream() {
    let g = StateGraph::<S>::new()
        .node("talk", |_: &S, ctx: Ctx| async move {
            assert!(ctx.streams_messages());
            for t in ["Hel", "lo"] {
                ctx.emit_message(json!({"content": t})).await?;
            }
            Ok::<_, NodeError>(SUpdate::new().path(vec!["Hello".into()]))
        })
        .edge(START, "talk")
        .edge("talk", END)
        .compile()
        .unwrap();
    let mut s = g.stream(
        S::default(),
        &RunConfig::new(),
        StreamMode::Messages | StreamMode::Debug,
    );
    let (mut chunks, mut report) = (Vec::new(), None);
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::Message { node, chunk, .. } => {
                chunks.push(format!("{node}:{}", chunk["content"]))
            }
            StreamEvent::Report(r) => report = Some(r),
            _ => {}
        }
    }
    assert_eq!(chunks, ["talk:\"Hel\"", "talk:\"lo\""]);
    assert_eq!(report.unwrap()["talk"].tasks, 1);
}

/// Span names and their `node` fields, as a subscriber sees them.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

impl<Sub: tracing::Subscriber> tracing_subscriber::Layer<Sub> for Spans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, Sub>,
    ) {
        struct Node(Option<String>);
        impl tracing::field::Visit for Node {
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                if f.name() == "node" {
                    self.0 = Some(v.to_string());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut n = Node(None);
        attrs.record(&mut n);
        let name = attrs.metadata().name();
        let entry = match n.0 {
            Some(node) => format!("{name}:{node}"),
            None => name.to_string(),
        };
        self.0.lock().unwrap().push(entry);
    }
}

#[test]
fn runs_supersteps_and_tasks_are_traced_as_nested_spans() {
    use tracing_subscriber::layer::SubscriberExt;
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry()
        .with(spans.clone())
        .with(tracing_subscriber::filter::LevelFilter::DEBUG);
    let g = StateGraph::<S>::new()
        .node("a", |s: &S| SUpdate::new().n(s.n + 1))
        .node("b", |s: &S| SUpdate::new().n(s.n + 1))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .compile()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        futures::executor::block_on(g.invoke(S::default(), &RunConfig::new())).unwrap();
    });
    let got = spans.0.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            "langgraph.run",
            "langgraph.superstep",
            "langgraph.task:a",
            "langgraph.superstep",
            "langgraph.task:b",
        ]
    );
}
