//! Sending stream events from a run: to the run's own typed stream, or, for a subgraph run,
//! forwarded as JSON to the parent's stream.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::state::State;
use crate::stream::{StreamEvent, StreamMode, StreamModes};

/// Where events that are JSON anyway (custom payloads, LLM chunks, subgraph events) go. A
/// run's stream implements it; subgraph runs and nodes share it.
pub(crate) trait EventSink: Send + Sync {
    /// A payload from [`Ctx::emit`](crate::Ctx::emit).
    fn custom<'a>(&'a self, ns: &'a str, node: &'a str, payload: Value) -> BoxFuture<'a, ()>;
    /// An LLM chunk from [`Ctx::emit_message`](crate::Ctx::emit_message).
    fn message<'a>(&'a self, ns: &'a str, node: &'a str, chunk: Value) -> BoxFuture<'a, ()>;
    /// A typed event of a subgraph run, as JSON.
    fn nested<'a>(&'a self, ns: &'a str, mode: StreamMode, payload: Value) -> BoxFuture<'a, ()>;
}

enum Target<S: State> {
    /// The run's own stream.
    Typed(mpsc::Sender<StreamEvent<S>>),
    /// A subgraph run: events go to the parent's stream as JSON.
    Forward(Arc<dyn EventSink>),
}

/// The sending side of a run's stream. Events produced synchronously (at the barrier) are
/// buffered and sent when the loop next awaits.
pub(crate) struct EventTx<S: State> {
    target: Target<S>,
    modes: StreamModes,
    /// Namespace of the run (the root graph's is `""`).
    ns: String,
    buf: Vec<StreamEvent<S>>,
}

impl<S: State> EventTx<S> {
    pub(crate) fn new(tx: mpsc::Sender<StreamEvent<S>>, modes: StreamModes) -> Self {
        Self {
            target: Target::Typed(tx),
            modes,
            ns: String::new(),
            buf: Vec::new(),
        }
    }

    /// Events of a subgraph run in namespace `ns`, forwarded to the parent's `sink`.
    pub(crate) fn forward(sink: Arc<dyn EventSink>, modes: StreamModes, ns: String) -> Self {
        Self {
            target: Target::Forward(sink),
            modes,
            ns,
            buf: Vec::new(),
        }
    }

    pub(crate) fn wants(&self, mode: StreamMode) -> bool {
        self.modes.contains(mode)
    }

    pub(crate) fn modes(&self) -> StreamModes {
        self.modes
    }

    /// Sends one event, waiting while the consumer is behind. A dropped consumer is ignored
    /// (the run itself is dropped with the stream).
    pub(crate) async fn send(&self, ev: StreamEvent<S>) {
        match &self.target {
            Target::Typed(tx) => {
                let _ = tx.send(ev).await;
            }
            Target::Forward(sink) => match ev {
                // Already JSON and already namespaced: pass through.
                StreamEvent::Custom { ns, node, payload } => sink.custom(&ns, &node, payload).await,
                StreamEvent::Message { ns, node, chunk } => sink.message(&ns, &node, chunk).await,
                StreamEvent::Subgraph { ns, mode, payload } => {
                    sink.nested(&ns, mode, payload).await
                }
                other => sink.nested(&self.ns, other.mode(), other.to_json()).await,
            },
        }
    }

    pub(crate) fn push_now(&mut self, ev: StreamEvent<S>) {
        self.buf.push(ev);
    }

    pub(crate) async fn flush(&mut self) {
        for ev in std::mem::take(&mut self.buf) {
            self.send(ev).await;
        }
    }

    /// The sink nodes and subgraph runs use (when the stream asks for custom events, LLM
    /// chunks or subgraph events).
    pub(crate) fn sink(&self) -> Option<Arc<dyn EventSink>> {
        let wanted = self.wants(StreamMode::Custom)
            || self.wants(StreamMode::Messages)
            || self.modes.subgraphs();
        if !wanted {
            return None;
        }
        match &self.target {
            Target::Forward(sink) => Some(sink.clone()),
            Target::Typed(tx) => Some(Arc::new(TypedSink {
                tx: tx.clone(),
                modes: self.modes,
            })),
        }
    }
}

/// The sink of a root run: wraps JSON events into the typed stream.
struct TypedSink<S: State> {
    tx: mpsc::Sender<StreamEvent<S>>,
    modes: StreamModes,
}

impl<S: State> TypedSink<S> {
    /// Events of subgraphs (a namespace other than the root's) need `with_subgraphs`.
    fn passes(&self, ns: &str, mode: StreamMode) -> bool {
        self.modes.contains(mode) && (ns.is_empty() || self.modes.subgraphs())
    }
}

impl<S: State> EventSink for TypedSink<S> {
    fn custom<'a>(&'a self, ns: &'a str, node: &'a str, payload: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.passes(ns, StreamMode::Custom) {
                let ev = StreamEvent::Custom {
                    ns: ns.to_string(),
                    node: node.to_string(),
                    payload,
                };
                let _ = self.tx.send(ev).await;
            }
        })
    }

    fn message<'a>(&'a self, ns: &'a str, node: &'a str, chunk: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.passes(ns, StreamMode::Messages) {
                let ev = StreamEvent::Message {
                    ns: ns.to_string(),
                    node: node.to_string(),
                    chunk,
                };
                let _ = self.tx.send(ev).await;
            }
        })
    }

    fn nested<'a>(&'a self, ns: &'a str, mode: StreamMode, payload: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.passes(ns, mode) {
                let ev = StreamEvent::Subgraph {
                    ns: ns.to_string(),
                    mode,
                    payload,
                };
                let _ = self.tx.send(ev).await;
            }
        })
    }
}
