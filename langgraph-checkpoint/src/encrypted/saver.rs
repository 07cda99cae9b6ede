//! [`Encrypted`] as a [`Checkpointer`]: writes are sealed, then handed to the inner saver;
//! what the inner saver reads is opened.

use super::Encrypted;
use crate::error::CheckpointError;
use crate::model::{CheckpointTuple, Fence, Head, ListOptions, PutCheckpoint, PutWrites, SaveOp};
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::threads::{ThreadInfo, ThreadQuery};

// `put_now` keeps the trait's default (the checkpoint is handed back and stored by `put`):
// a wrapped saver that stores at once would hand back the sealed checkpoint when it cannot,
// and the run would seal it twice.
#[async_trait::async_trait]
impl<S: Checkpointer> Checkpointer for Encrypted<S> {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        let head = self.inner.head(thread_id, ns).await?;
        Ok(Head {
            epoch: head.epoch,
            checkpoint: head.checkpoint.map(|t| self.open_tuple(t)).transpose()?,
        })
    }

    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        let found = self.inner.get(thread_id, ns, checkpoint_id).await?;
        found.map(|t| self.open_tuple(t)).transpose()
    }

    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        let found = self.inner.list(thread_id, ns, opts).await?;
        found.into_iter().map(|t| self.open_tuple(t)).collect()
    }

    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        self.inner.claim(thread_id, seen_epoch).await
    }

    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        self.inner.put(self.seal_put(put)?).await
    }

    async fn put_writes(&self, writes: PutWrites) -> Result<(), CheckpointError> {
        self.inner.put_writes(self.seal_put_writes(writes)?).await
    }

    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.inner.put_batch(self.seal_ops(ops)?).await
    }

    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        self.inner.put_batch_unsynced(self.seal_ops(ops)?).await
    }

    async fn sync(&self) -> Result<(), CheckpointError> {
        self.inner.sync().await
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.inner.delete_thread(thread_id).await
    }

    /// The inner saver prunes the sealed values as they are: a kept checkpoint stores its
    /// values again as sealed as they were.
    async fn prune(&self, thread_ids: &[&str], strategy: Prune) -> Result<(), CheckpointError> {
        self.inner.prune(thread_ids, strategy).await
    }

    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        self.inner.copy_thread(from, to).await
    }

    async fn threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadInfo>, CheckpointError> {
        self.inner.threads(query).await
    }
}
