//! `SendTo`: a task for one node with its own input (map-reduce fan-out).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// A payload carried by a [`SendTo`]. Implemented for every `Serialize + Send + Sync` type.
pub trait SendArg: Any + Send + Sync {
    /// The payload as JSON (for checkpoints and streams).
    fn to_json(&self) -> Result<Value, serde_json::Error>;
    /// The payload as `Any`, for downcasting to the node's input type.
    fn as_any(&self) -> &dyn Any;
    /// The payload's type name, for error messages.
    fn type_name(&self) -> &'static str;
}

impl<T: Serialize + Any + Send + Sync> SendArg for T {
    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// Runs `node` in the next superstep with `arg` as its input instead of the graph state (the
/// `Send` of LangGraph; named so that it does not shadow `std::marker::Send`).
///
/// The target is usually a node added with
/// [`StateGraph::node_with_input`](crate::StateGraph::node_with_input), whose input type must
/// be the payload's type. Several sends to the same node create that many tasks, all in one
/// superstep; their writes are applied in emission order.
///
/// ```
/// use langgraph_core::SendTo;
/// let s = SendTo::new("worker", 3u32);
/// assert_eq!(s.node(), "worker");
/// assert_eq!(s.arg::<u32>(), Some(&3));
/// assert_eq!(s.arg_json().unwrap(), serde_json::json!(3));
/// ```
#[derive(Clone)]
pub struct SendTo {
    pub(crate) node: Cow<'static, str>,
    pub(crate) arg: Arc<dyn SendArg>,
}

impl SendTo {
    /// A task for `node` with input `arg`.
    pub fn new<T: SendArg>(node: impl Into<Cow<'static, str>>, arg: T) -> Self {
        Self {
            node: node.into(),
            arg: Arc::new(arg),
        }
    }

    /// A task for `node` whose input is a whole state value (the node reads it instead of the
    /// graph state).
    pub fn state<S: crate::State>(node: impl Into<Cow<'static, str>>, state: S) -> Self {
        Self::from_arc(node, Arc::new(crate::node::StateArg(state)))
    }

    pub(crate) fn from_arc(node: impl Into<Cow<'static, str>>, arg: Arc<dyn SendArg>) -> Self {
        Self {
            node: node.into(),
            arg,
        }
    }

    /// The target node.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The payload, if it has type `T`.
    pub fn arg<T: 'static>(&self) -> Option<&T> {
        self.arg.as_any().downcast_ref::<T>()
    }

    /// The payload as JSON.
    pub fn arg_json(&self) -> Result<Value, serde_json::Error> {
        self.arg.to_json()
    }
}

impl fmt::Debug for SendTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendTo")
            .field("node", &self.node)
            .field("arg", &self.arg.to_json().unwrap_or(Value::Null))
            .finish()
    }
}
