//! Planning a prune from a database saver's rows, and the row a kept checkpoint is rewritten
//! to (pure; the savers run the statements).

use std::collections::BTreeMap;

use crate::error::CheckpointError;
use crate::model::{CheckpointMetadata, CheckpointTuple};
use crate::prune::{Entry, Kept, plan, rewrite};

/// A checkpoint row as the plan reads it: namespace, id, parent id and metadata (JSON text).
pub(crate) type Row = (String, String, Option<String>, String);

/// What a prune keeps, and what it deletes, by namespace.
#[derive(Debug)]
pub(crate) struct RowPlan {
    pub(crate) kept: Kept,
    pub(crate) gone: BTreeMap<String, Vec<String>>,
}

/// Plans the prune of `thread_id` from all of its rows; `None` when nothing goes. A row whose
/// metadata cannot be read is a [`CheckpointError::Corrupt`] naming it.
pub(crate) fn plan_rows(
    thread_id: &str,
    rows: Vec<Row>,
) -> Result<Option<RowPlan>, CheckpointError> {
    let mut all = Vec::with_capacity(rows.len());
    let mut entries = Vec::with_capacity(rows.len());
    for (ns, id, parent, metadata) in rows {
        let m: CheckpointMetadata = serde_json::from_str(&metadata)
            .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
        all.push((ns.clone(), id.clone()));
        entries.push(Entry::new(ns, id, parent, m));
    }
    let kept = plan(entries);
    let mut gone: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (ns, id) in all {
        if !kept.contains(&ns, &id) {
            gone.entry(ns).or_default().push(id);
        }
    }
    Ok((!gone.is_empty()).then_some(RowPlan { kept, gone }))
}

/// The columns a kept checkpoint `id` of namespace `ns` is updated to (checkpoint, parent id,
/// blobs), from its tuple as read inside the prune's transaction.
pub(crate) fn updated_row(
    thread_id: &str,
    kept: &Kept,
    ns: &str,
    id: &str,
    tuple: Option<CheckpointTuple>,
) -> Result<(String, Option<String>, String), CheckpointError> {
    let Some(t) = tuple else {
        return Err(CheckpointError::conflict(
            thread_id,
            format!("checkpoint {id} went while the thread was being pruned"),
        ));
    };
    let r = rewrite(&t, |x| kept.contains(ns, x));
    Ok((
        crate::encode::to_json("a checkpoint", &r.checkpoint)?,
        r.parent,
        crate::encode::blobs_json(&r.blobs)?,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn row(id: &str, parent: Option<&str>, source: &str) -> Row {
        (
            String::new(),
            id.into(),
            parent.map(Into::into),
            format!(r#"{{"source":"{source}","step":0}}"#),
        )
    }

    #[test]
    fn rows_plan_what_goes_by_namespace_and_bad_metadata_is_named() {
        let rows = vec![row("1", None, "input"), row("2", Some("1"), "loop")];
        let p = plan_rows("t", rows).unwrap().unwrap();
        assert_eq!(
            p.gone,
            BTreeMap::from([(String::new(), vec!["1".to_string()])])
        );
        assert!(p.kept.contains("", "2"));
        assert!(
            plan_rows("t", vec![row("2", None, "loop")])
                .unwrap()
                .is_none()
        );
        let mut bad = row("3", None, "loop");
        bad.3 = "{".into();
        match plan_rows("t", vec![bad]) {
            Err(CheckpointError::Corrupt { checkpoint_id, .. }) => assert_eq!(checkpoint_id, "3"),
            other => panic!("{other:?}"),
        }
        let gone = updated_row("t", &p.kept, "", "2", None).unwrap_err();
        assert!(gone.is_conflict());
    }
}
