//! Pruning a thread's history: which checkpoints stay, and how a kept checkpoint is rewritten
//! so that it no longer needs the rows that go (pure functions; each saver does the I/O).
//!
//! **What stays** ([`Prune::KeepLatest`]): the newest checkpoint of the root namespace, and of
//! every subgraph namespace that can still be read on: a per-thread subgraph's history (a
//! namespace of node names only, such as `talk` or `outer|inner`) always, a per-call
//! subgraph's (a namespace whose last part carries a task id, `node:task`) only while the
//! caller's kept checkpoint is the one its call ran from (a paused call). Besides these heads:
//!
//! - the checkpoints a kept one follows through `update_state` edits, back to the first that
//!   is not an edit (a paused call's caller may have been edited since the call began, and
//!   the call is found again through that chain);
//! - for a subgraph call still in progress (its caller's kept checkpoint is the one it ran
//!   from), the call's checkpoints back to its input checkpoint (the turn a per-thread
//!   subgraph is in starts there).
//!
//! **How a kept checkpoint is rewritten.** A channel's version names the checkpoint whose row
//! stores its value (or a delta over an older version). A kept checkpoint whose values live
//! in rows that go gets them stored in its own row, whole: a channel it wrote keeps its
//! version (its value is stored whole now), any other gets the version `<id>~` ("carried by
//! checkpoint `<id>`", [`carried_version`]): a version distinct from the checkpoint's own id,
//! so that a channel written before this checkpoint still reads as such. Its delta
//! bookkeeping is dropped, so the next write of an append channel stores it whole again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Blob, BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, Source};
use crate::shared_str::SharedStr;

/// What [`Checkpointer::prune`](crate::Checkpointer::prune) does to each thread.
///
/// ```
/// use langgraph_checkpoint::{
///     Blob, BlobValue, Checkpoint, CheckpointMetadata, Checkpointer, Fence, InMemorySaver,
///     ListOptions, Prune, PutCheckpoint, Source, next_checkpoint_id,
/// };
/// use serde_json::json;
///
/// // A checkpoint after `head` that sets channel `n`.
/// fn step(head: Option<&str>, n: i64, fence: Fence) -> PutCheckpoint {
///     let mut checkpoint = Checkpoint::with_id(next_checkpoint_id(head));
///     checkpoint.channel_versions.insert("n".into(), checkpoint.id.clone());
///     PutCheckpoint {
///         thread_id: "t".into(),
///         ns: String::new(),
///         metadata: CheckpointMetadata::new(Source::Loop, n),
///         parent_id: head.map(Into::into),
///         expected_head: head.map(Into::into),
///         blobs: vec![Blob {
///             channel: "n".into(),
///             version: checkpoint.id.clone(),
///             value: BlobValue::Full { value: json!(n) },
///         }],
///         checkpoint,
///         parent_writes: Vec::new(),
///         fence,
///     }
/// }
///
/// # futures::executor::block_on(async {
/// let saver = InMemorySaver::new();
/// let mut head = None;
/// for n in 0..5 {
///     let fence = if n == 0 { Fence::claim_from(0) } else { Fence { epoch: 1, claim: false } };
///     let put = step(head.as_deref(), n, fence);
///     head = Some(put.checkpoint.id.to_string());
///     saver.put(put).await.unwrap();
/// }
/// saver.prune(&["t"], Prune::KeepLatest).await.unwrap();
/// let left = saver.list("t", "", &ListOptions::default()).await.unwrap();
/// assert_eq!(left.len(), 1);
/// assert_eq!(left[0].values["n"], json!(4));
/// saver.prune(&["t"], Prune::Delete).await.unwrap();
/// assert!(saver.head("t", "").await.unwrap().checkpoint.is_none());
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prune {
    /// Keeps the newest checkpoint of each namespace that can still be read on (with what a
    /// paused call needs to go on: see the saver method), its pending writes and its values;
    /// deletes the rest of the history. The thread reads and resumes as before, but its
    /// older checkpoints (replays, forks, `get_state_history`) are gone.
    KeepLatest,
    /// Deletes every checkpoint, value and pending write of the thread
    /// (as [`Checkpointer::delete_thread`](crate::Checkpointer::delete_thread)).
    Delete,
}

