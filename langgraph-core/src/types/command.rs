//! `Command`: an update plus routing (from a node), or resume values (as run input).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::route::Target;
use super::send::SendTo;
use crate::state::State;

/// Values that answer pending interrupts.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// One value: answers the only pending interrupt (an error if several are pending).
    Value(Value),
    /// Values by interrupt id: answers exactly these interrupts.
    ById(BTreeMap<String, Value>),
}

/// Returned by a node: an update plus where to go next; or given as run input: resume values,
/// or an update plus a jump to a node of an existing thread.
///
/// `goto` *adds* destinations: a node with a static edge `a -> b` that returns
/// `Command::goto("c")` runs both `b` and `c` next.
///
/// ```
/// use langgraph_core::{Command, END};
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
/// let c: Command<Review> = Command::goto("critique").update(ReviewUpdate::new().rounds(2));
/// assert_eq!(c.goto_names(), ["critique"]);
/// let done: Command<Review> = Command::goto(END);
/// assert!(done.goto_names().is_empty());
/// ```
pub struct Command<S: State> {
    pub(crate) update: Option<S::Update>,
    pub(crate) goto: Vec<Target>,
    pub(crate) resume: Option<Resume>,
    pub(crate) to_parent: bool,
}

impl<S: State> Default for Command<S> {
    fn default() -> Self {
        Self {
            update: None,
            goto: Vec::new(),
            resume: None,
            to_parent: false,
        }
    }
}

impl<S: State> Clone for Command<S> {
    fn clone(&self) -> Self {
        Self {
            update: self.update.clone(),
            goto: self.goto.clone(),
            resume: self.resume.clone(),
            to_parent: self.to_parent,
        }
    }
}

impl<S: State> fmt::Debug for Command<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("update", &self.update)
            .field("goto", &self.goto)
            .field("resume", &self.resume)
            .field("to_parent", &self.to_parent)
            .finish()
    }
}

impl<S: State> Command<S> {
    /// An empty command (no update, no destination).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends the command to the graph that called this one as a subgraph: the subgraph run
    /// stops, the update applies to the parent's state (key by key, so the parent's state must
    /// have these fields), and the parent goes to the `goto` nodes (which are the parent's).
    ///
    /// ```
    /// use langgraph_core::Command;
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// let c: Command<Review> = Command::goto("escalate").to_parent();
    /// assert!(c.is_to_parent());
    /// ```
    pub fn to_parent(mut self) -> Self {
        self.to_parent = true;
        self
    }

    /// True for a command to the parent graph.
    pub fn is_to_parent(&self) -> bool {
        self.to_parent
    }

    /// A command that goes to `node` (or `END`).
    pub fn goto(node: impl Into<Cow<'static, str>>) -> Self {
        Self::new().and_goto(node)
    }

    /// A command that goes to several nodes in parallel.
    pub fn goto_all<N: Into<Cow<'static, str>>>(nodes: impl IntoIterator<Item = N>) -> Self {
        let mut c = Self::new();
        for n in nodes {
            c = c.and_goto(n);
        }
        c
    }

    /// A command that answers the pending interrupt with `value`.
    ///
    /// With several interrupts pending it is an error ([`RunError::InvalidResume`]): answer
    /// them by id with [`Command::resume_by_id`]. With none pending (the thread is paused at a
    /// static breakpoint, or `update_state` replaced the checkpoint a node asked from), the
    /// value is stored with the checkpoint and answers the first `interrupt()` asked from it
    /// that has no answer of its own, in this run or, if the task fails, in the retry.
    ///
    /// With [`update`](Self::update), the update joins the resumed superstep's writes: stored
    /// with the answers, applied once, before the tasks' own writes, when the superstep
    /// completes (a last-value key written by both is a conflict, as between two tasks). A
    /// thread with nothing left to run refuses an update alone (use `update_state`). With
    /// [`and_goto`](Self::and_goto) or [`send`](Self::send), the destinations run in the
    /// resumed superstep, beside the resumed tasks (in a new one on a finished thread).
    ///
    /// [`RunError::InvalidResume`]: crate::RunError::InvalidResume
    pub fn resume(value: impl Into<Value>) -> Self {
        Self {
            resume: Some(Resume::Value(value.into())),
            ..Self::default()
        }
    }

    /// A command that answers the pending interrupt with any serializable value.
    pub fn try_resume(value: impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self::resume(serde_json::to_value(value)?))
    }

    /// A command that answers interrupts by id (see [`Interrupt::id`](super::Interrupt)).
    pub fn resume_by_id<K: Into<String>, V: Into<Value>>(
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            resume: Some(Resume::ById(
                values
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
            ..Self::default()
        }
    }

    /// Sets the update applied like a node's returned update.
    pub fn update(mut self, update: S::Update) -> Self {
        self.update = Some(update);
        self
    }

    /// Adds a destination node (or `END`).
    pub fn and_goto(mut self, node: impl Into<Cow<'static, str>>) -> Self {
        self.goto.push(Target::node(node));
        self
    }

    /// Adds a `SendTo` task.
    pub fn send(mut self, send: SendTo) -> Self {
        self.goto.push(Target::Send(send));
        self
    }

    /// Adds several `SendTo` tasks, in order.
    pub fn send_all(mut self, sends: impl IntoIterator<Item = SendTo>) -> Self {
        self.goto.extend(sends.into_iter().map(Target::Send));
        self
    }

    /// The node destinations (not `END`, not sends).
    pub fn goto_names(&self) -> Vec<&str> {
        self.goto
            .iter()
            .filter_map(|t| match t {
                Target::Node(n) => Some(n.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// The update, if any.
    pub fn update_ref(&self) -> Option<&S::Update> {
        self.update.as_ref()
    }

    /// The resume values, if any.
    pub fn resume_ref(&self) -> Option<&Resume> {
        self.resume.as_ref()
    }
}
