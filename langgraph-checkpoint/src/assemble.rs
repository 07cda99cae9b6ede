//! Turning the rows of a one-statement checkpoint read into a [`CheckpointTuple`] (shared by
//! the SQL savers; no I/O here).
//!
//! The statement yields rows `(kind, a, b, c, d, e)`: kind 0 carries the thread's epoch in
//! `e`; kind 1 the checkpoint (`a` id, `b` parent, `c` checkpoint JSON, `d` metadata JSON);
//! kind 2 a blob on the delta chain of a channel version the checkpoint references (`a`
//! channel, `b` version, `c` blob JSON or none); kind 3 a pending write (`a` task, `b` task
//! name, `c` channel, `d` value JSON, `e` order); kind 4 a version on the delta chains
//! stored with several channels' blobs (`a` a JSON array of the channels read from it, `b`
//! version, `c` the stored blobs object, or none when every one of them is kept), which the
//! SQLite statements yield instead of kind 2. A read of several checkpoints at once (a page of
//! a listing, [`assemble_many`]) yields their rows together, each blob once, and a seventh
//! column `f` with the checkpoint id of each pending write.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::error::CheckpointError;
use crate::model::{
    BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, FORMAT_VERSION, PendingWrite,
};
use crate::resolve::resolve_with;
use crate::stored_blobs::read_channels;
use crate::value_cache::Kept;

/// One row of the read statement.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub(crate) kind: i64,
    pub(crate) a: Option<String>,
    pub(crate) b: Option<String>,
    pub(crate) c: Option<String>,
    pub(crate) d: Option<String>,
    pub(crate) e: Option<i64>,
    /// The checkpoint of a pending write, in a read of several checkpoints.
    pub(crate) f: Option<String>,
}

impl Row {
    /// Column `a` (a chain row's channel), or `""`.
    pub(crate) fn a(&self) -> &str {
        self.a.as_deref().unwrap_or_default()
    }

    /// Column `b` (a chain row's version), or `""`.
    pub(crate) fn b(&self) -> &str {
        self.b.as_deref().unwrap_or_default()
    }

    /// The row holds what the read needs of it: every row but a chain row whose blob did
    /// not come, and a chain row without its blob when the process keeps the value.
    pub(crate) fn covered(&self, kept: Kept<'_>) -> bool {
        match self.kind {
            2 => self.c.is_some() || kept.get(self.a(), self.b()).is_some(),
            4 => {
                self.c.is_some()
                    || serde_json::from_str::<Vec<String>>(self.a())
                        .is_ok_and(|chs| chs.iter().all(|ch| kept.get(ch, self.b()).is_some()))
            }
            _ => true,
        }
    }

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
            f: if r.len() > 6 { r.try_get(6)? } else { None },
        })
    }
}

/// The driver's rows of a read statement; `operation` names the read in an error.
pub(crate) fn rows_of<R: sqlx::Row>(
    rows: &[R],
    operation: &'static str,
) -> Result<Vec<Row>, CheckpointError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(Row::from_sql)
        .collect::<Result<Vec<Row>, sqlx::Error>>()
        .map_err(|e| CheckpointError::backend(operation, e))
}
/// The `(checkpoint id, metadata JSON)` rows of a listing statement (see
/// [`select_ids`](crate::listing::select_ids)).
pub(crate) fn ids_and_metadata<R: sqlx::Row>(
    rows: &[R],
) -> Result<Vec<(String, String)>, CheckpointError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(String, String)>, sqlx::Error>>()
        .map_err(|e| CheckpointError::backend("list", e))
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

/// A stored checkpoint row: id, parent, checkpoint JSON, metadata JSON.
type CheckpointRow = (String, Option<String>, String, String);

/// A pending write with its stored order and value JSON.
type WriteRow = (i64, String, PendingWrite);

/// The rows of a read, sorted by kind.
#[derive(Default)]
struct Sorted {
    epoch: i64,
    checkpoints: Vec<CheckpointRow>,
    /// Per channel, the stored blobs by version.
    by_channel: HashMap<String, HashMap<String, BlobValue>>,
    /// Per checkpoint (`""` in a read of one), its pending writes.
    writes: HashMap<String, Vec<WriteRow>>,
    /// The first blob that did not decode: its version and why.
    bad_blob: Option<(String, String)>,
}

impl Sorted {
    /// Notes the first blob that did not decode.
    fn bad(&mut self, cid: &str, reason: impl FnOnce() -> String) {
        self.bad_blob
            .get_or_insert_with(|| (cid.to_string(), reason()));
    }

