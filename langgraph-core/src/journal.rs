//! The side-effect journal: [`Ctx::once`] runs a side effect at most once per task, however
//! often the task runs again (a retry, a resume after an interrupt, a restart after a crash).
//!
//! Results are kept on the task (for retries within a run) and stored as a pending write of
//! the checkpoint the task runs from, channel `__journal__`, before `once` returns; a task
//! that runs again from that checkpoint finds them there.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use langgraph_checkpoint::{Checkpointer, Fence, JOURNAL, PendingWrite, PutWrites};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::Ctx;
use crate::error::{BoxError, NodeError};

/// Where a run's tasks store journal entries: pending writes of the checkpoint a task runs
/// from, under the run's fence (one per run).
pub(crate) struct JournalTarget {
    pub(crate) saver: Arc<dyn Checkpointer>,
    pub(crate) thread_id: langgraph_checkpoint::SharedStr,
    pub(crate) ns: String,
    pub(crate) fence: Fence,
}

impl JournalTarget {
    async fn write(
        &self,
        checkpoint_id: &str,
        task_id: &str,
        task_name: &str,
        entries: BTreeMap<String, Value>,
    ) -> Result<(), NodeError> {
        let value = Value::Object(entries.into_iter().collect());
        self.saver
            .put_writes(PutWrites {
                thread_id: self.thread_id.clone(),
                ns: self.ns.clone(),
                checkpoint_id: checkpoint_id.into(),
                writes: vec![PendingWrite {
                    task_id: task_id.to_string(),
                    task_name: task_name.to_string(),
                    channel: JOURNAL.to_string(),
                    value,
                }],
                fence: self.fence.clone(),
            })
            .await
            .map_err(|e| NodeError::new(e).permanent())
    }
}

impl Ctx {
    /// Runs the side effect `effect` once for this task and key, and returns its result: when
    /// the task runs again (a retry, a resume after an interrupt, a restart after a crash),
    /// the recorded result is returned and `effect` is not polled.
    ///
    /// The result is stored with the task's pending writes before this returns (with a
    /// checkpointer; with durability `exit`, or without a checkpointer, it only survives
    /// retries). An error is not recorded: the next attempt runs the effect again. A crash
    /// between the effect and the recording repeats it; pass
    /// [`task_id`](Self::task_id) to the other system as an idempotency key to close that gap.
    ///
    /// ```
    /// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// use langgraph_core::{Ctx, NodeError, RetryPolicy, StateGraph, START, END};
    ///
    /// let charges = Arc::new(AtomicU32::new(0));
    /// let c = charges.clone();
    /// let g = StateGraph::<Review>::new()
    ///     .node("pay", move |_: &Review, ctx: Ctx| {
    ///         let c = c.clone();
    ///         async move {
    ///             let receipt: u32 = ctx
    ///                 .once("charge", async { Ok::<_, NodeError>(c.fetch_add(1, Ordering::SeqCst) + 1) })
    ///                 .await?;
    ///             if ctx.attempt() < 3 {
    ///                 return Err(NodeError::msg("flaky after the charge"));
    ///             }
    ///             Ok::<_, NodeError>(ReviewUpdate::new().rounds(receipt))
    ///         }
    ///     })
    ///     .retry("pay", RetryPolicy::new(3).initial_interval(std::time::Duration::ZERO))
    ///     .edge(START, "pay")
    ///     .edge("pay", END)
    ///     .compile()
    ///     .unwrap();
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let out = rt.block_on(g.invoke(Review::default(), &Default::default())).unwrap();
    /// assert_eq!(out.rounds, 1); // three attempts, one charge
    /// assert_eq!(charges.load(Ordering::SeqCst), 1);
    /// ```
    pub async fn once<T, E, F>(&self, key: &str, effect: F) -> Result<T, NodeError>
    where
        T: Serialize + DeserializeOwned,
        E: Into<BoxError>,
        F: Future<Output = Result<T, E>>,
    {
        let recorded = self
            .slot()
            .journal
            .as_ref()
            .and_then(|j| j.get(key).cloned());
        if let Some(v) = recorded {
            return T::deserialize(v).map_err(|e| {
                NodeError::msg(format!(
                    "the journaled result of `{key}` in node `{}` does not fit `{}`: {e}",
                    self.node(),
                    std::any::type_name::<T>()
                ))
                .permanent()
            });
        }
        let out = effect.await.map_err(|e| NodeError::from_boxed(e.into()))?;
        let v = serde_json::to_value(&out)?;
        let entries = {
            let mut slot = self.slot();
            let journal = slot.journal.get_or_insert_default();
            journal.insert(key.to_string(), v);
            journal.clone()
        };
        let step = self.step_ctx();
        if let (Some(j), Some(base)) = (&step.journal, &step.base) {
            j.write(base, self.task_id(), self.node(), entries).await?;
        }
        Ok(out)
    }
}