/// The version under which checkpoint `id` stores a value it carries for a channel it did not
/// write (see the module docs).
pub(crate) fn carried_version(id: &str) -> String {
    format!("{id}~")
}

/// The id of the checkpoint whose row stores the value of `version`.
pub(crate) fn row_of(version: &str) -> &str {
    version.trim_end_matches('~')
}

/// What planning needs to know of one stored checkpoint.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) ns: String,
    pub(crate) id: String,
    pub(crate) parent: Option<String>,
    pub(crate) source: Source,
    pub(crate) parents: BTreeMap<String, String>,
}

impl Entry {
    pub(crate) fn new(
        ns: String,
        id: String,
        parent: Option<String>,
        m: CheckpointMetadata,
    ) -> Self {
        Self {
            ns,
            id,
            parent,
            source: m.source,
            parents: m.parents,
        }
    }
}

/// The kept checkpoints of one thread, by namespace.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Kept(pub(crate) BTreeMap<String, BTreeSet<String>>);

impl Kept {
    pub(crate) fn contains(&self, ns: &str, id: &str) -> bool {
        self.0.get(ns).is_some_and(|ids| ids.contains(id))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// The newest kept checkpoint of each namespace (the namespace's head).
    #[cfg(feature = "postgres")]
    pub(crate) fn heads(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter_map(|(ns, ids)| ids.last().map(|id| (ns.as_str(), id.as_str())))
    }
}

fn depth(ns: &str) -> usize {
    if ns.is_empty() {
        0
    } else {
        ns.split('|').count()
    }
}

/// A namespace whose last part carries a task id: one subgraph call's history.
fn per_call(ns: &str) -> bool {
    ns.rsplit('|').next().is_some_and(|last| last.contains(':'))
}

/// Which of a thread's checkpoints [`Prune::KeepLatest`] keeps (see the module docs).
pub(crate) fn plan(entries: Vec<Entry>) -> Kept {
    let mut by_ns: BTreeMap<String, HashMap<String, Entry>> = BTreeMap::new();
    for e in entries {
        by_ns
            .entry(e.ns.clone())
            .or_default()
            .insert(e.id.clone(), e);
    }
    let mut order: Vec<&String> = by_ns.keys().collect();
    order.sort_by_key(|ns| depth(ns));
    let mut kept = Kept::default();
    for ns in order {
        let entries = &by_ns[ns];
        let Some(head) = entries.values().max_by(|a, b| a.id.cmp(&b.id)) else {
            continue;
        };
        // The enclosing namespace deepest down is the caller.
        let caller = head.parents.iter().max_by_key(|(c, _)| depth(c));
        let live = match caller {
            Some((c, id)) => kept.contains(c, id),
            // Written without parents (an older store): nothing tells it is finished.
            None => !ns.is_empty(),
        };
        if per_call(ns) && !live {
            continue;
        }
        let same_call = |e: &Entry| caller.is_none_or(|(c, id)| e.parents.get(c) == Some(id));
        let mut keep = BTreeSet::from([head.id.clone()]);
        let mut cur = head;
        loop {
            let follow = cur.source == Source::Update
                || (live && !ns.is_empty() && cur.source != Source::Input);
            let Some(parent) = cur.parent.as_ref().and_then(|p| entries.get(p)) else {
                break;
            };
            if !follow || !same_call(parent) {
                break;
            }
            keep.insert(parent.id.clone());
            cur = parent;
        }
        kept.0.insert(ns.clone(), keep);
    }
    kept
}

/// A kept checkpoint, rewritten to stand without the rows that go: its checkpoint (versions
/// of values it now carries renamed, delta bookkeeping dropped), its parent (none if the
/// parent goes) and the values its row stores, all whole.
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    pub(crate) checkpoint: Checkpoint,
    pub(crate) parent: Option<String>,
    pub(crate) blobs: Vec<Blob>,
}

