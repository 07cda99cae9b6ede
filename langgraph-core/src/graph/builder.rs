//! `StateGraph`: the builder.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use langgraph_checkpoint::Checkpointer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::{CachePolicy, NodeCache};
use crate::compiled::CompiledGraph;
use crate::error::GraphError;
use crate::node::{ErasedNode, InputNode, Node, PayloadNodeBox, StateNodeBox, ViewNodeBox};
use crate::persistence::Persistence;
use crate::pregel::retry::RetryPolicy;
use crate::state::{FromState, State};
use crate::types::{IntoRoute, Route};

pub(crate) type RouterFn<S> = Arc<dyn Fn(&S) -> Route + Send + Sync>;

/// Turns a node's error into the update its fallback node starts from.
pub(crate) type ErrorHandler<S> =
    Arc<dyn Fn(&crate::error::NodeError) -> <S as State>::Update + Send + Sync>;

/// What few graphs use, boxed so that the builder stays small (it moves through every call).
pub(crate) struct Extras<S: State> {
    /// (node, fallback, handler).
    pub(crate) handlers: Vec<(Name, Name, ErrorHandler<S>)>,
    pub(crate) cache_store: Option<Arc<dyn NodeCache>>,
    pub(crate) retry_default: Option<RetryPolicy>,
    /// (node, the subgraph's shape and name), for drawings.
    pub(crate) children: Vec<(Name, crate::pregel::plan::Shape, String)>,
    /// How the compiled graph keeps its state when called as a subgraph.
    pub(crate) persistence: Persistence,
}

impl<S: State> Default for Extras<S> {
    fn default() -> Self {
        Self {
            handlers: Vec::new(),
            cache_store: None,
            retry_default: None,
            children: Vec::new(),
            persistence: Persistence::default(),
        }
    }
}

/// A node or graph name: borrowed for string literals, owned otherwise.
pub(crate) type Name = Cow<'static, str>;

pub(crate) struct NodeSpec<S: State> {
    pub(crate) name: Name,
    pub(crate) node: Box<dyn ErasedNode<S>>,
}

pub(crate) struct RouteSpec<S: State> {
    pub(crate) from: Name,
    pub(crate) router: RouterFn<S>,
    /// Declared destinations (node names or END).
    pub(crate) targets: Vec<Name>,
    /// Label -> destination, when the router returns labels.
    pub(crate) path_map: Option<Vec<(Name, Name)>>,
}

/// Builds a graph over state `S`; `compile()` validates it and returns the runnable graph.
///
/// `O` is the output type of `invoke` (default: the whole state; see [`StateGraph::output`]).
///
/// ```
/// use langgraph_core::{StateGraph, START, END, Route};
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
/// async fn write(s: &Review) -> ReviewUpdate { ReviewUpdate::new().rounds(s.rounds + 1) }
/// async fn critique(s: &Review) -> ReviewUpdate { ReviewUpdate::new().notes(vec![format!("round {}", s.rounds)]) }
/// fn done(s: &Review) -> Route { if s.rounds >= 3 { Route::end() } else { Route::to("write") } }
///
/// let graph = StateGraph::<Review>::new()
///     .node("write", write)
///     .node("critique", critique)
///     .edge(START, "write")
///     .edge("write", "critique")
///     .route("critique", done, ["write", END])
///     .compile()
///     .unwrap();
/// let out = futures::executor::block_on(graph.invoke(Review::default(), &Default::default())).unwrap();
/// assert_eq!(out.rounds, 3);
/// assert_eq!(out.notes, ["round 1", "round 2", "round 3"]);
/// ```
pub struct StateGraph<S: State, O = S> {
    pub(crate) nodes: Vec<NodeSpec<S>>,
    pub(crate) edges: Vec<(Name, Name)>,
    pub(crate) routes: Vec<RouteSpec<S>>,
    /// Everything else, by the node it concerns (checked at compile time). One list keeps the
    /// builder small: it moves by value through every call.
    pub(crate) settings: Vec<(Name, NodeSetting)>,
    pub(crate) name: Name,
    pub(crate) extras: Option<Box<Extras<S>>>,
    _out: PhantomData<fn() -> O>,
}

