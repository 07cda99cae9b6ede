//! What the database savers store as text: JSON of the model types, and a checkpoint's blobs
//! as one JSON object keyed by channel (pure; the savers bind the strings).

use crate::error::CheckpointError;
use crate::model::{Blob, PutCheckpoint, PutWrites};

/// The conflict a database saver reports when a checkpoint's fence or head check failed.
pub(crate) fn put_conflict(put: &PutCheckpoint) -> CheckpointError {
    CheckpointError::conflict(
        &put.thread_id,
        format!(
            "checkpoint {} was not stored: another run wrote the thread (expected head {:?}, epoch {})",
            put.checkpoint.id, put.expected_head, put.fence.epoch
        ),
    )
}

/// The conflict a database saver reports when pending writes' fence check failed.
pub(crate) fn writes_conflict(w: &PutWrites) -> CheckpointError {
    CheckpointError::conflict(&w.thread_id, "the writer's epoch is stale")
}

/// `v` as JSON text; `what` names it in the error.
pub(crate) fn to_json<T: serde::Serialize>(what: &str, v: &T) -> Result<String, CheckpointError> {
    serde_json::to_string(v).map_err(|source| CheckpointError::Serialize {
        what: what.to_string(),
        source,
    })
}

/// The blobs of one checkpoint as a JSON object `{channel: blob}`.
pub(crate) fn blobs_json(blobs: &[Blob]) -> Result<String, CheckpointError> {
    let mut out = serde_json::Map::new();
    for b in blobs {
        let v = serde_json::to_value(&b.value).map_err(|source| CheckpointError::Serialize {
            what: format!("channel `{}`", b.channel),
            source,
        })?;
        out.insert(b.channel.to_string(), v);
    }
    Ok(serde_json::Value::Object(out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlobValue;
    use serde_json::{Value, json};

    #[test]
    fn blobs_are_keyed_by_channel() {
        let blobs = vec![
            Blob {
                channel: "a".into(),
                version: "v1".into(),
                value: BlobValue::Full { value: json!(1) },
            },
            Blob {
                channel: "b".into(),
                version: "v1".into(),
                value: BlobValue::Full { value: json!("x") },
            },
        ];
        let v: Value = serde_json::from_str(&blobs_json(&blobs).unwrap()).unwrap();
        assert_eq!(v["a"]["value"], 1);
        assert_eq!(v["b"]["value"], "x");
        assert_eq!(to_json("n", &3).unwrap(), "3");
    }
}
