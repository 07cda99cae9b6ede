//! Turning the rows of a one-statement checkpoint read into a [`CheckpointTuple`] (shared by
//! the SQL savers; no I/O here).
//!
//! The statement yields rows `(kind, a, b, c, d, e)`: kind 0 carries the thread's epoch in
//! `e`; kind 1 the checkpoint (`a` id, `b` parent, `c` checkpoint JSON, `d` metadata JSON);
//! kind 2 a blob on the delta chain of a channel version the checkpoint references (`a`
//! channel, `b` version, `c` blob JSON or none); kind 3 a pending write (`a` task, `b` task
//! name, `c` channel, `d` value JSON, `e` order).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::error::CheckpointError;
use crate::model::{
    BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, FORMAT_VERSION, PendingWrite,
};
use crate::resolve::resolve_chain;

/// One row of the read statement.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub(crate) kind: i64,
    pub(crate) a: Option<String>,
    pub(crate) b: Option<String>,
    pub(crate) c: Option<String>,
    pub(crate) d: Option<String>,
    pub(crate) e: Option<i64>,
}

impl Row {
    /// Reads a row of the statement from the driver's row.
    pub(crate) fn from_sql<R: sqlx::Row>(r: &R) -> Result<Self, sqlx::Error>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(Self {
            kind: r.try_get(0)?,
            a: r.try_get(1)?,
            b: r.try_get(2)?,
            c: r.try_get(3)?,
            d: r.try_get(4)?,
            e: r.try_get(5)?,
        })
    }
}

/// [`assemble`] over the driver's rows.
pub(crate) fn assemble_sql<R: sqlx::Row>(
    thread_id: &str,
    ns: &str,
    rows: &[R],
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let rows = rows
        .iter()
        .map(Row::from_sql)
        .collect::<Result<Vec<Row>, sqlx::Error>>()
        .map_err(|e| CheckpointError::backend("get", e))?;
    assemble(thread_id, ns, rows)
}

