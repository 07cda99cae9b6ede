//! `StateSnapshot`: a thread as seen at one checkpoint.

use langgraph_checkpoint::{CheckpointMetadata, CheckpointTuple};
use serde_json::Value;

use crate::context::{TaskPath, task_id};
use crate::error::RunError;
use crate::pregel::persist::load_state;
use crate::pregel::saved::{RESUME_UPDATE, named_if_unreadable, records_of};
use crate::state::State;
use crate::types::Interrupt;
use crate::write_set::StepWrites;

/// A task that is due at a checkpoint, with what is known about its execution.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSnapshot {
    /// The task's stable id.
    pub id: String,
    /// The node.
    pub name: String,
    /// Interrupts it raised.
    pub interrupts: Vec<Interrupt>,
    /// The error it failed with, if it failed.
    pub error: Option<String>,
    /// The update it wrote, if it finished (as JSON).
    pub result: Option<Value>,
    /// The namespace a subgraph called by this task stores its checkpoints in: read (or edit
    /// with `update_state`) the subgraph's own state with
    /// `RunConfig::checkpoint_ns(task.subgraph_ns)` on the subgraph's compiled graph.
    ///
    /// When the task waits for a question a subgraph asked, this names the subgraph run that
    /// asked. Otherwise it names the task's first subgraph run: its second and later runs are
    /// stored under it followed by `#2`, `#3`, …, and a subgraph with a history per thread
    /// ([`Persistence::PerThread`](crate::Persistence::PerThread)) under the node's name
    /// instead (without the task id).
    pub subgraph_ns: String,
}

/// The state of a thread at one checkpoint.
#[derive(Debug, Clone)]
pub struct StateSnapshot<S> {
    /// The channel values.
    pub values: S,
    /// The nodes of the tasks that run next, one entry per task (a node with three pending
    /// `SendTo` tasks appears three times); empty when the thread finished.
    pub next: Vec<String>,
    /// The tasks due at this checkpoint.
    pub tasks: Vec<TaskSnapshot>,
    /// Interrupts raised by those tasks.
    pub interrupts: Vec<Interrupt>,
    /// The checkpoint (`None` for a thread that has none).
    pub checkpoint_id: Option<String>,
    /// The checkpoint it follows.
    pub parent_checkpoint_id: Option<String>,
    /// Source, step, writers and user metadata.
    pub metadata: Option<CheckpointMetadata>,
    /// When the checkpoint was written.
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The namespace of the subgraph run, called by a task of the graph at namespace `ns`, that
/// one of the task's `interrupts` came from (`None` when the task asked itself).
fn asked_from(ns: &str, interrupts: &[Interrupt]) -> Option<String> {
    let depth = if ns.is_empty() {
        0
    } else {
        ns.split('|').count()
    };
    interrupts.iter().find_map(|i| {
        let parts: Vec<&str> = i.ns.split('|').filter(|p| !p.is_empty()).collect();
        (parts.len() > depth).then(|| parts[..=depth].join("|"))
    })
}

impl<S: State> StateSnapshot<S> {
    /// The snapshot of a thread without checkpoints.
    pub fn empty() -> Self {
        Self {
            values: S::default(),
            next: Vec::new(),
            tasks: Vec::new(),
            interrupts: Vec::new(),
            checkpoint_id: None,
            parent_checkpoint_id: None,
            metadata: None,
            created_at: None,
        }
    }

    /// The superstep counter of the checkpoint (`None` without one).
    pub fn step(&self) -> Option<i64> {
        self.metadata.as_ref().map(|m| m.step)
    }

