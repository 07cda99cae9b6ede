//! Sending stream events from a run.

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::context::CustomSink;
use crate::state::State;
use crate::stream::{StreamEvent, StreamMode, StreamModes};

/// The sending side of a run's stream. Events produced synchronously (at the barrier) are
/// buffered and sent when the loop next awaits.
pub(crate) struct EventTx<S: State> {
    tx: mpsc::Sender<StreamEvent<S>>,
    modes: StreamModes,
    buf: Vec<StreamEvent<S>>,
}

impl<S: State> EventTx<S> {
    pub(crate) fn new(tx: mpsc::Sender<StreamEvent<S>>, modes: StreamModes) -> Self {
        Self {
            tx,
            modes,
            buf: Vec::new(),
        }
    }

    pub(crate) fn wants(&self, mode: StreamMode) -> bool {
        self.modes.contains(mode)
    }

    /// Sends one event, waiting while the consumer is behind. A dropped consumer is ignored
    /// (the run itself is dropped with the stream).
    pub(crate) async fn send(&self, ev: StreamEvent<S>) {
        let _ = self.tx.send(ev).await;
    }

    pub(crate) fn push_now(&mut self, ev: StreamEvent<S>) {
        self.buf.push(ev);
    }

    pub(crate) async fn flush(&mut self) {
        for ev in std::mem::take(&mut self.buf) {
            let _ = self.tx.send(ev).await;
        }
    }

    /// The sink nodes use for custom events (only when the mode is requested).
    pub(crate) fn custom_sink(&self) -> Option<Box<dyn CustomSink>> {
        self.wants(StreamMode::Custom)
            .then(|| Box::new(CustomTx(self.tx.clone())) as Box<dyn CustomSink>)
    }
}

struct CustomTx<S: State>(mpsc::Sender<StreamEvent<S>>);

impl<S: State> CustomSink for CustomTx<S> {
    fn custom<'a>(&'a self, ns: &'a str, node: &'a str, payload: Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = self
                .0
                .send(StreamEvent::Custom {
                    ns: ns.to_string(),
                    node: node.to_string(),
                    payload,
                })
                .await;
        })
    }
}
