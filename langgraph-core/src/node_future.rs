//! The future of one node call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;

use crate::node::NodeResult;
use crate::state::State;

/// What calling a node gives: the result itself for a synchronous node, a boxed future for an
/// async one. A synchronous node is called on every superstep of most graphs, and keeping its
/// result inline saves an allocation per task.
///
/// ```
/// use langgraph_core::node::NodeFuture;
/// use langgraph_core::{NodeError, NodeOutput};
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
/// # futures::executor::block_on(async {
/// let now: NodeFuture<'_, Review> = NodeFuture::ready(Err(NodeError::msg("no draft")));
/// let later: NodeFuture<'_, Review> =
///     NodeFuture::boxed(async { Ok(NodeOutput::Update(ReviewUpdate::new().rounds(2))) });
/// assert!(now.is_ready() && !later.is_ready());
/// assert!(matches!(now.await, Err(e) if e.to_string() == "no draft"));
/// assert!(matches!(later.await, Ok(NodeOutput::Update(_))));
/// # });
/// ```
pub struct NodeFuture<'a, S: State>(Inner<'a, S>);

enum Inner<'a, S: State> {
    /// The result, until it is taken by the first poll.
    Ready(Option<NodeResult<S>>),
    Boxed(BoxFuture<'a, NodeResult<S>>),
}

impl<'a, S: State> NodeFuture<'a, S> {
    /// A result known at once.
    pub fn ready(result: NodeResult<S>) -> Self {
        Self(Inner::Ready(Some(result)))
    }

    /// A result still to be computed.
    pub fn boxed(fut: impl Future<Output = NodeResult<S>> + Send + 'a) -> Self {
        Self(Inner::Boxed(Box::pin(fut)))
    }

    /// Whether the result is known without polling.
    pub fn is_ready(&self) -> bool {
        matches!(self.0, Inner::Ready(_))
    }
}

// The ready result is moved out, never pinned in place; the boxed future is pinned by its box.
impl<S: State> Unpin for NodeFuture<'_, S> {}

impl<S: State> Future for NodeFuture<'_, S> {
    type Output = NodeResult<S>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<NodeResult<S>> {
        match &mut self.get_mut().0 {
            Inner::Boxed(f) => f.as_mut().poll(cx),
            // Polled again after completing: a contract violation; never complete twice.
            Inner::Ready(result) => result.take().map_or(Poll::Pending, Poll::Ready),
        }
    }
}

impl<S: State> std::fmt::Debug for NodeFuture<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeFuture")
            .field("ready", &self.is_ready())
            .finish()
    }
}
