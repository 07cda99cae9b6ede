//! How a subgraph keeps its state from one call to the next ([`Persistence`]), and the
//! namespaces it stores its checkpoints under.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use langgraph_checkpoint::{CheckpointError, CheckpointTuple, Checkpointer, ListOptions, Source};

/// How a compiled graph keeps its state when another graph calls it as a subgraph (with
/// [`Ctx::invoke`](crate::Ctx::invoke)). Set it with
/// [`StateGraph::persistence`](crate::StateGraph::persistence); a root run ignores it.
///
/// Either way the subgraph stores its checkpoints in the calling run's thread, in a namespace
/// of its own, so a question it asks pauses the caller and resuming the caller resumes it
/// where it stopped.
///
/// ```
/// use langgraph_core::{Ctx, NodeError, Persistence, RunConfig, StateGraph, START, END};
/// use langgraph_checkpoint::InMemorySaver;
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
///
/// // A helper that remembers, per thread, every note it was ever given.
/// let helper = StateGraph::<Review>::new()
///     .node("count", |s: &Review| ReviewUpdate::new().rounds(s.notes.len() as u32))
///     .edge(START, "count")
///     .edge("count", END)
///     .persistence(Persistence::PerThread)
///     .compile()
///     .unwrap();
/// let g = StateGraph::<Review>::new()
///     .node("ask_helper", move |s: &Review, ctx: Ctx| {
///         let (helper, last) = (helper.clone(), s.notes.last().cloned());
///         async move {
///             let said = ReviewUpdate::new().notes(last.into_iter().collect());
///             let out = ctx.invoke(&helper, said).await?;
///             Ok::<_, NodeError>(ReviewUpdate::new().rounds(out.rounds))
///         }
///     })
///     .edge(START, "ask_helper")
///     .edge("ask_helper", END)
///     .compile_with(InMemorySaver::new())
///     .unwrap();
/// let cfg = RunConfig::new().thread_id("chat-1");
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let first = rt.block_on(g.invoke(ReviewUpdate::new().notes(vec!["a".into()]), &cfg)).unwrap();
/// let second = rt.block_on(g.invoke(ReviewUpdate::new().notes(vec!["b".into()]), &cfg)).unwrap();
/// // The helper saw one note in the first turn and both in the second.
/// assert_eq!((first.rounds, second.rounds), (1, 2));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Persistence {
    /// Every call starts from an empty state (the default). Its checkpoints are stored under
    /// `node:task_id`, so a call made by another task, in another run or superstep, does not
    /// see them; the same task running again (a resume, a retry) goes on from them.
    #[default]
    PerInvocation,
    /// One history per thread: a call goes on from the state the last call in the same
    /// thread left, with the input applied as a new turn, as [`invoke`] on a thread does (the
    /// subgraph of a chat agent that remembers its conversation). Its checkpoints are stored
    /// under the calling node's name (the names of the enclosing nodes before it, joined with
    /// `|`; a node's second and later calls add `#2`, `#3`, …), so read or edit its state with
    /// `RunConfig::checkpoint_ns("node")` on the subgraph's compiled graph. The same task
    /// running again (a resume or a retry, also after the caller's state was edited with
    /// `update_state`) goes on from the call it made before instead of starting a turn. A
    /// replay of the caller from an older checkpoint runs the call from the subgraph's state as
    /// it was then (from an empty state if it had not been called yet), on a new branch of the
    /// subgraph's history.
    ///
    /// Its calls share one history, so two tasks of one superstep (two sends to the calling
    /// node) cannot both call it: the second fails with
    /// [`RunError::SharedSubgraphHistory`](crate::RunError::SharedSubgraphHistory).
    ///
    /// As a node of the same state type ([`StateGraph::subgraph`](crate::StateGraph::subgraph))
    /// it receives the caller's whole state as the turn's input and hands back what its nodes
    /// changed in this turn. A list the caller and the subgraph both keep with
    /// `#[reducer(append)]` thus holds the caller's items again after every turn in the
    /// subgraph's own history; with `#[reducer(add_messages)]` (merged by id) it does not.
    ///
    /// [`invoke`]: crate::CompiledGraph::invoke
    PerThread,
}

/// The namespace of a per-thread subgraph called by `node` in a graph whose namespace is `ns`:
/// the path of node names, without task ids (a call's `#k` suffix stays).
pub(crate) fn per_thread_ns(ns: &str, node: &str) -> String {
    let mut out = String::with_capacity(ns.len() + node.len() + 1);
    for part in ns.split('|').filter(|p| !p.is_empty()) {
        match part.split_once(':') {
            Some((name, rest)) => {
                out.push_str(name);
                if let Some(i) = rest.rfind('#') {
                    out.push_str(&rest[i..]);
                }
            }
            None => out.push_str(part),
        }
        out.push('|');
    }
    out.push_str(node);
    out
}

/// The checkpoints of the enclosing graphs a subgraph run records in its checkpoints'
/// metadata (`parents`): those of its caller's, plus the caller's own (`caller_ns`, the
/// checkpoint `base` its task runs from).
pub(crate) fn parents_of(
    caller_parents: &BTreeMap<String, String>,
    caller_ns: &str,
    base: Option<&str>,
) -> BTreeMap<String, String> {
    let mut parents = caller_parents.clone();
    if let Some(base) = base {
        parents.insert(caller_ns.to_string(), base.to_string());
    }
    parents
}

/// A replay (time travel) in progress: a per-thread subgraph goes on from the state it had
/// when the thread was at checkpoint `bound`, the first time the replayed run (or a subgraph
/// run within it) calls it.
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) bound: String,
    visited: Mutex<HashSet<String>>,
}

