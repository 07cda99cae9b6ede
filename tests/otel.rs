//! OpenTelemetry export: a run's spans reach an in-memory exporter with their nesting and
//! attributes.

#![cfg(feature = "opentelemetry")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use langgraph::otel;
use langgraph::prelude::*;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
struct S {
    n: i64,
}

#[test]
fn runs_supersteps_and_tasks_are_exported_as_nested_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with(otel::layer(&provider));
    let g = StateGraph::<S>::new()
        .node("a", |s: &S| SUpdate::new().n(s.n + 1))
        .node("b", |s: &S| SUpdate::new().n(s.n + 1))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .name("pipeline")
        .compile()
        .unwrap();
    // (The simple span processor exports with a futures executor: run the graph on tokio.)
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let cfg = RunConfig::new().run_id("run-1");
        rt.block_on(g.invoke(S::default(), &cfg)).unwrap();
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let by_name = |n: &str| spans.iter().filter(|s| s.name == n).collect::<Vec<_>>();
    let run = by_name("langgraph.run");
    assert_eq!(run.len(), 1);
    let attr = |s: &opentelemetry_sdk::trace::SpanData, k: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr(run[0], "graph").as_deref(), Some("pipeline"));
    assert_eq!(attr(run[0], "run_id").as_deref(), Some("run-1"));
    let steps = by_name("langgraph.superstep");
    assert_eq!(steps.len(), 2);
    let run_id = run[0].span_context.span_id();
    assert!(steps.iter().all(|s| s.parent_span_id == run_id));
    let tasks = by_name("langgraph.task");
    let nodes: Vec<String> = tasks.iter().filter_map(|t| attr(t, "node")).collect();
    assert_eq!(nodes, ["a", "b"]);
    for (t, s) in tasks.iter().zip(&steps) {
        assert_eq!(
            t.parent_span_id,
            s.span_context.span_id(),
            "a task nests in its superstep"
        );
    }
}
