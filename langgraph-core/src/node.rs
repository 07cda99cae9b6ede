//! Turning plain functions into nodes (the axum-handler trick).
//!
//! A node is any of these, without boxing or trait impls by hand:
//!
//! | signature | registered with |
//! |---|---|
//! | `async fn(&S) -> O`, `async fn(&S, &Ctx) -> O` | [`StateGraph::node`](crate::StateGraph::node) |
//! | `fn(&S) -> O`, `fn(&S, &Ctx) -> O` (and closures) | [`StateGraph::node`](crate::StateGraph::node) |
//! | closures `\|s: &S, ctx: Ctx\| async move {..}` (owning a cheap clone of the context) | [`StateGraph::node`](crate::StateGraph::node) |
//! | `async fn(I) -> O`, `async fn(I, &Ctx) -> O`, `fn(I) -> O` | [`StateGraph::node_with_input`](crate::StateGraph::node_with_input) (a `SendTo` target) or [`StateGraph::node_view`](crate::StateGraph::node_view) (a projection of the state) |
//!
//! where `O` is the state's update type, [`Command`], `()`, `Option<O>` or `Result<O, E>` for
//! any error `E` that converts into a boxed error (every `std::error::Error`, `String`,
//! `anyhow::Error`, [`NodeError`]).
//!
//! **The coherence trick.** Four blanket impls of [`Node`] (async/sync, with/without `Ctx`)
//! would overlap; each carries a different *marker* type parameter `M`, and the compiler picks
//! the one impl whose bounds hold. Async functions that borrow the state are accepted through
//! helper traits with an associated future type ([`AsyncStateFn`]), bound higher-ranked
//! (`for<'a> AsyncStateFn<'a, S>`), which keeps the returned futures `Send`.
//!
//! # Example
//!
//! ```
//! use langgraph_core::{Ctx, NodeError};
//! # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
//! async fn write(s: &Review) -> ReviewUpdate {
//!     ReviewUpdate::new().rounds(s.rounds + 1)
//! }
//! async fn careful(s: &Review, ctx: &Ctx) -> Result<ReviewUpdate, NodeError> {
//!     if s.draft.is_empty() {
//!         return Err(NodeError::msg(format!("empty draft in step {}", ctx.step())));
//!     }
//!     Ok(ReviewUpdate::new())
//! }
//! fn count(s: &Review) -> ReviewUpdate {
//!     ReviewUpdate::new().rounds(s.notes.len() as u32)
//! }
//! let graph = langgraph_core::StateGraph::<Review>::new()
//!     .node("write", write)
//!     .node("careful", careful)
//!     .node("count", count)
//!     .node("closure", |s: &Review| ReviewUpdate::new().draft(s.draft.to_uppercase()));
//! # let _ = graph;
//! ```

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::Ctx;
use crate::error::{BoxError, NodeError};
pub use crate::node_future::NodeFuture;
use crate::state::{FromState, State};
use crate::types::{Command, SendArg};

/// What a node produced: an update, or a command (update plus routing).
pub enum NodeOutput<S: State> {
    /// Writes to apply.
    Update(S::Update),
    /// Writes plus destinations.
    Command(Command<S>),
}

impl<S: State> NodeOutput<S> {
    pub(crate) fn into_parts(self) -> (S::Update, Option<Command<S>>) {
        match self {
            Self::Update(u) => (u, None),
            Self::Command(mut c) => (c.update.take().unwrap_or_default(), Some(c)),
        }
    }
}

/// What a node may return. See the [module docs](self) for the list.
#[diagnostic::on_unimplemented(
    message = "a node of `{S}` cannot return `{Self}`",
    note = "return the state's update type (e.g. `MyStateUpdate::new().field(v)`), a `Command<{S}>`, `()`, an `Option` of those, or a `Result` of those with any error type"
)]
pub trait IntoNodeOutput<S: State> {
    /// Converts into a node output.
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError>;
}

impl<S: State> IntoNodeOutput<S> for () {
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError> {
        Ok(NodeOutput::Update(S::Update::default()))
    }
}

impl<S: State> IntoNodeOutput<S> for Command<S> {
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError> {
        Ok(NodeOutput::Command(self))
    }
}

impl<S: State> IntoNodeOutput<S> for NodeOutput<S> {
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError> {
        Ok(self)
    }
}

impl<S: State, T: IntoNodeOutput<S>> IntoNodeOutput<S> for Option<T> {
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError> {
        match self {
            Some(t) => t.into_node_output(),
            None => Ok(NodeOutput::Update(S::Update::default())),
        }
    }
}