/// Parses a stored checkpoint, checking its format version.
pub(crate) fn parse_checkpoint(
    thread_id: &str,
    id: &str,
    text: &str,
) -> Result<Checkpoint, CheckpointError> {
    let raw: Value =
        serde_json::from_str(text).map_err(|e| CheckpointError::corrupt(thread_id, id, e))?;
    let v = raw.get("v").and_then(Value::as_u64).unwrap_or(0) as u32;
    if v > FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedFormat {
            thread_id: thread_id.to_string(),
            checkpoint_id: id.to_string(),
            found: v,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(raw).map_err(|e| CheckpointError::corrupt(thread_id, id, e))
}

/// The thread's epoch and the checkpoint (none if the statement found none), with values
/// rebuilt from their delta chains and pending writes in stored order.
pub(crate) fn assemble(
    thread_id: &str,
    ns: &str,
    rows: Vec<Row>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    let mut epoch = 0;
    let mut cp: Option<(String, Option<String>, String, String)> = None;
    let mut by_channel: HashMap<String, HashMap<String, BlobValue>> = HashMap::new();
    let mut writes: Vec<(i64, String, PendingWrite)> = Vec::new();
    let mut bad_blob: Option<(String, String)> = None;
    for r in rows {
        match r.kind {
            0 => epoch = r.e.unwrap_or(0),
            1 => {
                cp = Some((
                    r.a.unwrap_or_default(),
                    r.b,
                    r.c.unwrap_or_default(),
                    r.d.unwrap_or_default(),
                ))
            }
            2 => {
                let channel = r.a.unwrap_or_default();
                let cid = r.b.unwrap_or_default();
                match r.c.map(|b| serde_json::from_str::<BlobValue>(&b)) {
                    Some(Ok(b)) => {
                        by_channel.entry(channel).or_default().insert(cid, b);
                    }
                    Some(Err(e)) => {
                        bad_blob.get_or_insert((cid, format!("channel `{channel}`: {e}")));
                    }
                    None => {
                        bad_blob.get_or_insert((
                            cid,
                            format!("no stored value for channel `{channel}`"),
                        ));
                    }
                }
            }
            _ => writes.push((
                r.e.unwrap_or(0),
                r.d.unwrap_or_default(),
                PendingWrite {
                    task_id: r.a.unwrap_or_default(),
                    task_name: r.b.unwrap_or_default(),
                    channel: r.c.unwrap_or_default(),
                    value: Value::Null,
                },
            )),
        }
    }
    let Some((id, parent_id, text, meta)) = cp else {
        return Ok((epoch, None));
    };
    if let Some((cid, reason)) = bad_blob {
        return Err(CheckpointError::corrupt(thread_id, &cid, reason));
    }
    let checkpoint = parse_checkpoint(thread_id, &id, &text)?;
    let metadata: CheckpointMetadata = serde_json::from_str(&meta)
        .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
    let mut values = BTreeMap::new();
    for (channel, version) in &checkpoint.channel_versions {
        let blobs = by_channel.remove(channel.as_str()).unwrap_or_default();
        let v = resolve_chain(version, &blobs).map_err(|e| {
            CheckpointError::corrupt(thread_id, &id, format!("channel `{channel}`: {e}"))
        })?;
        values.insert(channel.to_string(), v);
    }
    writes.sort_by_key(|(order, ..)| *order);
    let mut pending_writes = Vec::with_capacity(writes.len());
    for (_, value, mut w) in writes {
        w.value = serde_json::from_str(&value)
            .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("pending write: {e}")))?;
        pending_writes.push(w);
    }
    Ok((
        epoch,
        Some(CheckpointTuple {
            thread_id: thread_id.to_string(),
            ns: ns.to_string(),
            checkpoint,
            metadata,
            parent_id,
            values,
            pending_writes,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: i64, a: &str, b: &str, c: &str, d: &str, e: Option<i64>) -> Row {
        let s = |x: &str| (!x.is_empty()).then(|| x.to_string());
        Row {
            kind,
            a: s(a),
            b: s(b),
            c: s(c),
            d: s(d),
            e,
        }
    }

    #[test]
    fn rows_become_a_tuple_with_resolved_values_and_ordered_writes() {
        let mut cp = Checkpoint::with_id("c2");
        cp.channel_versions.insert("xs".into(), "c2".into());
        let cp = serde_json::to_string(&cp).unwrap();
        let rows = vec![
            row(0, "", "", "", "", Some(3)),
            row(1, "c2", "c1", &cp, r#"{"source":"loop","step":1}"#, None),
            row(
                2,
                "xs",
                "c2",
                r#"{"kind":"delta","base":"c1","items":[2],"depth":1}"#,
                "",
                None,
            ),
            row(2, "xs", "c1", r#"{"kind":"full","value":[1]}"#, "", None),
            row(3, "t2", "b", "__writes__", "2", Some(9)),
            row(3, "t1", "a", "__writes__", "1", Some(4)),
        ];
        let (epoch, t) = assemble("th", "", rows).unwrap();
        let t = t.unwrap();
        assert_eq!(epoch, 3);
        assert_eq!(t.parent_id.as_deref(), Some("c1"));
        assert_eq!(t.values["xs"], serde_json::json!([1, 2]));
        let tasks: Vec<_> = t
            .pending_writes
            .iter()
            .map(|w| w.task_id.as_str())
            .collect();
        assert_eq!(tasks, ["t1", "t2"]);
    }

    #[test]
    fn a_missing_checkpoint_is_none_and_bad_rows_are_typed_errors() {
        let (epoch, t) = assemble("th", "", vec![row(0, "", "", "", "", Some(2))]).unwrap();
        assert_eq!((epoch, t.is_none()), (2, true));
        let mut cp = Checkpoint::with_id("c1");
        cp.channel_versions.insert("x".into(), "c1".into());
        let cp = serde_json::to_string(&cp).unwrap();
        let missing = vec![row(1, "c1", "", &cp, r#"{"source":"loop","step":0}"#, None)];
        let e = assemble("th", "", missing).unwrap_err().to_string();
        assert!(e.contains("th") && e.contains("c1"), "{e}");
        let garbage = vec![row(1, "c1", "", "{not json", "{}", None)];
        assert!(matches!(
            assemble("th", "", garbage),
            Err(CheckpointError::Corrupt { .. })
        ));
    }
}
