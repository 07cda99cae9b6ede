//! Two ways a task ends without running its node normally: its output comes from the node
//! cache, or its error goes to an error handler that routes to a fallback node.

use super::run_loop::Loop;
use super::runner::TaskOutcome;
use super::saved::SavedOutput;
use crate::cache::entry_key;
use crate::error::{NodeError, RunError};
use crate::node::NodeOutput;
use crate::state::State;

impl<S: State> Loop<'_, S> {
    /// Takes the cached outputs of the superstep's tasks that have a cache policy, and
    /// remembers the keys of the others (their outputs are stored when the superstep ends).
    pub(crate) fn cached_outputs(
        &mut self,
        outcomes: &mut [Option<TaskOutcome<S>>],
        reused: &mut [bool],
    ) -> Result<(), RunError> {
        let Some(cache) = self.prog.cache.clone() else {
            return Ok(());
        };
        self.cache_keys.resize(self.tasks.len(), None);
        for i in 0..self.tasks.len() {
            let node = self.tasks[i].node;
            let Some(Some(policy)) = self.prog.cache_policy.get(node as usize) else {
                continue;
            };
            if reused[i] {
                continue;
            }
            let input = self.task_input_json(&self.tasks[i]);
            let name = self.prog.shape.name(node);
            let key = entry_key(&self.prog.name, name, policy, &input);
            let hit = cache
                .get(&key)
                .and_then(|v| serde_json::from_value::<SavedOutput>(v).ok())
                .and_then(|saved| saved.decode::<S>(&self.prog.shape, &self.prog.exec).ok());
            match hit {
                Some(out) => {
                    tracing::debug!(node = name, "cache hit");
                    outcomes[i] = Some(TaskOutcome::Done(out));
                    reused[i] = true;
                    if let Some(n) = self.tally.node(node) {
                        n.cache_hits += 1;
                    }
                }
                None => self.cache_keys[i] = Some(key),
            }
        }
        Ok(())
    }

    /// Stores the outputs of tasks that missed the cache.
    pub(crate) fn store_cached(&self, done: &[(usize, NodeOutput<S>)]) -> Result<(), RunError> {
        let Some(cache) = &self.prog.cache else {
            return Ok(());
        };
        for (i, out) in done {
            let Some(Some(key)) = self.cache_keys.get(*i) else {
                continue;
            };
            let node = self.tasks[*i].node;
            let ttl = self
                .prog
                .cache_policy
                .get(node as usize)
                .and_then(|p| p.as_ref())
                .and_then(|p| p.ttl);
            cache.put(key, SavedOutput::encode(out, &self.prog.shape)?, ttl);
        }
        Ok(())
    }

    /// The output of failed task `i` when its node has an error handler: the handler's update;
    /// the task then routes to the fallback only.
    pub(crate) fn handle_error(&mut self, i: usize, error: &NodeError) -> Option<NodeOutput<S>> {
        let node = self.tasks[i].node;
        let (fallback, handler) = self.prog.handlers.get(node as usize)?.as_ref()?;
        tracing::warn!(
            node = self.prog.shape.name(node),
            fallback = self.prog.shape.name(*fallback),
            error = %error,
            "node failed; going to its fallback"
        );
        self.fallback.resize(self.tasks.len(), None);
        self.fallback[i] = Some(*fallback);
        Some(NodeOutput::Update(handler(error)))
    }
}
