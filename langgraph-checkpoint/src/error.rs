//! The error type of every saver operation.

/// What went wrong while reading or writing checkpoints.
///
/// Every variant that concerns stored data names the thread (and checkpoint where known), so a
/// log line is enough to find the row.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Another run wrote to the thread since this run read it (optimistic concurrency). Nothing
    /// of this write was stored; the other run's checkpoints are intact.
    #[error(
        "thread `{thread_id}` was changed by another run ({detail}); nothing was written. \
         Re-read the thread state and retry, or use another thread id"
    )]
    Conflict {
        /// The thread that was written concurrently.
        thread_id: String,
        /// What did not match (epoch or head checkpoint).
        detail: String,
    },
    /// A stored row could not be decoded (corrupt, truncated or written by an incompatible
    /// version).
    #[error("checkpoint `{checkpoint_id}` of thread `{thread_id}` cannot be read: {reason}")]
    Corrupt {
        /// Thread of the unreadable row.
        thread_id: String,
        /// Checkpoint of the unreadable row (empty if the row is not tied to one checkpoint).
        checkpoint_id: String,
        /// Why decoding failed.
        reason: String,
    },
    /// A row was written with a format version this build does not know.
    #[error(
        "checkpoint `{checkpoint_id}` of thread `{thread_id}` has format version {found}, \
         this build reads up to {supported}; upgrade the library to read it"
    )]
    UnsupportedFormat {
        /// Thread of the row.
        thread_id: String,
        /// Checkpoint of the row.
        checkpoint_id: String,
        /// The version found in the row.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },
    /// A checkpoint id that does not exist in the thread was asked for.
    #[error("checkpoint `{checkpoint_id}` does not exist in thread `{thread_id}`")]
    NotFound {
        /// The thread searched.
        thread_id: String,
        /// The missing checkpoint id.
        checkpoint_id: String,
    },
    /// A value could not be serialized before it was written.
    #[error("cannot serialize {what}: {source}")]
    Serialize {
        /// What was being serialized.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The storage backend failed (I/O, connection, SQL).
    #[error("checkpoint storage failed during {operation}: {source}")]
    Backend {
        /// The saver operation that failed.
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CheckpointError {
    /// A database whose schema version `found` is newer than the `supported` one of this build
    /// (no thread or checkpoint: the whole database is refused).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn newer_schema(found: i64, supported: i64) -> Self {
        Self::UnsupportedFormat {
            thread_id: String::new(),
            checkpoint_id: String::new(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: u32::try_from(supported).unwrap_or(u32::MAX),
        }
    }

    /// A write to `thread_id` refused because another writer owns the thread or moved its head.
    pub fn conflict(thread_id: &str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            thread_id: thread_id.to_string(),
            detail: detail.into(),
        }
    }

    /// An unreadable row of `checkpoint_id` in `thread_id`.
    pub fn corrupt(thread_id: &str, checkpoint_id: &str, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            thread_id: thread_id.to_string(),
            checkpoint_id: checkpoint_id.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Wraps a backend error for `operation`.
    pub fn backend(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            operation,
            source: source.into(),
        }
    }

    /// True when the error is an optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_thread_and_checkpoint() {
        let e = CheckpointError::corrupt("t1", "c9", "EOF");
        let s = e.to_string();
        assert!(
            s.contains("t1") && s.contains("c9") && s.contains("EOF"),
            "{s}"
        );
        let c = CheckpointError::Conflict {
            thread_id: "t".into(),
            detail: "epoch 3 != 4".into(),
        };
        assert!(c.is_conflict());
        assert!(!e.is_conflict());
        let b = CheckpointError::backend("put", std::io::Error::other("disk full"));
        assert!(b.to_string().contains("disk full"));
    }
}
