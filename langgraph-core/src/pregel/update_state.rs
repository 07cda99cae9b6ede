//! `update_state`: a state edit applied as if a node had written it, its edges firing, stored
//! as a checkpoint with source `update`.

use std::sync::Arc;

use langgraph_checkpoint::{CheckpointError, Checkpointer, Source};

use super::persist::Persist;
use super::plan::NodeId;
use super::run_loop::Loop;
use crate::config::Durability;
use crate::error::RunError;
use crate::state::State;
use crate::types::START;

impl<S: State> Loop<'_, S> {
    /// `update_state`: applies `update` as if node `as_node` had written it, with its edges
    /// firing, and stores a checkpoint with source `update`. Returns the checkpoint id.
    pub(crate) async fn update_state(
        &mut self,
        saver: Arc<dyn Checkpointer>,
        update: S::Update,
        as_node: Option<&str>,
    ) -> Result<String, RunError> {
        let cfg = &self.scope.config;
        let thread = cfg
            .thread_id
            .clone()
            .ok_or(RunError::NoThread("update_state"))?;
        let ns = self.scope.ns.clone();
        let head = saver.head(&thread, &ns).await?;
        let head_id = head.checkpoint.as_ref().map(|c| c.checkpoint.id.clone());
        let base = match &cfg.checkpoint_id {
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
        self.persist = Some(persist);
        let shape = &self.prog.shape;
        let from: usize = match as_node {
            Some(START) => shape.start(),
            Some(name) => shape.id(name).ok_or_else(|| {
                RunError::InvalidStateUpdate(format!("node `{name}` does not exist"))
            })? as usize,
            None => match &base {
                None => shape.start(),
                Some(b) => match b.metadata.writers.as_slice() {
                    [w] if w == START => shape.start(),
                    [w] => shape.id(w).map(|i| i as usize).ok_or_else(|| {
                        RunError::InvalidStateUpdate(format!(
                            "the checkpoint was written by `{w}`, which is not a node; pass as_node"
                        ))
                    })?,
                    [] => shape.start(),
                    many => {
                        return Err(RunError::InvalidStateUpdate(format!(
                            "the checkpoint was written by several nodes ({}); pass as_node",
                            many.join(", ")
                        )));
                    }
                },
            },
        };
        let writer = if from == shape.start() {
            START.to_string()
        } else {
            shape.name(from as NodeId).to_string()
        };
        if let Some(b) = &base {
            self.load(b)?;
        } else {
            self.step = -1;
        }
        self.apply_input(update)?;
        self.control.clear_scheduled();
        self.route_from(from, &[])?;
        self.step += 1;
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
            vec![writer.into()],
            langgraph_checkpoint::SmallMap::new(),
            None,
            Vec::new(),
        )?;
        p.queue.flush().await?;
        Ok(st.id.to_string())
    }
}