pub(crate) enum NodeSetting {
    /// The node is the target of a join from these sources.
    JoinFrom(Vec<Name>),
    InterruptBefore,
    InterruptAfter,
    Defer,
    Retry(RetryPolicy),
    Timeout(Duration),
    Cache(CachePolicy),
    GotoTargets(Vec<Name>),
}

impl<S: State> Default for StateGraph<S, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: State> StateGraph<S, S> {
    /// An empty graph.
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            edges: Vec::new(),
            routes: Vec::new(),
            settings: Vec::new(),
            name: Cow::Borrowed(S::info().name),
            extras: None,
            _out: PhantomData,
        }
    }
}

impl<S: State, O: FromState<S>> StateGraph<S, O> {
    fn push_node(mut self, name: impl Into<Name>, node: Box<dyn ErasedNode<S>>) -> Self {
        self.nodes.push(NodeSpec {
            name: name.into(),
            node,
        });
        self
    }

    /// Adds a node that reads the whole state: an `async fn(&S)`, `async fn(&S, &Ctx)`, or the
    /// same without `async` (see [`crate::node`]).
    pub fn node<M: 'static>(self, name: impl Into<Name>, node: impl Node<S, M>) -> Self {
        self.push_node(name, Box::new(StateNodeBox(node, PhantomData)))
    }

    /// Adds a node that takes its own input `I`: the target of [`SendTo`](crate::SendTo)s
    /// (map-reduce workers). It is reached only by `SendTo`, never by a plain edge.
    pub fn node_with_input<I, M: 'static>(
        self,
        name: impl Into<Name>,
        node: impl InputNode<S, I, M>,
    ) -> Self
    where
        I: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        self.push_node(name, Box::new(PayloadNodeBox(node, PhantomData)))
    }

    /// Adds a node that reads a projection `P` of the state (a `#[derive(Projection)]` type):
    /// it sees only the fields `P` declares.
    pub fn node_view<P: FromState<S>, M: 'static>(
        self,
        name: impl Into<Name>,
        node: impl InputNode<S, P, M>,
    ) -> Self {
        self.push_node(name, Box::new(ViewNodeBox(node, PhantomData)))
    }

    /// Adds an edge: when `from` finishes, `to` runs in the next superstep. `from` may be
    /// [`START`](crate::START), `to` may be [`END`](crate::END).
    ///
    /// Several plain edges into one node do not wait for each other: the node runs in every
    /// superstep after one of its sources ran (once per superstep). Use [`join`](Self::join)
    /// to wait for all sources.
    pub fn edge(mut self, from: impl Into<Name>, to: impl Into<Name>) -> Self {
        self.edges.push((from.into(), to.into()));
        self
    }

    /// Adds a join: `to` runs once after *every* node in `from` has finished since `to` last
    /// ran, even if they finish in different supersteps.
    pub fn join<N: Into<Name>>(
        mut self,
        from: impl IntoIterator<Item = N>,
        to: impl Into<Name>,
    ) -> Self {
        let from = from.into_iter().map(Into::into).collect();
        self.settings.push((to.into(), NodeSetting::JoinFrom(from)));
        self
    }

    /// Adds a conditional edge: after `from` finishes, `router` picks where to go, among
    /// `targets` (node names and [`END`](crate::END)). The router sees the state with the
    /// writes of `from` applied (but not those of parallel tasks). Returning a node that is not
    /// in `targets` fails the run with [`RunError::UndeclaredTarget`](crate::RunError).
    pub fn route<R: IntoRoute, T: Into<Name>>(
        mut self,
        from: impl Into<Name>,
        router: impl Fn(&S) -> R + Send + Sync + 'static,
        targets: impl IntoIterator<Item = T>,
    ) -> Self {
        self.routes.push(RouteSpec {
            from: from.into(),
            router: Arc::new(move |s| router(s).into_route()),
            targets: targets.into_iter().map(Into::into).collect(),
            path_map: None,
        });
        self
    }

    /// Adds a conditional edge whose router returns *labels*, translated by `path_map` into
    /// node names (or [`END`](crate::END)).
    pub fn route_map<R: IntoRoute, L: Into<Name>, T: Into<Name>>(
        mut self,
        from: impl Into<Name>,
        router: impl Fn(&S) -> R + Send + Sync + 'static,
        path_map: impl IntoIterator<Item = (L, T)>,
    ) -> Self {
        let map: Vec<(Name, Name)> = path_map
            .into_iter()
            .map(|(l, t)| (l.into(), t.into()))
            .collect();
        self.routes.push(RouteSpec {
            from: from.into(),
            router: Arc::new(move |s| router(s).into_route()),
            targets: map.iter().map(|(_, t)| t.clone()).collect(),
            path_map: Some(map),
        });
        self
    }

    /// Declares where a node's [`Command`](crate::Command)s may go (like LangGraph's
    /// `Command[Literal[...]]`): used for validation and drawing, and enforced at run time.
    pub fn goto_targets<T: Into<Name>>(
        mut self,
        node: impl Into<Name>,
        targets: impl IntoIterator<Item = T>,
    ) -> Self {
        self.settings.push((
            node.into(),
            NodeSetting::GotoTargets(targets.into_iter().map(Into::into).collect()),
        ));
        self
    }

    /// Makes a node *deferred*: when triggered it waits until no other task is runnable, then
    /// runs once (a fan-in over branches of different lengths).
    pub fn defer(mut self, node: impl Into<Name>) -> Self {
        self.settings.push((node.into(), NodeSetting::Defer));
        self
    }

    /// Gives a node a retry policy.
    pub fn retry(mut self, node: impl Into<Name>, policy: RetryPolicy) -> Self {
        self.settings
            .push((node.into(), NodeSetting::Retry(policy)));
        self
    }

    /// Gives every node without a retry policy of its own this one.
    pub fn retry_default(mut self, policy: RetryPolicy) -> Self {
        self.extras().retry_default = Some(policy);
        self
    }

    /// When `node` fails (after its retries) or times out, the run goes on at `fallback`
    /// instead of failing: `handler` turns the error into an update (put the error in the
    /// state for the fallback to read), and only `fallback` runs next (not the failed node's
    /// edges). The error still counts in the run's report and is traced.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use langgraph_core::{NodeError, StateGraph, START, END};
    /// let g = StateGraph::<Review>::new()
    ///     .node("draft", |_: &Review| Err::<ReviewUpdate, _>(NodeError::msg("model down")))
    ///     .node("apologize", |s: &Review| ReviewUpdate::new().rounds(s.rounds + 1))
    ///     .on_error("draft", "apologize", |e: &NodeError| ReviewUpdate::new().notes(vec![e.to_string()]))
    ///     .edge(START, "draft")
    ///     .edge("draft", END)
    ///     .edge("apologize", END)
    ///     .compile()
    ///     .unwrap();
    /// let out = futures::executor::block_on(g.invoke(Review::default(), &Default::default())).unwrap();
    /// assert_eq!(out.notes, ["model down"]);
    /// assert_eq!(out.rounds, 1);
    /// assert_eq!(out.report["draft"].errors, 1);
    /// ```
    pub fn on_error(
        mut self,
        node: impl Into<Name>,
        fallback: impl Into<Name>,
        handler: impl Fn(&crate::error::NodeError) -> S::Update + Send + Sync + 'static,
    ) -> Self {
        let h: ErrorHandler<S> = Arc::new(handler);
        self.extras()
            .handlers
            .push((node.into(), fallback.into(), h));
        self
    }

    /// Caches `node`'s outputs: a task whose input was seen before (within the policy's time
    /// to live) takes the stored output and does not run. Entries live in the graph's cache
    /// store ([`cache_store`](Self::cache_store), default an [`InMemoryCache`] per compiled
    /// graph).
    ///
    /// [`InMemoryCache`]: crate::InMemoryCache
    pub fn cache(mut self, node: impl Into<Name>, policy: CachePolicy) -> Self {
        self.settings
            .push((node.into(), NodeSetting::Cache(policy)));
        self
    }

    /// Where cached outputs are stored (to share them between compiled graphs or processes).
    pub fn cache_store(mut self, store: Arc<dyn NodeCache>) -> Self {
        self.extras().cache_store = Some(store);
        self
    }

    /// Adds a compiled graph with the same state type as a node. It runs from this graph's
    /// state, stores its checkpoints in this run's thread under its own namespace, pauses this
    /// run when it interrupts (resume this run to resume it), and hands back only what it
    /// changed: appended items, changed values. (LangGraph hands back the subgraph's whole
    /// state, so a list both share gets this graph's items appended again; we do not.) A
    /// subgraph with a history per thread ([`Persistence::PerThread`]) hands back what its
    /// nodes changed in this call's turn.
    ///
    /// For a subgraph with a state type of its own, call it from a node with
    /// [`Ctx::invoke`](crate::Ctx::invoke) and map the state in and out.
    pub fn subgraph(mut self, name: impl Into<Name>, graph: CompiledGraph<S, S>) -> Self {
        let name = name.into();
        let shape = graph.inner.prog.shape.clone();
        let child = graph.inner.prog.name.to_string();
        self.extras().children.push((name.clone(), shape, child));
        self.push_node(name, Box::new(crate::subgraph::SubgraphNode { graph }))
    }

    fn extras(&mut self) -> &mut Extras<S> {
        self.extras.get_or_insert_with(Box::default)
    }

    /// Gives a node a timeout per attempt.
    pub fn timeout(mut self, node: impl Into<Name>, after: Duration) -> Self {
        self.settings
            .push((node.into(), NodeSetting::Timeout(after)));
        self
    }

    /// Pauses every run before these nodes (static breakpoints; resume with
    /// `Input::Continue`). [`ALL_NODES`](crate::ALL_NODES) (`"*"`) names every node: the run
    /// pauses before each superstep.
    pub fn interrupt_before<N: Into<Name>>(mut self, nodes: impl IntoIterator<Item = N>) -> Self {
        let before = nodes
            .into_iter()
            .map(|n| (n.into(), NodeSetting::InterruptBefore));
        self.settings.extend(before);
        self
    }

    /// Pauses every run after these nodes ([`ALL_NODES`](crate::ALL_NODES): after every
    /// superstep that leaves work to do).
    pub fn interrupt_after<N: Into<Name>>(mut self, nodes: impl IntoIterator<Item = N>) -> Self {
        let after = nodes
            .into_iter()
            .map(|n| (n.into(), NodeSetting::InterruptAfter));
        self.settings.extend(after);
        self
    }

    /// How the compiled graph keeps its state when another graph calls it as a subgraph:
    /// from an empty state at every call (the default), or one history per thread (see
    /// [`Persistence`]).
    pub fn persistence(mut self, persistence: Persistence) -> Self {
        self.extras().persistence = persistence;
        self
    }

    /// Names the graph (used in tracing and drawings; default: the state type's name).
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = name.into();
        self
    }

    /// Makes `invoke` return `O2` (a `#[derive(Projection)]` of the state) instead of `O`.
    /// Streams and checkpoints still carry the whole state.
    pub fn output<O2: FromState<S>>(self) -> StateGraph<S, O2> {
        StateGraph {
            nodes: self.nodes,
            edges: self.edges,
            routes: self.routes,
            settings: self.settings,
            name: self.name,
            extras: self.extras,
            _out: PhantomData,
        }
    }

    /// Validates the graph and returns it ready to run, without a checkpointer. Every problem
    /// is reported at once.
    pub fn compile(self) -> Result<CompiledGraph<S, O>, GraphError> {
        CompiledGraph::build(self, None)
    }

    /// Validates the graph and returns it ready to run, checkpointing every superstep to
    /// `saver`.
    pub fn compile_with(self, saver: impl Checkpointer) -> Result<CompiledGraph<S, O>, GraphError> {
        CompiledGraph::build(self, Some(Arc::new(saver)))
    }

    /// Like [`compile_with`](Self::compile_with), for a saver that is already shared.
    pub fn compile_with_shared(
        self,
        saver: Arc<dyn Checkpointer>,
    ) -> Result<CompiledGraph<S, O>, GraphError> {
        CompiledGraph::build(self, Some(saver))
    }
}