    /// A kind 4 row: the blobs of `channels` at version `cid`, read from the stored object
    /// `text` (none when the process keeps them all).
    fn object_row(
        &mut self,
        channels: Option<String>,
        cid: String,
        text: Option<String>,
        kept: Kept<'_>,
    ) {
        let channels = channels.as_deref().unwrap_or("[]");
        let Ok(mut wanted) = serde_json::from_str::<Vec<String>>(channels) else {
            return self.bad(&cid, || format!("unreadable channel list {channels}"));
        };
        wanted.retain(|ch| kept.get(ch, &cid).is_none());
        if wanted.is_empty() {
            return;
        }
        let Some(text) = text else {
            return self.bad(&cid, || {
                format!("no stored value for channel `{}`", wanted[0])
            });
        };
        match read_channels(&text, &wanted) {
            Ok(found) => {
                if let Some(ch) = wanted
                    .iter()
                    .find(|ch| !found.iter().any(|(f, _)| f == *ch))
                {
                    return self.bad(&cid, || format!("no stored value for channel `{ch}`"));
                }
                for (channel, blob) in found {
                    self.by_channel
                        .entry(channel)
                        .or_default()
                        .insert(cid.clone(), blob);
                }
            }
            Err(e) => self.bad(&cid, || format!("stored values: {e}")),
        }
    }
}