impl<S: State, T: IntoNodeOutput<S>, E: Into<BoxError>> IntoNodeOutput<S> for Result<T, E> {
    fn into_node_output(self) -> Result<NodeOutput<S>, NodeError> {
        match self {
            Ok(t) => t.into_node_output(),
            Err(e) => Err(NodeError::from_boxed(e.into())),
        }
    }
}

/// The result type of a node call.
pub type NodeResult<S> = Result<NodeOutput<S>, NodeError>;

/// An async function of the state: `async fn(&S) -> O` (helper trait; see the module docs).
pub trait AsyncStateFn<'a, S: 'a>: Fn(&'a S) -> Self::Fut + Send + Sync + 'static {
    /// The returned future.
    type Fut: Future<Output = Self::Out> + Send + 'a;
    /// The future's output.
    type Out;
}

impl<'a, S: 'a, F, Fut> AsyncStateFn<'a, S> for F
where
    F: Fn(&'a S) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

/// An async function of the state and the context: `async fn(&S, &Ctx) -> O`.
pub trait AsyncStateCtxFn<'a, S: 'a>:
    Fn(&'a S, &'a Ctx) -> Self::Fut + Send + Sync + 'static
{
    /// The returned future.
    type Fut: Future<Output = Self::Out> + Send + 'a;
    /// The future's output.
    type Out;
}

impl<'a, S: 'a, F, Fut> AsyncStateCtxFn<'a, S> for F
where
    F: Fn(&'a S, &'a Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

/// An async function of an owned input and the context: `async fn(I, &Ctx) -> O`.
pub trait AsyncInputCtxFn<'a, I>: Fn(I, &'a Ctx) -> Self::Fut + Send + Sync + 'static {
    /// The returned future.
    type Fut: Future<Output = Self::Out> + Send + 'a;
    /// The future's output.
    type Out;
}

impl<'a, I, F, Fut> AsyncInputCtxFn<'a, I> for F
where
    F: Fn(I, &'a Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

/// Marker types that keep the blanket node impls apart.
pub mod markers {
    use std::marker::PhantomData;
    /// `async fn(&S) -> O`
    pub struct AsyncState<O>(PhantomData<fn() -> O>);
    /// `async fn(&S, &Ctx) -> O`
    pub struct AsyncStateCtx<O>(PhantomData<fn() -> O>);
    /// `fn(&S) -> O`
    pub struct SyncState<O>(PhantomData<fn() -> O>);
    /// `fn(&S, &Ctx) -> O`
    pub struct SyncStateCtx<O>(PhantomData<fn() -> O>);
    /// `async fn(I) -> O`
    pub struct AsyncInput<O>(PhantomData<fn() -> O>);
    /// `async fn(I, &Ctx) -> O`
    pub struct AsyncInputCtx<O>(PhantomData<fn() -> O>);
    /// `fn(I) -> O`
    pub struct SyncInput<O>(PhantomData<fn() -> O>);
    /// `fn(I, &Ctx) -> O`
    pub struct SyncInputCtx<O>(PhantomData<fn() -> O>);
    /// `|s: &S, ctx: Ctx| async move { .. }` (a closure that owns its `Ctx`)
    pub struct AsyncStateOwnedCtx<O>(PhantomData<fn() -> O>);
    /// `|i: I, ctx: Ctx| async move { .. }`
    pub struct AsyncInputOwnedCtx<O>(PhantomData<fn() -> O>);
}
use markers::*;

/// A function usable as a node over the whole state. Implemented for the four shapes in the
/// [module docs](self); `M` is a marker chosen by the compiler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a node of `{S}`",
    note = "a node is `async fn(&{S}) -> O`, `async fn(&{S}, &Ctx) -> O`, or the same without `async`, where O is the update type, a Command, (), or a Result of those",
    note = "closures must annotate the argument type: `|s: &{S}| ...`; an async closure body that uses the context takes it by value: `|s: &{S}, ctx: Ctx| async move {{ .. }}`"
)]
pub trait Node<S: State, M>: Send + Sync + 'static {
    /// Runs the node on a snapshot of the state.
    fn call<'a>(&'a self, state: &'a S, ctx: &'a Ctx) -> NodeFuture<'a, S>;
}

impl<S: State, F, O> Node<S, AsyncState<O>> for F
where
    F: for<'a> AsyncStateFn<'a, S, Out = O>,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, state: &'a S, _ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(state);
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

impl<S: State, F, O> Node<S, AsyncStateCtx<O>> for F
where
    F: for<'a> AsyncStateCtxFn<'a, S, Out = O>,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, state: &'a S, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(state, ctx);
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

