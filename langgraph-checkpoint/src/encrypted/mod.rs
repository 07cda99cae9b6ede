//! [`Encrypted`]: any saver, with what a run puts into its checkpoints stored encrypted
//! (feature `encryption`).
//!
//! Channel values (whole or as deltas), pending writes (node outputs, questions, answers,
//! errors) and the arguments of pending `Send`s are sealed with AES-256-GCM before the inner
//! saver sees them, and opened again when a checkpoint is read. What savers need to find and
//! order checkpoints stays readable: thread ids, namespaces, checkpoint ids, versions, node
//! names, the metadata (`source`, `step`, `parents`, the writers, and the run's metadata,
//! which `list` filters on) and the timestamps. Arrays are sealed item by item (a delta of an
//! append channel is sealed as the items it adds), so the number of items in a list shows.
//!
//! Values stored before encryption was turned on are still read (they have no seal); a value
//! that does not open (a wrong key, altered bytes) is [`CheckpointError::Corrupt`] naming the
//! thread and checkpoint. To change the key, seal with the new one and keep opening with the
//! old ([`Encrypted::also_decrypt_with`]) until old threads are gone or were pruned.

mod cipher;
mod saver;

pub use cipher::{EncryptionKey, KeyError};

use cipher::Cipher;

use crate::error::CheckpointError;
use crate::model::{BlobValue, CheckpointTuple, PendingWrite, PutCheckpoint, PutWrites, SaveOp};

/// A saver that stores checkpoints encrypted in the saver it wraps.
///
/// ```
/// use langgraph_checkpoint::{
///     Blob, BlobValue, Checkpoint, CheckpointMetadata, Checkpointer, Encrypted, EncryptionKey,
///     Fence, InMemorySaver, PutCheckpoint, Source, new_checkpoint_id,
/// };
/// use serde_json::json;
/// use std::sync::Arc;
///
/// # futures::executor::block_on(async {
/// // In production: EncryptionKey::from_env("LANGGRAPH_AES_KEY").unwrap()
/// let key = EncryptionKey::generate();
/// let plain = Arc::new(InMemorySaver::new());
/// let saver = Encrypted::new(plain.clone(), key);
///
/// let mut checkpoint = Checkpoint::with_id(new_checkpoint_id());
/// checkpoint.channel_versions.insert("card".into(), checkpoint.id.clone());
/// let put = PutCheckpoint {
///     thread_id: "t".into(),
///     ns: String::new(),
///     metadata: CheckpointMetadata::new(Source::Input, -1),
///     parent_id: None,
///     expected_head: None,
///     blobs: vec![Blob {
///         channel: "card".into(),
///         version: checkpoint.id.clone(),
///         value: BlobValue::Full { value: json!("4111 1111 1111 1111") },
///     }],
///     checkpoint,
///     parent_writes: Vec::new(),
///     fence: Fence::claim_from(0),
/// };
/// saver.put(put).await.unwrap();
/// // Read through the wrapper: the value. Read from the saver underneath: a sealed string.
/// let read = saver.clone().head("t", "").await.unwrap().checkpoint.unwrap();
/// assert_eq!(read.values["card"], json!("4111 1111 1111 1111"));
/// let stored = plain.head("t", "").await.unwrap().checkpoint.unwrap();
/// assert!(!stored.values["card"].to_string().contains("4111"));
/// # });
/// ```
#[derive(Clone)]
pub struct Encrypted<S> {
    inner: S,
    cipher: Cipher,
}

impl<S> std::fmt::Debug for Encrypted<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encrypted").finish_non_exhaustive()
    }
}

impl<S> Encrypted<S> {
    /// Wraps `inner`: what it stores from now on is sealed with `key`.
    pub fn new(inner: S, key: EncryptionKey) -> Self {
        Self {
            inner,
            cipher: Cipher::new(&key),
        }
    }

    /// Also opens values sealed with `old` (a key being rotated out); new values are sealed
    /// with the key given to [`new`](Self::new).
    pub fn also_decrypt_with(mut self, old: EncryptionKey) -> Self {
        self.cipher.also_open_with(&old);
        self
    }

    /// The wrapped saver (what it returns is sealed).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn sealed(&self, value: &serde_json::Value) -> Result<serde_json::Value, CheckpointError> {
        self.cipher
            .seal(value)
            .map_err(|e| CheckpointError::backend("encrypt", e))
    }

    fn seal_writes(&self, writes: &mut [PendingWrite]) -> Result<(), CheckpointError> {
        for w in writes {
            w.value = self.sealed(&w.value)?;
        }
        Ok(())
    }

    fn seal_put(&self, mut put: PutCheckpoint) -> Result<PutCheckpoint, CheckpointError> {
        for blob in &mut put.blobs {
            match &mut blob.value {
                BlobValue::Full { value } => *value = self.sealed(value)?,
                BlobValue::Delta { items, .. } => *items = self.sealed(items)?,
            }
        }
        for send in &mut put.checkpoint.sends {
            send.arg = self.sealed(&send.arg)?;
        }
        self.seal_writes(&mut put.parent_writes)?;
        Ok(put)
    }

    fn seal_put_writes(&self, mut w: PutWrites) -> Result<PutWrites, CheckpointError> {
        self.seal_writes(&mut w.writes)?;
        Ok(w)
    }

    fn seal_ops(&self, ops: Vec<SaveOp>) -> Result<Vec<SaveOp>, CheckpointError> {
        ops.into_iter()
            .map(|op| {
                Ok(match op {
                    SaveOp::Checkpoint(put) => SaveOp::Checkpoint(self.seal_put(put)?),
                    SaveOp::Writes(w) => SaveOp::Writes(self.seal_put_writes(w)?),
                })
            })
            .collect()
    }

    fn open_tuple(&self, mut t: CheckpointTuple) -> Result<CheckpointTuple, CheckpointError> {
        let corrupt = |t: &CheckpointTuple, what: &str, e: String| {
            CheckpointError::corrupt(&t.thread_id, &t.checkpoint.id, format!("{what}: {e}"))
        };
        let values = std::mem::take(&mut t.values);
        for (channel, value) in values {
            let opened = self
                .cipher
                .open(value)
                .map_err(|e| corrupt(&t, &format!("channel `{channel}`"), e))?;
            t.values.insert(channel, opened);
        }
        for i in 0..t.pending_writes.len() {
            let value = std::mem::take(&mut t.pending_writes[i].value);
            t.pending_writes[i].value = self.cipher.open(value).map_err(|e| {
                let w = &t.pending_writes[i];
                corrupt(
                    &t,
                    &format!("write of task `{}` to `{}`", w.task_name, w.channel),
                    e,
                )
            })?;
        }
        for i in 0..t.checkpoint.sends.len() {
            let arg = std::mem::take(&mut t.checkpoint.sends[i].arg);
            t.checkpoint.sends[i].arg = self
                .cipher
                .open(arg)
                .map_err(|e| corrupt(&t, "a pending Send's argument", e))?;
        }
        Ok(t)
    }
}