/// Rewrites kept checkpoint `t` (read with its values resolved) given which checkpoints of
/// its namespace stay (`kept_here`).
pub(crate) fn rewrite(t: &CheckpointTuple, kept_here: impl Fn(&str) -> bool) -> Rewritten {
    let id = t.checkpoint.id.as_str();
    let mut checkpoint = t.checkpoint.clone();
    let mut blobs = Vec::new();
    for (channel, version) in t.checkpoint.channel_versions.iter() {
        let row = row_of(version);
        let version = if row == id {
            version.clone()
        } else if kept_here(row) {
            // Kept and rewritten as well: its row stores this value whole.
            continue;
        } else {
            let carried = SharedStr::from(carried_version(id));
            checkpoint
                .channel_versions
                .insert(channel.clone(), carried.clone());
            // A node that saw the old version has seen this one.
            let nodes: Vec<SharedStr> = checkpoint.versions_seen.keys().cloned().collect();
            for node in nodes {
                if let Some(seen) = checkpoint.versions_seen.get_mut(&node)
                    && seen.get(channel) == Some(version)
                {
                    seen.insert(channel.clone(), carried.clone());
                }
            }
            carried
        };
        let value = t.values.get(channel.as_str()).cloned().unwrap_or_default();
        blobs.push(Blob {
            channel: channel.clone(),
            version,
            value: BlobValue::Full { value },
        });
    }
    checkpoint.extra.remove("deltas");
    let parent = t.parent_id.clone().filter(|p| kept_here(p));
    Rewritten {
        checkpoint,
        parent,
        blobs,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn entry(
        ns: &str,
        id: &str,
        parent: Option<&str>,
        source: Source,
        parents: &[(&str, &str)],
    ) -> Entry {
        Entry {
            ns: ns.into(),
            id: id.into(),
            parent: parent.map(Into::into),
            source,
            parents: parents
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    fn ids(kept: &Kept, ns: &str) -> Vec<String> {
        kept.0
            .get(ns)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_root_keeps_its_head_and_the_edits_it_follows() {
        let kept = plan(vec![
            entry("", "1", None, Source::Input, &[]),
            entry("", "2", Some("1"), Source::Loop, &[]),
            entry("", "3", Some("2"), Source::Loop, &[]),
            entry("", "4", Some("3"), Source::Update, &[]),
            entry("", "5", Some("4"), Source::Update, &[]),
        ]);
        assert_eq!(ids(&kept, ""), ["3", "4", "5"]);
        let kept = plan(vec![
            entry("", "1", None, Source::Input, &[]),
            entry("", "2", Some("1"), Source::Loop, &[]),
        ]);
        assert_eq!(ids(&kept, ""), ["2"]);
    }

    #[test]
    fn a_finished_call_goes_and_a_paused_call_stays_whole() {
        let kept = plan(vec![
            entry("", "1", None, Source::Loop, &[]),
            entry("", "5", Some("1"), Source::Loop, &[]),
            // Finished: ran from root checkpoint 1.
            entry("a:t1", "2", None, Source::Input, &[("", "1")]),
            entry("a:t1", "3", Some("2"), Source::Loop, &[("", "1")]),
            // Paused: runs from the root's head.
            entry("a:t2", "6", None, Source::Input, &[("", "5")]),
            entry("a:t2", "7", Some("6"), Source::Loop, &[("", "5")]),
            entry(
                "a:t2|b:u",
                "8",
                None,
                Source::Input,
                &[("", "5"), ("a:t2", "7")],
            ),
            entry(
                "a:t2|b:u",
                "9",
                Some("8"),
                Source::Loop,
                &[("", "5"), ("a:t2", "7")],
            ),
            // Nested in the finished call.
            entry(
                "a:t1|b:u",
                "4",
                None,
                Source::Input,
                &[("", "1"), ("a:t1", "3")],
            ),
        ]);
        assert_eq!(ids(&kept, "a:t1"), Vec::<String>::new());
        assert_eq!(ids(&kept, "a:t1|b:u"), Vec::<String>::new());
        assert_eq!(ids(&kept, "a:t2"), ["6", "7"]);
        assert_eq!(ids(&kept, "a:t2|b:u"), ["8", "9"]);
        assert_eq!(kept.len(), 5);
    }

    #[test]
    fn a_per_thread_history_keeps_its_head_and_a_turn_in_progress() {
        let finished = plan(vec![
            entry("", "1", None, Source::Loop, &[]),
            entry("", "9", Some("1"), Source::Loop, &[]),
            entry("talk", "2", None, Source::Input, &[("", "1")]),
            entry("talk", "3", Some("2"), Source::Loop, &[("", "1")]),
            entry("talk", "4", Some("3"), Source::Loop, &[("", "1")]),
        ]);
        assert_eq!(ids(&finished, "talk"), ["4"]);
        let paused = plan(vec![
            entry("", "1", None, Source::Loop, &[]),
            entry("", "5", Some("1"), Source::Loop, &[]),
            entry("", "8", Some("5"), Source::Update, &[]),
            entry("talk", "2", None, Source::Input, &[("", "1")]),
            entry("talk", "3", Some("2"), Source::Loop, &[("", "1")]),
            entry("talk", "6", Some("3"), Source::Input, &[("", "5")]),
            entry("talk", "7", Some("6"), Source::Loop, &[("", "5")]),
        ]);
        assert_eq!(ids(&paused, ""), ["5", "8"]);
        assert_eq!(ids(&paused, "talk"), ["6", "7"]);
    }

    #[test]
    fn a_rewritten_checkpoint_carries_what_it_did_not_write() {
        let mut cp = Checkpoint::with_id("c9");
        cp.channel_versions.insert("mine".into(), "c9".into());
        cp.channel_versions.insert("old".into(), "c2".into());
        cp.channel_versions.insert("kept".into(), "c5".into());
        cp.extra
            .insert("deltas".into(), json!({"mine": {"depth": 3}}));
        let mut seen = crate::SmallMap::new();
        seen.insert("old".into(), "c2".into());
        seen.insert("mine".into(), "c1".into());
        cp.versions_seen.insert("node".into(), seen);
        let t = CheckpointTuple {
            thread_id: "t".into(),
            ns: String::new(),
            checkpoint: cp,
            metadata: CheckpointMetadata::new(Source::Update, 4),
            parent_id: Some("c5".into()),
            values: BTreeMap::from([
                ("mine".to_string(), json!([1, 2])),
                ("old".to_string(), json!("x")),
                ("kept".to_string(), json!(7)),
            ]),
            pending_writes: Vec::new(),
        };
        let r = rewrite(&t, |id| id == "c5" || id == "c9");
        assert_eq!(r.parent.as_deref(), Some("c5"));
        let versions = &r.checkpoint.channel_versions;
        assert_eq!(versions.get("mine").map(|v| v.as_str()), Some("c9"));
        assert_eq!(versions.get("old").map(|v| v.as_str()), Some("c9~"));
        assert_eq!(versions.get("kept").map(|v| v.as_str()), Some("c5"));
        assert!(!r.checkpoint.extra.contains_key("deltas"));
        let seen = r.checkpoint.versions_seen.get("node").unwrap();
        assert_eq!(seen.get("old").map(|v| v.as_str()), Some("c9~"));
        assert_eq!(seen.get("mine").map(|v| v.as_str()), Some("c1"));
        let stored: Vec<(&str, &str, &BlobValue)> = r
            .blobs
            .iter()
            .map(|b| (b.channel.as_str(), b.version.as_str(), &b.value))
            .collect();
        assert_eq!(stored.len(), 2);
        assert!(stored.contains(&(
            "mine",
            "c9",
            &BlobValue::Full {
                value: json!([1, 2])
            }
        )));
        assert!(stored.contains(&("old", "c9~", &BlobValue::Full { value: json!("x") })));
        assert_eq!(row_of("c9~"), "c9");
        let alone = rewrite(&t, |id| id == "c9");
        assert_eq!(alone.parent, None);
        assert_eq!(alone.blobs.len(), 3);
    }
}
