//! Matching the answers of a resume with the interrupts they answer, keeping an answer given
//! while nothing was asked (see [`KEPT_ANSWER`]), and the update and destinations given with a
//! resume (see [`RESUME_UPDATE`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use langgraph_checkpoint::{Checkpointer, PendingWrite, RESUME, RESUME_MAP};
use serde_json::Value;

use super::algo::{RouteError, resolve_goto};
use super::run_loop::Loop;
use super::saved::{
    KEPT_ANSWER, RESUME_UPDATE, SavedOutput, UPDATES, named_if_unreadable, records_of,
    reserved_write,
};
use crate::error::RunError;
use crate::node::NodeOutput;
use crate::state::State;
use crate::types::{Command, Resume, Target};

/// An update and destinations given with a resume.
type ResumeCommand<S> = (<S as State>::Update, Vec<Target>);

impl<S: State> Loop<'_, S> {
    /// Decodes an output stored against the current checkpoint; one that does not fit this
    /// graph's types is a corrupt checkpoint, named.
    pub(crate) fn decode_saved(&self, out: &SavedOutput) -> Result<NodeOutput<S>, RunError> {
        named_if_unreadable(
            out.decode(&self.prog.shape, &self.prog.exec),
            self.scope.config.thread_id.as_deref().unwrap_or(""),
            self.base.as_deref().unwrap_or(""),
        )
    }

    /// Keeps the update and destinations of a `Command` that also resumes: stored on the
    /// checkpoint it resumes, after any given before (see [`RESUME_UPDATE`]).
    pub(crate) fn stash_resume_command(
        &mut self,
        update: Option<S::Update>,
        goto: Vec<Target>,
    ) -> Result<(), RunError> {
        let mut cmd = Command::<S>::new();
        cmd.update = update;
        cmd.goto = goto;
        let saved = SavedOutput::of(&NodeOutput::Command(cmd), &self.prog.shape)?;
        let record = self.saved.entry(RESUME_UPDATE.to_string()).or_default();
        record.updates.push(saved);
        let value = serde_json::to_value(&record.updates)
            .map_err(|e| RunError::serde("the update of a resume", e))?;
        if let Some(p) = &mut self.persist {
            p.put_writes(vec![reserved_write(RESUME_UPDATE, UPDATES, value)]);
        }
        Ok(())
    }

    /// The updates and destinations given with resumes of the current checkpoint, decoded.
    fn resume_commands(&self) -> Result<Vec<ResumeCommand<S>>, RunError> {
        let Some(r) = self.saved.get(RESUME_UPDATE) else {
            return Ok(Vec::new());
        };
        r.updates
            .iter()
            .map(|o| {
                let (update, cmd) = self.decode_saved(o)?.into_parts();
                Ok((update, cmd.map(|c| c.goto).unwrap_or_default()))
            })
            .collect()
    }

    /// The updates given with resumes of the current checkpoint, to apply when its superstep
    /// commits.
    pub(crate) fn resume_updates(&self) -> Result<Vec<S::Update>, RunError> {
        Ok(self
            .resume_commands()?
            .into_iter()
            .map(|(u, _)| u)
            .collect())
    }

    /// Adds the destinations given with resumes of the current checkpoint to its superstep's
    /// tasks (a node already due runs once; sends come after the checkpoint's own).
    pub(crate) fn schedule_resume_gotos(&mut self) -> Result<(), RunError> {
        let mut routes = Vec::new();
        for (_, goto) in self.resume_commands()? {
            resolve_goto(&self.prog.shape, None, &goto, &mut routes).map_err(|e| match e {
                RouteError::Unknown { target } | RouteError::Undeclared { target, .. } => {
                    RunError::UnknownNode {
                        context: "the goto of a resume".into(),
                        name: target,
                    }
                }
            })?;
        }
        self.control.schedule(&self.prog.shape, &routes);
        Ok(())
    }

    /// Keeps `answer` for the first question asked from the current checkpoint that has no
    /// answer of its own (see [`KEPT_ANSWER`]), and stores it with the checkpoint when that is
    /// stored (under durability `exit`, a checkpoint past the run's first stays in memory, and
    /// so does the answer).
    pub(crate) fn keep_answer(&mut self, answer: Value) {
        let stored = (!self.unsaved).then(|| Value::Array(vec![answer.clone()]));
        self.saved
            .entry(KEPT_ANSWER.to_string())
            .or_default()
            .resume = vec![answer];
        if let (Some(p), Some(value)) = (&mut self.persist, stored) {
            p.put_writes(vec![reserved_write(KEPT_ANSWER, RESUME, value)]);
        }
    }

    /// Matches resume values with pending interrupts and stores them. A subgraph's question
    /// counts as pending only while the subgraph still waits for it: one whose subgraph was
    /// edited since (`update_state` in its namespace) is closed, so a single answer is kept
    /// for the question the subgraph asks when it runs again.
    pub(crate) async fn apply_resume(&mut self, resume: Resume) -> Result<(), RunError> {
        let ns = self.scope.ns.clone();
        let mut pending: Vec<(String, crate::types::Interrupt)> = Vec::new();
        for (tid, r) in &self.saved {
            for i in r.pending_interrupts(tid, &ns) {
                pending.push((tid.clone(), i.clone()));
            }
        }
        let saver = self.persist.as_ref().map(|p| p.saver.clone());
        let thread = self.scope.config.thread_id.clone();
        let closed = closed_subgraph_questions(saver, thread, &ns, &pending).await?;
        pending.retain(|(_, i)| !closed.contains(&i.id));
        pending.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        let answers: Vec<(String, crate::types::Interrupt, Value)> = match resume {
            Resume::Value(v) => match pending.len() {
                0 => {
                    // Nothing asked yet: keep the answer for the next question asked.
                    self.keep_answer(v);
                    return Ok(());
                }
                1 => pending
                    .into_iter()
                    .map(|(t, i)| (t, i, v.clone()))
                    .collect(),
                n => {
                    return Err(RunError::InvalidResume(format!(
                        "{n} interrupts are pending ({}); answer them by id with \
                         Command::resume_by_id",
                        pending
                            .iter()
                            .map(|(_, i)| format!("`{}` from {}", i.id, i.node))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            },
            Resume::ById(map) => {
                let mut out = Vec::new();
                for (id, v) in map {
                    let Some((t, i)) = pending.iter().find(|(_, i)| i.id == id) else {
                        return Err(RunError::InvalidResume(format!(
                            "no pending interrupt has id `{id}`"
                        )));
                    };
                    out.push((t.clone(), i.clone(), v));
                }
                out
            }
        };
        let mut writes = Vec::new();
        for (tid, interrupt, value) in answers {
            if let Some(schema) = &interrupt.schema {
                check_schema(schema, &value).map_err(|e| {
                    RunError::InvalidResume(format!(
                        "the answer to interrupt `{}` of node `{}` does not match its schema: {e}",
                        interrupt.id, interrupt.node
                    ))
                })?;
            }
            let Some(record) = self.saved.get_mut(&tid) else {
                continue;
            };
            if interrupt.ns == ns {
                record.resume.push(value);
                writes.push(PendingWrite {
                    task_id: tid,
                    task_name: record.name.clone(),
                    channel: RESUME.to_string(),
                    value: Value::Array(record.resume.clone()),
                });
            } else {
                // A subgraph's interrupt: answered by id, handed to the subgraph on re-run.
                record.resume_by_id.insert(interrupt.id.clone(), value);
                let map = record.resume_by_id.clone().into_iter().collect();
                writes.push(PendingWrite {
                    task_id: tid,
                    task_name: record.name.clone(),
                    channel: RESUME_MAP.to_string(),
                    value: Value::Object(map),
                });
            }
        }
        if let Some(p) = &mut self.persist {
            p.put_writes(writes);
        }
        Ok(())
    }
}

/// The ids of the subgraph questions among `pending` that their subgraph no longer waits for:
/// the head of the namespace the question was asked in has no such open question. `own_ns`
/// is the namespace of the run that resumes (its own questions are not looked up).
async fn closed_subgraph_questions(
    saver: Option<Arc<dyn Checkpointer>>,
    thread: Option<String>,
    own_ns: &str,
    pending: &[(String, crate::types::Interrupt)],
) -> Result<BTreeSet<String>, RunError> {
    let mut closed = BTreeSet::new();
    let (Some(saver), Some(thread)) = (saver, thread) else {
        return Ok(closed);
    };
    let mut namespaces: Vec<&str> = pending
        .iter()
        .map(|(_, i)| i.ns.as_str())
        .filter(|n| *n != own_ns)
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for sub_ns in namespaces {
        let open: BTreeSet<String> = match saver.head(&thread, sub_ns).await?.checkpoint {
            None => BTreeSet::new(),
            Some(t) => records_of(&t)?
                .iter()
                .flat_map(|(tid, r)| r.pending_interrupts(tid, sub_ns))
                .map(|i| i.id.clone())
                .collect(),
        };
        closed.extend(
            pending
                .iter()
                .filter(|(_, i)| i.ns == sub_ns && !open.contains(&i.id))
                .map(|(_, i)| i.id.clone()),
        );
    }
    Ok(closed)
}

/// Validates `value` against a JSON schema.
fn check_schema(schema: &Value, value: &Value) -> Result<(), String> {
    let v = jsonschema::validator_for(schema).map_err(|e| format!("invalid schema: {e}"))?;
    let errors: Vec<String> = v.iter_errors(value).map(|e| e.to_string()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
