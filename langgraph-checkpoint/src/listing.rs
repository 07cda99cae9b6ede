//! Which checkpoints a listing returns (pure; the database savers fetch the tuples).

use crate::error::CheckpointError;
use crate::model::{CheckpointMetadata, ListOptions};

/// How many checkpoints a listing reads in one statement: enough that a page of a UI's
/// history reads the chains its checkpoints share once, few enough that a listing of a whole
/// long thread does not hold every row of it at once.
pub(crate) const PAGE: usize = 64;

/// The ids, among `rows` of `(checkpoint id, metadata JSON)` newest first, that `opts` selects:
/// those whose metadata matches the filter, at most `opts.limit` of them. A row whose metadata
/// does not decode is a typed error naming the thread and the checkpoint.
pub(crate) fn listed_ids(
    thread_id: &str,
    rows: Vec<(String, String)>,
    opts: &ListOptions,
) -> Result<Vec<String>, CheckpointError> {
    let mut ids = Vec::new();
    for (id, meta) in rows {
        if opts.limit.is_some_and(|l| ids.len() >= l) {
            break;
        }
        let m: CheckpointMetadata = serde_json::from_str(&meta)
            .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
        if m.matches(&opts.filter) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Source;
    use serde_json::json;

    fn row(id: &str, step: i64) -> (String, String) {
        let m = CheckpointMetadata::new(Source::Loop, step);
        (id.to_string(), serde_json::to_string(&m).unwrap())
    }

    #[test]
    fn filter_then_limit() {
        let rows = vec![row("c3", 2), row("c2", 1), row("c1", 2), row("c0", 2)];
        let mut opts = ListOptions::default();
        opts.filter.insert("step".into(), json!(2));
        opts.limit = Some(2);
        assert_eq!(listed_ids("t", rows, &opts).unwrap(), ["c3", "c1"]);
    }

    #[test]
    fn unreadable_metadata_names_thread_and_checkpoint() {
        let rows = vec![row("c1", 0), ("c0".into(), "{not json".into())];
        let e = listed_ids("t9", rows, &ListOptions::default()).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
                if thread_id == "t9" && checkpoint_id == "c0"),
            "{e}"
        );
    }
}
