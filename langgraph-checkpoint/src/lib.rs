//! Checkpoints: the stored model, the [`Checkpointer`] contract and the savers.
//!
//! The engine snapshots a run at every superstep as a [`Checkpoint`] (channel versions, next
//! tasks, barriers) plus [`Blob`]s for the channels that changed, and records each finished
//! task's output as a [`PendingWrite`] so that a crash or an interrupt never re-runs a task
//! that had finished. Everything here is plain data in JSON; no engine logic lives in this
//! crate.
//!
//! # Example
//!
//! ```
//! use langgraph_checkpoint::{Checkpoint, CheckpointMetadata, Source};
//!
//! let mut cp = Checkpoint::empty();
//! cp.next.push("agent".into()); // names and ids are `SharedStr`s
//! let meta = CheckpointMetadata::new(Source::Loop, 0);
//! assert_eq!(meta.source.as_str(), "loop");
//! let json = serde_json::to_string(&cp).unwrap();
//! assert!(json.contains("\"next\":[\"agent\"]"));
//! ```

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod assemble;
#[cfg(feature = "test-utils")]
pub mod conformance;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod encode;
#[cfg(feature = "encryption")]
mod encrypted;
mod error;
#[cfg(feature = "sqlite")]
mod filter_sql;
mod id;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod listing;
mod memory;
mod model;
#[cfg(feature = "postgres")]
mod postgres;
mod prune;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod prune_rows;
pub mod resolve;
mod saver;
mod shared_str;
mod small_map;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod spin;
#[cfg(feature = "sqlite")]
mod sqlite;
mod stats;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod stored_blobs;
mod thread_status;
mod threads;
mod timestamp;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod value_cache;

/// The attribute for implementing [`Checkpointer`] (its methods are `async`).
pub use async_trait::async_trait;
#[cfg(feature = "encryption")]
pub use encrypted::{Encrypted, EncryptionKey, KeyError};
pub use error::CheckpointError;
pub use memory::InMemorySaver;
pub use model::{
    Blob, BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, ERROR, FORMAT_VERSION, Fence,
    Head, INTERRUPT, JOURNAL, ListOptions, PendingWrite, PutCheckpoint, PutNow, PutWrites, RESUME,
    RESUME_MAP, SaveOp, SendRecord, Source, WRITES, new_checkpoint_id, next_checkpoint_id,
};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresSaver};
pub use prune::Prune;
pub use saver::Checkpointer;
pub use shared_str::SharedStr;
pub use small_map::SmallMap;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteSaver, Synchronous};
pub use stats::StorageStats;
pub use thread_status::ThreadStatus;
pub use threads::{ThreadInfo, ThreadQuery, sweep};
