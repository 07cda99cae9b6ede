//! `update_state`: a state edit applied as if a node had written it, its edges firing, stored
//! as a checkpoint with source `update`.

use std::sync::Arc;

use langgraph_checkpoint::{CheckpointError, Checkpointer, Source};

use super::persist::Persist;
use super::plan::NodeId;
use super::run_loop::Loop;
use super::saved::{BREAKPOINT, breakpoint_mark};
use super::special_edits::Special;
use crate::config::Durability;
use crate::error::RunError;
use crate::state::State;
use crate::types::START;

/// One edit of `update_state`: `update` as if node `as_node` had written it (`None`: the node
/// that wrote the checkpoint it is applied to), or a special edit (see `special_edits.rs`).
pub(crate) type Edit<S> = (<S as State>::Update, Option<String>);

impl<S: State> Loop<'_, S> {
    /// `update_state` and `bulk_update_state`: applies each superstep's edits as if their
    /// nodes had written them side by side (a last-value key written twice is a conflict), with
    /// their edges firing, and stores one checkpoint with source `update` per superstep. Nothing
    /// is stored unless every superstep applies. Returns the last checkpoint's id.
    pub(crate) async fn update_state(
        &mut self,
        saver: Arc<dyn Checkpointer>,
        supersteps: Vec<Vec<Edit<S>>>,
    ) -> Result<String, RunError> {
        if supersteps.is_empty() || supersteps.iter().any(Vec::is_empty) {
            return Err(RunError::InvalidStateUpdate(
                "every superstep of a state update needs at least one edit".into(),
            ));
        }
        let special = supersteps
            .iter()
            .flatten()
            .find_map(|(_, as_node)| Special::of(as_node.as_deref()));
        if let Some(kind) = special
            && (supersteps.len() != 1 || supersteps.iter().flatten().count() != 1)
        {
            return Err(kind.not_alone());
        }
        let cfg = &self.scope.config;
        let thread = cfg
            .thread_id
            .clone()
            .ok_or(RunError::NoThread("update_state"))?;
        let ns = self.scope.ns.clone();
        let head = saver.head(&thread, &ns).await?;
        let head_id = head.checkpoint.as_ref().map(|c| c.checkpoint.id.clone());
        let mut base = match &cfg.checkpoint_id {
            Some(id) => Some(saver.get(&thread, &ns, id).await?.ok_or_else(|| {
                CheckpointError::NotFound {
                    thread_id: thread.clone(),
                    checkpoint_id: id.clone(),
                }
            })?),
            None => head.checkpoint,
        };
        let mut persist = Persist::new::<S>(
            saver,
            &self.scope,
            self.prog.saved_names(),
            thread,
            head.epoch,
            head_id,
        );
        persist.durability = Durability::Sync;
        persist.keep_next = self.wants_checkpoint_events();
        // An edit of a subgraph belongs to the call it edits (the same enclosing checkpoints).
        if let Some(b) = &base {
            persist.parents = b.metadata.parents.clone();
        }
        self.persist = Some(persist);
        // Who wrote the checkpoint the next superstep applies to.
        let mut last_writers: Vec<String> = match &base {
            Some(b) => b.metadata.writers.iter().map(|w| w.to_string()).collect(),
            None => Vec::new(),
        };
        if let Some(b) = &mut base {
            self.load(b)?;
        } else {
            self.step = -1;
        }
        if let Some(kind) = special {
            let update = supersteps
                .into_iter()
                .flatten()
                .next()
                .map(|(u, _)| u)
                .unwrap_or_default();
            let id = self.special_edit(kind, update, base.as_ref())?;
            if let Some(p) = &mut self.persist {
                p.queue.flush().await?;
            }
            return Ok(id);
        }
        // An edit as a node replaces a staged input: START is not due at the new checkpoint.
        self.due_input = None;
        // A dry run first: an edit that does not apply stores nothing of the others.
        let (state, control, step) = (self.state.clone(), self.control.clone(), self.step);
        let mut writers = last_writers.clone();
        for edits in &supersteps {
            writers = self.apply_edits(edits, &writers)?;
        }
        (self.state, self.control, self.step) = (state, control, step);
        let mut last_id = None;
        for edits in &supersteps {
            last_writers = self.apply_edits(edits, &last_writers)?;
            let Some(p) = &mut self.persist else {
                return Err(RunError::NoCheckpointer("update_state"));
            };
            p.record(&self.writes);
            let st = p.put(
                &self.state,
                &self.control,
                &self.prog.shape,
                Source::Update,
                self.step,
                last_writers.iter().map(|n| n.as_str().into()).collect(),
                langgraph_checkpoint::SmallMap::new(),
                None,
                Vec::new(),
            )?;
            last_id = Some(st.id.to_string());
        }
        let Some(p) = &mut self.persist else {
            return Err(RunError::NoCheckpointer("update_state"));
        };
        // An edit of a thread paused at a breakpoint leaves it paused while nodes are due.
        let due = !(self.control.pull.is_empty() && self.control.push.is_empty());
        if due && self.saved.contains_key(BREAKPOINT) {
            p.put_writes(vec![breakpoint_mark()]);
        }
        p.queue.flush().await?;
        last_id.ok_or_else(|| RunError::InvalidStateUpdate("nothing to update".into()))
    }

    /// Applies one superstep of edits side by side, fires their edges and advances the step.
    /// Returns the names of the nodes they count as written by.
    fn apply_edits(
        &mut self,
        edits: &[Edit<S>],
        writers: &[String],
    ) -> Result<Vec<String>, RunError> {
        let mut froms = Vec::with_capacity(edits.len());
        let mut names: Vec<String> = Vec::with_capacity(edits.len());
        self.writes.clear();
        for (k, (update, as_node)) in edits.iter().enumerate() {
            let from = self.edit_source(as_node.as_deref(), writers)?;
            let shape = &self.prog.shape;
            names.push(if from == shape.start() {
                START.to_string()
            } else {
                shape.name(from as NodeId).to_string()
            });
            froms.push(from);
            self.writes.set_writer(k as u32);
            self.state
                .apply(update.clone(), &mut self.writes)
                .map_err(|c| {
                    let channel = S::info()
                        .channels
                        .get(c.channel)
                        .map_or("?", |ch| ch.name)
                        .to_string();
                    RunError::InvalidStateUpdate(format!(
                        "`{}` and `{}` both write `{channel}` in one superstep of the update",
                        names.get(c.first as usize).map_or("?", String::as_str),
                        names.get(c.second as usize).map_or("?", String::as_str),
                    ))
                })?;
        }
        self.control.clear_scheduled();
        self.route_from_all(&froms)?;
        self.step += 1;
        Ok(names)
    }

    /// The node an edit counts as written by: `as_node`, or the single node that wrote the
    /// checkpoint it applies to (START on a thread that has none).
    fn edit_source(&self, as_node: Option<&str>, writers: &[String]) -> Result<usize, RunError> {
        let shape = &self.prog.shape;
        Ok(match as_node {
            Some(START) => shape.start(),
            Some(name) => shape.id(name).ok_or_else(|| {
                RunError::InvalidStateUpdate(format!("node `{name}` does not exist"))
            })? as usize,
            None => match writers {
                [] => shape.start(),
                [w] if w == START => shape.start(),
                [w] => shape.id(w).map(|i| i as usize).ok_or_else(|| {
                    RunError::InvalidStateUpdate(format!(
                        "the checkpoint was written by `{w}`, which is not a node; pass as_node"
                    ))
                })?,
                many => {
                    return Err(RunError::InvalidStateUpdate(format!(
                        "the checkpoint was written by several nodes ({}); pass as_node",
                        many.join(", ")
                    )));
                }
            },
        })
    }
}
