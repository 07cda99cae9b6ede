//! Task records saved against a checkpoint: outputs, interrupts, resume values, errors.

use std::collections::{BTreeMap, HashMap};

use langgraph_checkpoint::{ERROR, INTERRUPT, JOURNAL, PendingWrite, RESUME, RESUME_MAP, WRITES};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::{NodeExec, Shape};
use crate::error::RunError;
use crate::node::NodeOutput;
use crate::state::State;
use crate::types::{Command, Interrupt, SendTo, Target};

/// Where a stored command goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum SavedTarget {
    Node(String),
    End,
    Send { node: String, arg: Value },
}

/// A task's output as stored in a pending write.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct SavedOutput {
    update: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    goto: Option<Vec<SavedTarget>>,
}

impl SavedOutput {
    /// Encodes a node output as a pending-write value.
    pub(crate) fn encode<S: State>(out: &NodeOutput<S>, shape: &Shape) -> Result<Value, RunError> {
        serde_json::to_value(Self::of(out, shape)?)
            .map_err(|e| RunError::serde("a task's output", e))
    }

    /// A node output in its stored form.
    pub(crate) fn of<S: State>(out: &NodeOutput<S>, _shape: &Shape) -> Result<Self, RunError> {
        let (update, goto) = match out {
            NodeOutput::Update(u) => (serde_json::to_value(u), None),
            NodeOutput::Command(c) => (
                match &c.update {
                    Some(u) => serde_json::to_value(u),
                    None => Ok(Value::Object(serde_json::Map::new())),
                },
                Some(&c.goto),
            ),
        };
        let update = update.map_err(|e| RunError::serde("a task's update", e))?;
        let goto = match goto {
            None => None,
            Some(targets) => Some(
                targets
                    .iter()
                    .map(|t| {
                        Ok(match t {
                            Target::Node(n) => SavedTarget::Node(n.to_string()),
                            Target::End => SavedTarget::End,
                            Target::Send(s) => SavedTarget::Send {
                                node: s.node().to_string(),
                                arg: s
                                    .arg_json()
                                    .map_err(|e| RunError::serde("a SendTo payload", e))?,
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, RunError>>()?,
            ),
        };
        Ok(SavedOutput { update, goto })
    }

    /// Decodes a stored output back into a node output.
    pub(crate) fn decode<S: State>(
        &self,
        shape: &Shape,
        exec: &[NodeExec<S>],
    ) -> Result<NodeOutput<S>, RunError> {
        let update: S::Update = serde_json::from_value(self.update.clone())
            .map_err(|e| RunError::serde("a stored task update", e))?;
        let Some(goto) = &self.goto else {
            return Ok(NodeOutput::Update(update));
        };
        let mut cmd = Command::<S>::new().update(update);
        for t in goto {
            cmd = match t {
                SavedTarget::Node(n) => cmd.and_goto(n.clone()),
                SavedTarget::End => cmd.and_goto(crate::types::END),
                SavedTarget::Send { node, arg } => {
                    let id = shape.id(node).ok_or_else(|| RunError::UnknownNode {
                        context: "a stored SendTo".into(),
                        name: node.clone(),
                    })?;
                    let arg = exec[id as usize]
                        .node
                        .decode_arg(arg.clone())
                        .map_err(|e| RunError::serde("a stored SendTo payload", e))?;
                    cmd.send(SendTo::from_arc(node.clone(), arg))
                }
            };
        }
        Ok(NodeOutput::Command(cmd))
    }

    /// The stored update as JSON.
    pub(crate) fn update_json(&self) -> &Value {
        &self.update
    }
}

/// Everything saved about one task of the superstep that follows a checkpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskRecord {
    pub(crate) name: String,
    pub(crate) output: Option<SavedOutput>,
    pub(crate) interrupts: Vec<Interrupt>,
    pub(crate) resume: Vec<Value>,
    /// Answers to interrupts of subgraphs the task called, by interrupt id.
    pub(crate) resume_by_id: BTreeMap<String, Value>,
    /// Journaled side-effect results, by key.
    pub(crate) journal: BTreeMap<String, Value>,
    pub(crate) error: Option<Value>,
    /// Set during a run when the output was queued for storage.
    pub(crate) stored: bool,
    /// Updates and destinations given with resumes ([`RESUME_UPDATE`] only).
    pub(crate) updates: Vec<SavedOutput>,
}

impl TaskRecord {
    /// The interrupts of task `task_id` still waiting for an answer: the task's open
    /// question, unless an answer for its position was already given, and the questions of
    /// subgraphs it called (namespace `sub_ns`) not answered yet.
    pub(crate) fn pending_interrupts(&self, task_id: &str, ns: &str) -> Vec<&Interrupt> {
        if self.output.is_some() {
            return Vec::new();
        }
        let open = crate::context::interrupt_id(task_id, self.resume.len());
        self.interrupts
            .iter()
            .filter(|i| {
                if i.ns == ns {
                    i.id == open
                } else {
                    !self.resume_by_id.contains_key(&i.id)
                }
            })
            .collect()
    }
}

/// The task id under which a resume value is kept when it was given while no interrupt was
/// pending (a thread paused at a breakpoint, or edited with `update_state` after it asked).
/// The first `interrupt()` of the next superstep that has no answer of its own takes it. A
/// stored empty list marks it taken. Task ids are UUIDs, so this one is never a real task's.
pub(crate) const KEPT_ANSWER: &str = "~kept-answer";

/// The task id of the mark a run leaves on its last checkpoint when it stops at a static
/// breakpoint (`interrupt_before` / `interrupt_after`): an empty list of interrupts, so that
/// the thread lists as waiting (`ThreadStatus::Interrupted`, the rule of a task with a write on
/// `__interrupt__` and no output) until a run goes on from there. No task is due under this
/// id, so `get_state` shows no question for it, as for any breakpoint.
pub(crate) const BREAKPOINT: &str = "~breakpoint";

/// The mark of a pause at a static breakpoint (see [`BREAKPOINT`]).
pub(crate) fn breakpoint_mark() -> PendingWrite {
    reserved_write(BREAKPOINT, INTERRUPT, Value::Array(Vec::new()))
}

/// The task id under which the update and destinations of a `Command` that also resumes are
/// stored, on the checkpoint it resumes. The update is applied once, with that superstep's
/// writes and before the tasks' own, when the superstep commits; the destinations run in that
/// superstep, beside the resumed tasks.
pub(crate) const RESUME_UPDATE: &str = "~resume-update";

/// The channel of [`RESUME_UPDATE`]'s writes: the commands' updates and destinations (as
/// [`SavedOutput`]s), in the order they were given.
pub(crate) const UPDATES: &str = "__updates__";

/// The pending writes of `t` grouped by task id; one that cannot be read is a
/// [`CheckpointError::Corrupt`](langgraph_checkpoint::CheckpointError) naming the thread and
/// the checkpoint.
pub(crate) fn records_of(
    t: &langgraph_checkpoint::CheckpointTuple,
) -> Result<HashMap<String, TaskRecord>, RunError> {
    records(&t.pending_writes).map_err(|e| {
        langgraph_checkpoint::CheckpointError::corrupt(
            &t.thread_id,
            &t.checkpoint.id,
            format!("a pending write: {e}"),
        )
        .into()
    })
}

/// A stored value of checkpoint `checkpoint_id` of `thread_id` that does not decode into this
/// graph's types (a task's update, a `SendTo` payload) becomes a
/// [`CheckpointError::Corrupt`](langgraph_checkpoint::CheckpointError) naming them; other errors
/// pass through.
pub(crate) fn named_if_unreadable<T>(
    result: Result<T, RunError>,
    thread_id: &str,
    checkpoint_id: &str,
) -> Result<T, RunError> {
    result.map_err(|e| match e {
        RunError::Serde { .. } => {
            langgraph_checkpoint::CheckpointError::corrupt(thread_id, checkpoint_id, e).into()
        }
        e => e,
    })
}

/// A pending write of one of the reserved task ids ([`KEPT_ANSWER`], [`RESUME_UPDATE`]).
pub(crate) fn reserved_write(task_id: &str, channel: &str, value: Value) -> PendingWrite {
    PendingWrite {
        task_id: task_id.to_string(),
        task_name: String::new(),
        channel: channel.to_string(),
        value,
    }
}

/// Groups pending writes by task id.
pub(crate) fn records(writes: &[PendingWrite]) -> Result<HashMap<String, TaskRecord>, RunError> {
    let mut map: HashMap<String, TaskRecord> = HashMap::new();
    for w in writes {
        let r = map.entry(w.task_id.clone()).or_default();
        r.name.clone_from(&w.task_name);
        match w.channel.as_str() {
            WRITES => {
                r.output = Some(
                    serde_json::from_value(w.value.clone())
                        .map_err(|e| RunError::serde("a stored task output", e))?,
                )
            }
            INTERRUPT => {
                let list: Vec<Interrupt> = serde_json::from_value(w.value.clone())
                    .map_err(|e| RunError::serde("a stored interrupt", e))?;
                r.interrupts = list;
            }
            RESUME => {
                r.resume = serde_json::from_value(w.value.clone())
                    .map_err(|e| RunError::serde("stored resume values", e))?;
            }
            RESUME_MAP => {
                r.resume_by_id = serde_json::from_value(w.value.clone())
                    .map_err(|e| RunError::serde("stored resume values", e))?;
            }
            JOURNAL => {
                r.journal = serde_json::from_value(w.value.clone())
                    .map_err(|e| RunError::serde("a stored journal", e))?;
            }
            ERROR => r.error = Some(w.value.clone()),
            UPDATES => {
                r.updates = serde_json::from_value(w.value.clone())
                    .map_err(|e| RunError::serde("updates stored with a resume", e))?;
            }
            _ => {}
        }
    }
    Ok(map)
}