fn sort_rows(rows: Vec<Row>, kept: Kept<'_>) -> Sorted {
    let mut out = Sorted::default();
    for r in rows {
        match r.kind {
            0 => out.epoch = r.e.unwrap_or(0),
            1 => out.checkpoints.push((
                r.a.unwrap_or_default(),
                r.b,
                r.c.unwrap_or_default(),
                r.d.unwrap_or_default(),
            )),
            2 => {
                let channel = r.a.unwrap_or_default();
                let cid = r.b.unwrap_or_default();
                match r.c.map(|b| serde_json::from_str::<BlobValue>(&b)) {
                    Some(Ok(b)) => {
                        out.by_channel.entry(channel).or_default().insert(cid, b);
                    }
                    Some(Err(e)) => {
                        out.bad_blob
                            .get_or_insert((cid, format!("channel `{channel}`: {e}")));
                    }
                    // A value this process kept, which the statement did not read.
                    None if kept.get(&channel, &cid).is_some() => {}
                    None => {
                        out.bad_blob.get_or_insert((
                            cid,
                            format!("no stored value for channel `{channel}`"),
                        ));
                    }
                }
            }
            4 => out.object_row(r.a, r.b.unwrap_or_default(), r.c, kept),
            _ => out
                .writes
                .entry(r.f.unwrap_or_default())
                .or_default()
                .push((
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
    out
}

/// The tuple of checkpoint row `cp`, its values resolved through `by_channel` (and the values
/// `kept` by the process) and its pending writes in stored order.
fn tuple(
    thread_id: &str,
    ns: &str,
    cp: CheckpointRow,
    by_channel: &HashMap<String, HashMap<String, BlobValue>>,
    kept: Kept<'_>,
    mut writes: Vec<WriteRow>,
) -> Result<CheckpointTuple, CheckpointError> {
    let (id, parent_id, text, meta) = cp;
    let checkpoint = parse_checkpoint(thread_id, &id, &text)?;
    let metadata: CheckpointMetadata = serde_json::from_str(&meta)
        .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
    let none = HashMap::new();
    let mut values = BTreeMap::new();
    for (channel, version) in &checkpoint.channel_versions {
        let blobs = by_channel.get(channel.as_str()).unwrap_or(&none);
        let lookup = |v: &str| blobs.get(v).or_else(|| kept.get(channel, v));
        let v = resolve_with(version, blobs.len() + 1, lookup).map_err(|e| {
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
    Ok(CheckpointTuple {
        thread_id: thread_id.to_string(),
        ns: ns.to_string(),
        checkpoint,
        metadata,
        parent_id,
        values,
        pending_writes,
    })
}

/// The thread's epoch and the checkpoint (none if the statement found none), with values
/// rebuilt from their delta chains and pending writes in stored order.
pub(crate) fn assemble(
    thread_id: &str,
    ns: &str,
    rows: Vec<Row>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    assemble_with(thread_id, ns, rows, Kept::default())
}

/// [`assemble`] for a read that stopped its chains at the values `kept` by the process (a
/// chain row of a kept version comes without its blob).
pub(crate) fn assemble_with(
    thread_id: &str,
    ns: &str,
    rows: Vec<Row>,
    kept: Kept<'_>,
) -> Result<(i64, Option<CheckpointTuple>), CheckpointError> {
    let mut sorted = sort_rows(rows, kept);
    let Some(cp) = sorted.checkpoints.pop() else {
        return Ok((sorted.epoch, None));
    };
    if let Some((cid, reason)) = sorted.bad_blob {
        return Err(CheckpointError::corrupt(thread_id, &cid, reason));
    }
    let writes = sorted.writes.into_values().flatten().collect();
    let t = tuple(thread_id, ns, cp, &sorted.by_channel, kept, writes)?;
    Ok((sorted.epoch, Some(t)))
}

/// The checkpoints `ids` of a read of several at once, in that order (an id the statement did
/// not find is left out): the blobs their chains share were read once, and each value is
/// rebuilt from them.
pub(crate) fn assemble_many(
    thread_id: &str,
    ns: &str,
    ids: &[String],
    rows: Vec<Row>,
) -> Result<Vec<CheckpointTuple>, CheckpointError> {
    let mut sorted = sort_rows(rows, Kept::default());
    if let Some((cid, reason)) = sorted.bad_blob {
        return Err(CheckpointError::corrupt(thread_id, &cid, reason));
    }
    let mut found: HashMap<String, CheckpointRow> = sorted
        .checkpoints
        .drain(..)
        .map(|cp| (cp.0.clone(), cp))
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(cp) = found.remove(id) {
            let writes = sorted.writes.remove(id).unwrap_or_default();
            let kept = Kept::default();
            out.push(tuple(thread_id, ns, cp, &sorted.by_channel, kept, writes)?);
        }
    }
    Ok(out)
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
            f: None,
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
    fn several_checkpoints_share_their_chains_and_keep_their_own_writes() {
        let cp = |id: &str, version: &str| {
            let mut cp = Checkpoint::with_id(id);
            cp.channel_versions.insert("xs".into(), version.into());
            serde_json::to_string(&cp).unwrap()
        };
        let meta = r#"{"source":"loop","step":1}"#;
        let write = |task: &str, cid: &str, order: i64| Row {
            f: Some(cid.into()),
            ..row(3, task, "n", "__writes__", "1", Some(order))
        };
        let rows = vec![
            row(0, "", "", "", "", Some(1)),
            row(1, "c1", "", &cp("c1", "c1"), meta, None),
            row(1, "c3", "c2", &cp("c3", "c3"), meta, None),
            row(2, "xs", "c1", r#"{"kind":"full","value":[1]}"#, "", None),
            row(
                2,
                "xs",
                "c3",
                r#"{"kind":"delta","base":"c1","items":[3],"depth":1}"#,
                "",
                None,
            ),
            write("t2", "c3", 7),
            write("t1", "c3", 5),
            write("t0", "c1", 2),
        ];
        let ids = ["c3", "c9", "c1"].map(String::from);
        let found = assemble_many("th", "", &ids, rows).unwrap();
        let got: Vec<(&str, &Value, Vec<&str>)> = found
            .iter()
            .map(|t| {
                let tasks = t.pending_writes.iter().map(|w| w.task_id.as_str());
                (t.checkpoint.id.as_str(), &t.values["xs"], tasks.collect())
            })
            .collect();
        let (one, three) = (serde_json::json!([1]), serde_json::json!([1, 3]));
        assert_eq!(
            got,
            [("c3", &three, vec!["t1", "t2"]), ("c1", &one, vec!["t0"])],
            "in the order asked, c9 (not found) left out"
        );
        let bad = vec![
            row(1, "c1", "", &cp("c1", "c1"), meta, None),
            row(2, "xs", "c1", "{not json", "", None),
        ];
        let e = assemble_many("th", "", &ids, bad).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
                if thread_id == "th" && checkpoint_id == "c1"),
            "{e}"
        );
    }

    /// A version stored with several channels comes once, whole (kind 4): the channels named
    /// are read from it, the others skipped; one it lacks, an unreadable object or a missing
    /// object is an error naming the version.
    #[test]
    fn a_stored_object_gives_the_channels_read_from_it() {
        let mut cp = Checkpoint::with_id("c2");
        cp.channel_versions.insert("xs".into(), "c2".into());
        cp.channel_versions.insert("n".into(), "c1".into());
        let cp = serde_json::to_string(&cp).unwrap();
        let head = || {
            vec![
                row(0, "", "", "", "", Some(1)),
                row(1, "c2", "c1", &cp, r#"{"source":"loop","step":1}"#, None),
            ]
        };
        let c1 = r#"{"xs":{"kind":"full","value":[1]},"n":{"kind":"full","value":5},
                     "gone":{"kind":"full","value":"skipped"}}"#;
        let c2 = r#"{"xs":{"kind":"delta","base":"c1","items":[2],"depth":1}}"#;
        let mut rows = head();
        rows.push(row(4, r#"["xs","n"]"#, "c1", c1, "", None));
        rows.push(row(4, r#"["xs"]"#, "c2", c2, "", None));
        let t = assemble("th", "", rows).unwrap().1.unwrap();
        assert_eq!(t.values["xs"], serde_json::json!([1, 2]));
        assert_eq!(t.values["n"], serde_json::json!(5));
        assert_eq!(t.values.len(), 2);

        let bad = [
            (
                r#"["xs","n"]"#,
                r#"{"xs":{"kind":"full","value":[1]}}"#,
                "channel `n`",
            ),
            (
                r#"["xs","n"]"#,
                r#"{"xs":{"kind":"full","value":[1]}"#,
                "stored values",
            ),
            (r#"["xs","n"]"#, "", "no stored value"),
            ("not a list", c1, "channel list"),
        ];
        for (channels, object, says) in bad {
            let mut rows = head();
            rows.push(row(4, channels, "c1", object, "", None));
            rows.push(row(4, r#"["xs"]"#, "c2", c2, "", None));
            let e = assemble("th", "", rows).unwrap_err();
            assert!(
                matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
                    if thread_id == "th" && checkpoint_id == "c1"),
                "{e}"
            );
            assert!(e.to_string().contains(says), "{e} should say {says}");
        }
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