    /// Builds a snapshot. With `apply_pending`, writes of tasks that already finished are
    /// applied to the values and those tasks leave `next` (the view of a paused or failed
    /// superstep).
    pub(crate) fn from_tuple(
        mut t: CheckpointTuple,
        apply_pending: bool,
    ) -> Result<Self, RunError> {
        let mut values: S = load_state(&mut t)?;
        let t = &t;
        let recs = records_of(t)?;
        let step = t.metadata.step + 1;
        let cp = &t.checkpoint;
        let mut due: Vec<(String, TaskPath)> = cp
            .next
            .iter()
            .map(|n| (n.to_string(), TaskPath::Pull))
            .collect();
        due.extend(
            cp.sends
                .iter()
                .enumerate()
                .map(|(i, s)| (s.node.clone(), TaskPath::Push(i as u32))),
        );
        let mut tasks = Vec::new();
        let mut next = Vec::new();
        let mut scratch = StepWrites::new(S::info().channels.len());
        if apply_pending && let Some(r) = recs.get(RESUME_UPDATE) {
            // Updates given with a resume join the superstep's writes, before the tasks'.
            for u in &r.updates {
                let update =
                    stored_update::<S>(t, u.update_json(), "an update stored with a resume")?;
                scratch.set_writer(crate::write_set::INPUT_WRITER);
                let _ = values.apply(update, &mut scratch);
            }
        }
        for (name, path) in due {
            let id = task_id(&cp.id, &t.ns, step, &name, path);
            let rec = recs.get(&id);
            // START's write at the live head is an input no run has applied yet (staged with
            // `stage_input`): not a result, and START stays due.
            let staged = apply_pending && name == crate::types::START;
            let result = rec
                .and_then(|r| r.output.as_ref())
                .filter(|_| !staged)
                .map(|o| o.update_json().clone());
            let finished = result.is_some();
            if apply_pending
                && !staged
                && let Some(r) = rec.and_then(|r| r.output.as_ref())
            {
                let update = stored_update::<S>(t, r.update_json(), "a stored task update")?;
                scratch.clear();
                let _ = values.apply(update, &mut scratch);
            }
            if !(apply_pending && finished) {
                next.push(name.clone());
            }
            // On the live head, a finished task's interrupts were answered: only open ones show.
            let interrupts = match rec {
                Some(r) if !(apply_pending && finished) => r.interrupts.clone(),
                _ => Vec::new(),
            };
            tasks.push(TaskSnapshot {
                id: id.clone(),
                name: name.clone(),
                interrupts,
                error: rec.and_then(|r| r.error.as_ref()).map(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                }),
                result,
                subgraph_ns: rec
                    .and_then(|r| asked_from(&t.ns, &r.interrupts))
                    .unwrap_or_else(|| crate::subgraph::child_ns(&t.ns, &name, &id)),
            });
        }
        let interrupts = tasks.iter().flat_map(|t| t.interrupts.clone()).collect();
        Ok(Self {
            values,
            next,
            tasks,
            interrupts,
            checkpoint_id: Some(cp.id.to_string()),
            parent_checkpoint_id: t.parent_id.clone(),
            metadata: Some(t.metadata.clone()),
            created_at: Some(cp.ts),
        })
    }
}

/// A stored update of checkpoint `t`, decoded; one that does not fit the state is a corrupt
/// checkpoint, named.
fn stored_update<S: State>(
    t: &CheckpointTuple,
    json: &Value,
    what: &str,
) -> Result<S::Update, RunError> {
    named_if_unreadable(
        serde_json::from_value(json.clone()).map_err(|e| RunError::serde(what, e)),
        &t.thread_id,
        &t.checkpoint.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(ns: &str) -> Interrupt {
        Interrupt {
            id: "i".into(),
            value: Value::Null,
            node: "n".into(),
            ns: ns.into(),
            schema: None,
        }
    }

    #[test]
    fn a_subgraphs_question_names_the_run_that_asked() {
        // The task asked itself: no subgraph.
        assert_eq!(asked_from("", &[asked("")]), None);
        assert_eq!(asked_from("outer:t1", &[asked("outer:t1")]), None);
        // A subgraph asked, directly or further down: the task's own child run.
        assert_eq!(asked_from("", &[asked("talk")]).as_deref(), Some("talk"));
        assert_eq!(
            asked_from("", &[asked("many:t2#2|inner:t3")]).as_deref(),
            Some("many:t2#2")
        );
        assert_eq!(
            asked_from("outer:t1", &[asked("outer:t1|call")]).as_deref(),
            Some("outer:t1|call")
        );
        assert_eq!(asked_from("", &[]), None);
    }
}