impl Replay {
    pub(crate) fn new(bound: String) -> Self {
        Self {
            bound,
            visited: Mutex::new(HashSet::new()),
        }
    }

    /// True the first time the replayed run calls the subgraph stored under `ns`.
    fn first_visit(&self, ns: &str) -> bool {
        self.visited
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ns.to_string())
    }
}

/// A call of a per-thread subgraph: who calls it, from which checkpoint.
#[derive(Debug, Clone)]
pub(crate) struct PerThreadCall {
    /// The caller's namespace.
    pub(crate) caller_ns: String,
    /// The caller's checkpoint the calling task runs from.
    pub(crate) base: Option<String>,
    /// When the caller's run went on from a checkpoint `update_state` wrote: its id and the id
    /// of the checkpoint it follows.
    pub(crate) edited: Option<(String, Option<String>)>,
    /// Whether the caller wants the state the turn started from (a per-thread subgraph as a
    /// node of the caller's state type hands back what its nodes changed in the turn).
    pub(crate) want_turn_start: bool,
}

/// How a per-thread subgraph call starts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// From the head, which this call's task wrote (a resume or a retry of it, maybe after
    /// edits of the caller): as any subgraph run does.
    GoOn,
    /// A new turn: the input applied to the head.
    NewTurn,
    /// The input applied to this checkpoint (a replay), or to an empty state (`None`).
    From(Option<String>),
}

/// The longest chain of `update_state` edits between a task's checkpoint and the one its
/// subgraph call was made from that still counts as the same call.
const MAX_EDITS: usize = 64;

/// How the call `call` of the per-thread subgraph stored under `ns` (head `head`) starts.
pub(crate) async fn per_thread_start(
    saver: &dyn Checkpointer,
    thread: &str,
    ns: &str,
    head: Option<&CheckpointTuple>,
    call: &PerThreadCall,
    replay: Option<&Replay>,
) -> Result<Start, CheckpointError> {
    if let Some(r) = replay
        && r.first_visit(ns)
    {
        let opts = ListOptions {
            before: Some(r.bound.clone()),
            limit: Some(1),
            ..ListOptions::default()
        };
        let then = saver.list(thread, ns, &opts).await?.into_iter().next();
        return Ok(Start::From(then.map(|t| t.checkpoint.id.to_string())));
    }
    let Some(head) = head else {
        return Ok(Start::NewTurn);
    };
    let Some(wrote) = head.metadata.parents.get(&call.caller_ns) else {
        return Ok(Start::NewTurn);
    };
    if call.base.as_ref() == Some(wrote) {
        return Ok(Start::GoOn);
    }
    // The task runs from a checkpoint that edits (and only edits) made over the one the
    // subgraph was called from: the same call, resumed.
    let Some((edited, mut prev)) = call.edited.clone() else {
        return Ok(Start::NewTurn);
    };
    if call.base.as_ref() != Some(&edited) {
        return Ok(Start::NewTurn);
    }
    for _ in 0..MAX_EDITS {
        let Some(id) = prev else { break };
        if &id == wrote {
            return Ok(Start::GoOn);
        }
        match saver.get(thread, &call.caller_ns, &id).await? {
            Some(t) if t.metadata.source == Source::Update => prev = t.parent_id,
            _ => break,
        }
    }
    Ok(Start::NewTurn)
}

/// How many checkpoints [`turn_start`] reads at a time.
const TURN_PAGE: usize = 8;

/// The checkpoint the current turn of the per-thread subgraph stored under `ns` started
/// from (its input applied): the checkpoint after the newest input checkpoint, among those the
/// call that wrote `head` wrote (they name the same checkpoint of the caller, at
/// `caller_ns`). `None` when that turn's input checkpoint is not stored (durability `exit`).
pub(crate) async fn turn_start(
    saver: &dyn Checkpointer,
    thread: &str,
    ns: &str,
    caller_ns: &str,
    head: &CheckpointTuple,
) -> Result<Option<CheckpointTuple>, CheckpointError> {
    let call = head.metadata.parents.get(caller_ns);
    let mut newer: Option<CheckpointTuple> = None;
    let mut before = None;
    loop {
        let opts = ListOptions {
            before: before.take(),
            limit: Some(TURN_PAGE),
            ..ListOptions::default()
        };
        let page = saver.list(thread, ns, &opts).await?;
        let full = page.len() == TURN_PAGE;
        for t in page {
            if t.metadata.parents.get(caller_ns) != call {
                return Ok(None);
            }
            if t.metadata.source == Source::Input {
                return Ok(newer);
            }
            before = Some(t.checkpoint.id.to_string());
            newer = Some(t);
        }
        if !full {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_thread_namespaces_drop_task_ids_and_keep_call_numbers() {
        assert_eq!(per_thread_ns("", "call"), "call");
        assert_eq!(per_thread_ns("outer:1f2e", "call"), "outer|call");
        assert_eq!(
            per_thread_ns("outer:1f2e#3|mid", "call"),
            "outer#3|mid|call"
        );
        assert_eq!(per_thread_ns("a:x|b:y#2", "c#2"), "a|b#2|c#2");
    }

    #[test]
    fn parents_add_the_callers_checkpoint() {
        let root = parents_of(&BTreeMap::new(), "", Some("c1"));
        assert_eq!(root, BTreeMap::from([("".to_string(), "c1".to_string())]));
        let nested = parents_of(&root, "outer:t", Some("c9"));
        assert_eq!(nested.len(), 2);
        assert_eq!(nested["outer:t"], "c9");
        assert_eq!(parents_of(&root, "outer:t", None), root);
    }
}