impl<S: State, F, O> Node<S, SyncState<O>> for F
where
    F: Fn(&S) -> O + Send + Sync + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, state: &'a S, _ctx: &'a Ctx) -> NodeFuture<'a, S> {
        NodeFuture::ready(self(state).into_node_output())
    }
}

impl<S: State, F, O> Node<S, SyncStateCtx<O>> for F
where
    F: Fn(&S, &Ctx) -> O + Send + Sync + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, state: &'a S, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        NodeFuture::ready(self(state, ctx).into_node_output())
    }
}

impl<S: State, F, Fut, O> Node<S, AsyncStateOwnedCtx<O>> for F
where
    F: Fn(&S, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, state: &'a S, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(state, ctx.clone());
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

/// A function usable as a node that takes its own input `I` (a `SendTo` payload or a
/// projection of the state).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a node of `{S}` taking input `{I}`",
    note = "an input node is `async fn({I}) -> O`, `async fn({I}, &Ctx) -> O`, `fn({I}) -> O` or `fn({I}, &Ctx) -> O`"
)]
pub trait InputNode<S: State, I, M>: Send + Sync + 'static {
    /// Runs the node on its input.
    fn call<'a>(&'a self, input: I, ctx: &'a Ctx) -> NodeFuture<'a, S>;
}

impl<S: State, I: Send + 'static, F, Fut, O> InputNode<S, I, AsyncInput<O>> for F
where
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, input: I, _ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(input);
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

impl<S: State, I: Send + 'static, F, O> InputNode<S, I, AsyncInputCtx<O>> for F
where
    F: for<'a> AsyncInputCtxFn<'a, I, Out = O>,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, input: I, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(input, ctx);
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

impl<S: State, I: Send + 'static, F, O> InputNode<S, I, SyncInput<O>> for F
where
    F: Fn(I) -> O + Send + Sync + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, input: I, _ctx: &'a Ctx) -> NodeFuture<'a, S> {
        NodeFuture::ready(self(input).into_node_output())
    }
}

impl<S: State, I: Send + 'static, F, O> InputNode<S, I, SyncInputCtx<O>> for F
where
    F: Fn(I, &Ctx) -> O + Send + Sync + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, input: I, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        NodeFuture::ready(self(input, ctx).into_node_output())
    }
}

impl<S: State, I: Send + 'static, F, Fut, O> InputNode<S, I, AsyncInputOwnedCtx<O>> for F
where
    F: Fn(I, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    O: IntoNodeOutput<S> + 'static,
{
    fn call<'a>(&'a self, input: I, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        let fut = self(input, ctx.clone());
        NodeFuture::boxed(async move { fut.await.into_node_output() })
    }
}

/// What a task gives its node.
pub(crate) enum TaskInput<'a, S> {
    /// The superstep's state snapshot.
    State(&'a S),
    /// A `SendTo` payload.
    Arg(&'a Arc<dyn SendArg>),
}

/// What input a node takes, for validation and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputKind {
    /// The whole state (or a `SendTo` of a whole state value).
    State,
    /// A projection computed from the state.
    View,
    /// A `SendTo` payload of this type.
    Payload(&'static str),
}

/// A type-erased node as stored in a compiled graph.
pub(crate) trait ErasedNode<S: State>: Send + Sync {
    fn call<'a>(&'a self, input: TaskInput<'a, S>, ctx: &'a Ctx) -> NodeFuture<'a, S>;
    fn input_kind(&self) -> InputKind;
    /// Checks that `input` fits before the task is created.
    fn accepts(&self, input: &TaskInput<'_, S>) -> Result<(), String>;
    /// Rebuilds a stored `SendTo` payload.
    fn decode_arg(&self, value: Value) -> Result<Arc<dyn SendArg>, serde_json::Error>;
}

pub(crate) fn arg_name(input: &TaskInput<'_, impl Any>) -> String {
    match input {
        TaskInput::State(_) => "the graph state".to_string(),
        TaskInput::Arg(a) => format!("a SendTo payload of type `{}`", a.type_name()),
    }
}

pub(crate) struct StateNodeBox<F, M>(pub(crate) F, pub(crate) PhantomData<fn() -> M>);

impl<S: State, F: Node<S, M>, M: 'static> ErasedNode<S> for StateNodeBox<F, M> {
    fn call<'a>(&'a self, input: TaskInput<'a, S>, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        match input {
            TaskInput::State(s) => self.0.call(s, ctx),
            TaskInput::Arg(a) => match state_arg::<S>(a) {
                Some(s) => self.0.call(s, ctx),
                None => NodeFuture::ready(Err(NodeError::msg(
                    "payload type mismatch (checked before the call)",
                ))),
            },
        }
    }
    fn input_kind(&self) -> InputKind {
        InputKind::State
    }
    fn accepts(&self, input: &TaskInput<'_, S>) -> Result<(), String> {
        accepts_state(input)
    }
    fn decode_arg(&self, value: Value) -> Result<Arc<dyn SendArg>, serde_json::Error> {
        decode_state_arg::<S>(value)
    }
}

