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

/// The blobs of one checkpoint as a JSON object `{channel: blob}`, written in one pass.
pub(crate) fn blobs_json(blobs: &[Blob]) -> Result<String, CheckpointError> {
    struct ByChannel<'a>(&'a [Blob]);
    impl serde::Serialize for ByChannel<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let blobs = self.0;
            // A channel given twice keeps its last value (as a map insert would).
            let superseded = |i: usize| {
                blobs[i + 1..]
                    .iter()
                    .any(|later| later.channel == blobs[i].channel)
            };
            let mut map = s.serialize_map(None)?;
            for (i, b) in blobs.iter().enumerate() {
                if !superseded(i) {
                    map.serialize_entry(b.channel.as_str(), &b.value)?;
                }
            }
            map.end()
        }
    }
    serde_json::to_string(&ByChannel(blobs)).map_err(|source| {
        // Name the channel whose value failed (the error path only).
        let channel = blobs
            .iter()
            .find(|b| serde_json::to_vec(&b.value).is_err())
            .map_or("?", |b| b.channel.as_str());
        CheckpointError::Serialize {
            what: format!("channel `{channel}`"),
            source,
        }
    })
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
        let text = blobs_json(&blobs).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"]["value"], 1);
        assert_eq!(v["b"]["value"], "x");
        assert_eq!(
            text,
            r#"{"a":{"kind":"full","value":1},"b":{"kind":"full","value":"x"}}"#
        );
        // A channel given twice is written once, with its last value.
        let mut twice = blobs.clone();
        twice.push(Blob {
            channel: "a".into(),
            version: "v2".into(),
            value: BlobValue::Full { value: json!(2) },
        });
        let text = blobs_json(&twice).unwrap();
        assert_eq!(text.matches("\"a\"").count(), 1, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"]["value"], 2);
        assert_eq!(blobs_json(&[]).unwrap(), "{}");
        assert_eq!(to_json("n", &3).unwrap(), "3");
    }
}
