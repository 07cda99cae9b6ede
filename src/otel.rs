//! OpenTelemetry export (feature `opentelemetry`): the engine's `tracing` spans (`langgraph.run`
//! → `langgraph.superstep` → `langgraph.task`, and `llm.call` with model, tokens and cost)
//! become OpenTelemetry spans through a `tracing-opentelemetry` layer.
//!
//! ```
//! use langgraph::otel;
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let exporter = InMemorySpanExporter::default();
//! let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
//! let subscriber = tracing_subscriber::registry().with(otel::layer(&provider));
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info_span!("langgraph.run").in_scope(|| {});
//! });
//! provider.force_flush().unwrap();
//! assert_eq!(exporter.get_finished_spans().unwrap()[0].name, "langgraph.run");
//! ```

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetryLayer;

/// A layer that exports spans through `provider` (give it your exporter: OTLP, stdout, ...),
/// under the instrumentation scope `langgraph`. Spans at debug level (supersteps and tasks)
/// are exported when the subscriber lets them through.
pub fn layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, Tracer>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("langgraph"))
}