/// A whole state sent as a `SendTo` payload (see [`SendTo::state`](crate::SendTo::state)).
pub(crate) struct StateArg<S>(pub(crate) S);

/// The state carried by a `SendTo` payload, if it carries one.
/// Whether a node that reads the state accepts `input`: the snapshot, or a state-typed payload.
pub(crate) fn accepts_state<S: State>(input: &TaskInput<'_, S>) -> Result<(), String> {
    match input {
        TaskInput::State(_) => Ok(()),
        TaskInput::Arg(a) if state_arg::<S>(a).is_some() => Ok(()),
        other => Err(arg_name(other)),
    }
}

pub(crate) fn state_arg<S: State>(a: &Arc<dyn SendArg>) -> Option<&S> {
    let any = a.as_any();
    any.downcast_ref::<S>()
        .or_else(|| any.downcast_ref::<StateArg<S>>().map(|w| &w.0))
}

pub(crate) fn decode_state_arg<S: State>(
    value: Value,
) -> Result<Arc<dyn SendArg>, serde_json::Error> {
    let mut s = S::default();
    if let Value::Object(map) = value {
        for (k, v) in map {
            if let Some(i) = S::info().index_of(&k) {
                s.channel_from_json(i, v)?;
            }
        }
    }
    Ok(Arc::new(StateArg(s)))
}

impl<S: State> serde::Serialize for StateArg<S> {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        self.0
            .to_json()
            .map_err(serde::ser::Error::custom)?
            .serialize(z)
    }
}

pub(crate) struct PayloadNodeBox<F, I, M>(pub(crate) F, pub(crate) PhantomData<fn() -> (I, M)>);

impl<S, F, I, M> ErasedNode<S> for PayloadNodeBox<F, I, M>
where
    S: State,
    I: Clone + Send + Sync + serde::Serialize + DeserializeOwned + 'static,
    F: InputNode<S, I, M>,
    M: 'static,
{
    fn call<'a>(&'a self, input: TaskInput<'a, S>, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        match input {
            TaskInput::Arg(a) => match a.as_any().downcast_ref::<I>() {
                Some(i) => self.0.call(i.clone(), ctx),
                None => NodeFuture::ready(Err(NodeError::msg(
                    "payload type mismatch (checked before the call)",
                ))),
            },
            TaskInput::State(_) => NodeFuture::ready(Err(NodeError::msg(
                "a payload node got the graph state (checked before the call)",
            ))),
        }
    }
    fn input_kind(&self) -> InputKind {
        InputKind::Payload(std::any::type_name::<I>())
    }
    fn accepts(&self, input: &TaskInput<'_, S>) -> Result<(), String> {
        match input {
            TaskInput::Arg(a) if a.as_any().is::<I>() => Ok(()),
            other => Err(arg_name(other)),
        }
    }
    fn decode_arg(&self, value: Value) -> Result<Arc<dyn SendArg>, serde_json::Error> {
        Ok(Arc::new(serde_json::from_value::<I>(value)?))
    }
}

pub(crate) struct ViewNodeBox<F, P, M>(pub(crate) F, pub(crate) PhantomData<fn() -> (P, M)>);

impl<S, F, P, M> ErasedNode<S> for ViewNodeBox<F, P, M>
where
    S: State,
    P: FromState<S>,
    F: InputNode<S, P, M>,
    M: 'static,
{
    fn call<'a>(&'a self, input: TaskInput<'a, S>, ctx: &'a Ctx) -> NodeFuture<'a, S> {
        match input {
            TaskInput::State(s) => self.0.call(P::from_state_ref(s), ctx),
            TaskInput::Arg(a) => match state_arg::<S>(a) {
                Some(s) => self.0.call(P::from_state_ref(s), ctx),
                None => NodeFuture::ready(Err(NodeError::msg(
                    "payload type mismatch (checked before the call)",
                ))),
            },
        }
    }
    fn input_kind(&self) -> InputKind {
        InputKind::View
    }
    fn accepts(&self, input: &TaskInput<'_, S>) -> Result<(), String> {
        match input {
            TaskInput::State(_) => Ok(()),
            TaskInput::Arg(a) if a.as_any().is::<S>() => Ok(()),
            other => Err(arg_name(other)),
        }
    }
    fn decode_arg(&self, value: Value) -> Result<Arc<dyn SendArg>, serde_json::Error> {
        decode_state_arg::<S>(value)
    }
}
