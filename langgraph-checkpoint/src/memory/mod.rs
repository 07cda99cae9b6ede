//! `InMemorySaver`: checkpoints in process memory (tests, short-lived runs, benchmarks).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};

use crate::error::CheckpointError;
use crate::model::{
    BlobValue, Checkpoint, CheckpointMetadata, CheckpointTuple, Fence, Head, ListOptions,
    PendingWrite, PutCheckpoint, PutNow, PutWrites,
};
use crate::prune::Prune;
use crate::resolve::resolve_with;
use crate::saver::Checkpointer;
use crate::shared_str::SharedStr;
use crate::stats::StorageStats;
use crate::threads::{ThreadInfo, ThreadQuery};

#[derive(Clone)]
struct Stored {
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    parent: Option<SharedStr>,
}

/// A multiply-rotate hasher (FxHash) for the maps keyed by what the engine names:
/// namespaces, channels and checkpoint ids. Thread ids come from users and keep the
/// standard, collision-resistant hasher.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One namespace of a thread. Ids and versions are time-ordered, so storing the next
/// checkpoint appends to sorted vectors; lookups are binary searches.
#[derive(Default, Clone)]
struct Namespace {
    /// Sorted by checkpoint id, so the head (the greatest id, as in the database savers) is
    /// the last; boxed, so that growing the list moves pointers, not the ~400-byte records
    /// (measured: fewer instructions per stored checkpoint).
    #[allow(clippy::vec_box)]
    checkpoints: Vec<Box<Stored>>,
    /// Per channel, the stored values sorted by version.
    blobs: FxMap<SharedStr, Vec<(SharedStr, BlobValue)>>,
    writes: FxMap<SharedStr, Vec<PendingWrite>>,
}

/// Inserts `value` into `list`, sorted by `key_of`, replacing an equal key. Appending (the
/// usual case for time-ordered keys) takes no search.
fn insert_sorted<T>(list: &mut Vec<T>, value: T, key_of: impl Fn(&T) -> &str) {
    let key = key_of(&value);
    if list.last().is_none_or(|last| key_of(last) < key) {
        list.push(value);
        return;
    }
    match list.binary_search_by(|x| key_of(x).cmp(key)) {
        Ok(i) => list[i] = value,
        Err(i) => list.insert(i, value),
    }
}

impl Namespace {
    fn find(&self, id: &str) -> Option<&Stored> {
        self.checkpoints
            .binary_search_by(|s| s.checkpoint.id.as_str().cmp(id))
            .ok()
            .map(|i| &*self.checkpoints[i])
    }

    fn head_id(&self) -> Option<&str> {
        self.checkpoints.last().map(|s| s.checkpoint.id.as_str())
    }

    fn blob(&self, channel: &str, version: &str) -> Option<&BlobValue> {
        let list = self.blobs.get(channel)?;
        list.binary_search_by(|(v, _)| v.as_str().cmp(version))
            .ok()
            .map(|i| &list[i].1)
    }

    fn blob_count(&self) -> usize {
        self.blobs.values().map(Vec::len).sum()
    }
}

#[derive(Default)]
struct Thread {
    epoch: i64,
    namespaces: FxMap<String, Namespace>,
}

/// Keeps checkpoints in memory. Nothing survives the process; use
/// [`SqliteSaver`](crate::SqliteSaver) for durability.
///
/// It applies the same fencing and delta rules as the durable savers, so it is a faithful
/// stand-in in tests.
///
/// ```
/// use langgraph_checkpoint::{Checkpointer, InMemorySaver};
/// # futures::executor::block_on(async {
/// let saver = InMemorySaver::new();
/// let head = saver.head("thread-1", "").await.unwrap();
/// assert_eq!(head.epoch, 0);
/// assert!(head.checkpoint.is_none());
/// # });
/// ```
#[derive(Default)]
pub struct InMemorySaver {
    threads: Mutex<HashMap<SharedStr, Thread>>,
}

impl std::fmt::Debug for InMemorySaver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySaver")
            .field("threads", &self.lock().len())
            .finish()
    }
}

fn check_fence(thread_id: &str, current: i64, fence: &Fence) -> Result<(), CheckpointError> {
    let expected = if fence.claim {
        fence.epoch - 1
    } else {
        fence.epoch
    };
    if current == expected {
        Ok(())
    } else {
        Err(CheckpointError::conflict(
            thread_id,
            format!(
                "the thread's epoch is {current}, this writer holds {}",
                fence.epoch
            ),
        ))
    }
}

fn upsert(list: &mut Vec<PendingWrite>, writes: Vec<PendingWrite>) {
    for w in writes {
        match list
            .iter_mut()
            .find(|x| x.task_id == w.task_id && x.channel == w.channel)
        {
            Some(slot) => *slot = w,
            None => list.push(w),
        }
    }
}

impl InMemorySaver {
    /// An empty saver.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SharedStr, Thread>> {
        // The store is only mutated after all checks passed, so a poisoned lock holds
        // consistent data.
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tuple(
        thread_id: &str,
        ns_name: &str,
        ns: &Namespace,
        id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        let Some(stored) = ns.find(id) else {
            return Ok(None);
        };
        let mut values = BTreeMap::new();
        for (channel, version) in &stored.checkpoint.channel_versions {
            let v = resolve_with(version, ns.blob_count() + 1, |v| ns.blob(channel, v)).map_err(
                |reason| {
                    CheckpointError::corrupt(
                        thread_id,
                        id,
                        format!("channel `{channel}`: {reason}"),
                    )
                },
            )?;
            values.insert(channel.to_string(), v);
        }
        Ok(Some(CheckpointTuple {
            thread_id: thread_id.to_string(),
            ns: ns_name.to_string(),
            checkpoint: stored.checkpoint.clone(),
            metadata: stored.metadata.clone(),
            parent_id: stored.parent.as_deref().map(str::to_string),
            values,
            pending_writes: ns.writes.get(id).cloned().unwrap_or_default(),
        }))
    }

    /// Stores a checkpoint: what both `put` and `put_now` do.
    fn store(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        let mut threads = self.lock();
        // One lookup for the common case (the thread exists): a superstep costs one put.
        let t = match threads.get_mut(put.thread_id.as_str()) {
            Some(t) => t,
            None => threads.entry(put.thread_id.clone()).or_default(),
        };
        check_fence(&put.thread_id, t.epoch, &put.fence)?;
        // A rejected put may leave an empty namespace behind: it reads as no namespace.
        let n = t.namespaces.entry(put.ns).or_default();
        let current_head = n.head_id();
        if current_head != put.expected_head.as_deref() {
            return Err(CheckpointError::conflict(
                &put.thread_id,
                format!(
                    "the latest checkpoint is {current_head:?}, this writer expected {:?}",
                    put.expected_head
                ),
            ));
        }
        t.epoch = put.fence.epoch;
        for b in put.blobs {
            let list = match n.blobs.get_mut(b.channel.as_str()) {
                Some(l) => l,
                None => n.blobs.entry(b.channel).or_default(),
            };
            insert_sorted(list, (b.version, b.value), |(v, _)| v);
        }
        if let Some(parent) = &put.parent_id
            && !put.parent_writes.is_empty()
        {
            upsert(
                n.writes.entry(parent.clone()).or_default(),
                put.parent_writes,
            );
        }
        let stored = Box::new(Stored {
            checkpoint: put.checkpoint,
            metadata: put.metadata,
            parent: put.parent_id,
        });
        insert_sorted(&mut n.checkpoints, stored, |s| &s.checkpoint.id);
        Ok(())
    }

    /// Rows and bytes (as JSON) stored for a thread, for storage accounting.
    pub fn stats(&self, thread_id: &str) -> StorageStats {
        let threads = self.lock();
        let mut s = StorageStats::default();
        let Some(t) = threads.get(thread_id) else {
            return s;
        };
        let len = |v: &dyn erased::Json| v.json_len();
        for ns in t.namespaces.values() {
            for c in &ns.checkpoints {
                s.checkpoints += 1;
                s.checkpoint_bytes += len(&c.checkpoint) + len(&c.metadata);
            }
            for (_, b) in ns.blobs.values().flatten() {
                s.blobs += 1;
                s.blob_bytes += len(b);
            }
            for w in ns.writes.values().flatten() {
                s.writes += 1;
                s.write_bytes += len(&w.value);
            }
        }
        s
    }
}

mod prune;

mod erased {
    pub(super) trait Json {
        fn json_len(&self) -> u64;
    }
    impl<T: serde::Serialize> Json for T {
        fn json_len(&self) -> u64 {
            serde_json::to_vec(self).map_or(0, |v| v.len() as u64)
        }
    }
}

#[async_trait::async_trait]
impl Checkpointer for InMemorySaver {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        let threads = self.lock();
        let Some(t) = threads.get(thread_id) else {
            return Ok(Head {
                epoch: 0,
                checkpoint: None,
            });
        };
        let checkpoint = match t.namespaces.get(ns) {
            Some(n) => match n.head_id() {
                Some(id) => Self::tuple(thread_id, ns, n, id)?,
                None => None,
            },
            None => None,
        };
        Ok(Head {
            epoch: t.epoch,
            checkpoint,
        })
    }

    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        let threads = self.lock();
        match threads.get(thread_id).and_then(|t| t.namespaces.get(ns)) {
            Some(n) => Self::tuple(thread_id, ns, n, checkpoint_id),
            None => Ok(None),
        }
    }

    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        let threads = self.lock();
        let Some(n) = threads.get(thread_id).and_then(|t| t.namespaces.get(ns)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for stored in n.checkpoints.iter().rev() {
            let id = &stored.checkpoint.id;
            if opts.before.as_deref().is_some_and(|b| id.as_str() >= b) {
                continue;
            }
            if !stored.metadata.matches(&opts.filter) {
                continue;
            }
            if opts.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            if let Some(t) = Self::tuple(thread_id, ns, n, id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        let mut threads = self.lock();
        let t = threads.entry(SharedStr::from(thread_id)).or_default();
        if t.epoch != seen_epoch {
            return Err(CheckpointError::conflict(
                thread_id,
                format!(
                    "another run claimed the thread (epoch {} != {seen_epoch})",
                    t.epoch
                ),
            ));
        }
        t.epoch += 1;
        Ok(Fence {
            epoch: t.epoch,
            claim: false,
        })
    }

    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        self.store(put)
    }

    fn put_now(&self, put: PutCheckpoint) -> PutNow {
        PutNow::Done(self.store(put))
    }

    async fn put_writes(&self, writes: PutWrites) -> Result<(), CheckpointError> {
        let mut threads = self.lock();
        let t = threads.entry(writes.thread_id.clone()).or_default();
        check_fence(&writes.thread_id, t.epoch, &writes.fence)?;
        t.epoch = writes.fence.epoch;
        let n = t.namespaces.entry(writes.ns).or_default();
        upsert(
            n.writes.entry(writes.checkpoint_id).or_default(),
            writes.writes,
        );
        Ok(())
    }

    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.lock().remove(thread_id);
        Ok(())
    }

    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        let mut threads = self.lock();
        let has_checkpoints = |t: &Thread| t.namespaces.values().any(|n| !n.checkpoints.is_empty());
        let Some(source) = threads.get(from).filter(|t| has_checkpoints(t)) else {
            return Ok(());
        };
        if threads.get(to).is_some_and(has_checkpoints) {
            return Err(CheckpointError::conflict(
                to,
                "the thread to copy to already has checkpoints",
            ));
        }
        let namespaces = source.namespaces.clone();
        let target = threads.entry(SharedStr::from(to)).or_default();
        target.namespaces = namespaces;
        Ok(())
    }

    async fn threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadInfo>, CheckpointError> {
        let threads = self.lock();
        let heads = threads.iter().filter_map(|(id, t)| {
            let root = t.namespaces.get("")?;
            let head = root.checkpoints.last()?;
            let writes = root.writes.get(head.checkpoint.id.as_str());
            Some((
                id.as_str(),
                head.checkpoint.id.as_str(),
                &head.metadata,
                writes.map_or(&[][..], Vec::as_slice),
            ))
        });
        Ok(query.select(heads))
    }

    async fn prune(&self, thread_ids: &[&str], strategy: Prune) -> Result<(), CheckpointError> {
        let mut threads = self.lock();
        for id in thread_ids {
            match strategy {
                Prune::Delete => {
                    threads.remove(*id);
                }
                Prune::KeepLatest => {
                    if let Some(t) = threads.get_mut(*id) {
                        prune::keep_latest(id, t)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Blob, Source};
    use serde_json::json;

    fn put(
        thread: &str,
        parent: Option<&str>,
        expected: Option<&str>,
        fence: Fence,
        blobs: Vec<Blob>,
    ) -> (PutCheckpoint, SharedStr) {
        let cp = Checkpoint::empty();
        let id = cp.id.clone();
        let mut cp = cp;
        for b in &blobs {
            cp.channel_versions
                .insert(b.channel.clone(), b.version.clone());
        }
        (
            PutCheckpoint {
                thread_id: thread.into(),
                ns: String::new(),
                checkpoint: cp,
                metadata: CheckpointMetadata::new(Source::Loop, 0),
                parent_id: parent.map(Into::into),
                expected_head: expected.map(Into::into),
                blobs,
                parent_writes: vec![],
                fence,
            },
            id,
        )
    }

    #[tokio::test]
    async fn stale_fences_and_heads_conflict() {
        let s = InMemorySaver::new();
        let (p, id1) = put("t", None, None, Fence::claim_from(0), vec![]);
        s.put(p).await.unwrap();
        // a second claimer that read epoch 0 loses
        let (p, _) = put("t", None, None, Fence::claim_from(0), vec![]);
        assert!(s.put(p).await.unwrap_err().is_conflict());
        // a writer with the right epoch but a stale head loses
        let (p, _) = put(
            "t",
            Some(&id1),
            None,
            Fence {
                epoch: 1,
                claim: false,
            },
            vec![],
        );
        assert!(s.put(p).await.unwrap_err().is_conflict());
        // claim bumps the epoch and fences the old writer out
        let f = s.claim("t", 1).await.unwrap();
        assert_eq!(f.epoch, 2);
        let (p, _) = put(
            "t",
            Some(&id1),
            Some(&id1),
            Fence {
                epoch: 1,
                claim: false,
            },
            vec![],
        );
        assert!(s.put(p).await.unwrap_err().is_conflict());
        assert!(s.claim("t", 1).await.unwrap_err().is_conflict());
    }

    #[tokio::test]
    async fn deltas_resolve_and_stats_count() {
        let s = InMemorySaver::new();
        let b1 = Blob {
            channel: "m".into(),
            version: "v1".into(),
            value: BlobValue::Full { value: json!([1]) },
        };
        let (p, id1) = put("t", None, None, Fence::claim_from(0), vec![b1]);
        s.put(p).await.unwrap();
        let b2 = Blob {
            channel: "m".into(),
            version: "v2".into(),
            value: BlobValue::Delta {
                base: "v1".into(),
                items: json!([2]),
                depth: 1,
            },
        };
        let (p, id2) = put(
            "t",
            Some(&id1),
            Some(&id1),
            Fence {
                epoch: 1,
                claim: false,
            },
            vec![b2],
        );
        s.put(p).await.unwrap();
        let h = s.head("t", "").await.unwrap();
        let t = h.checkpoint.unwrap();
        assert_eq!(t.checkpoint.id, id2);
        assert_eq!(t.values["m"], json!([1, 2]));
        assert_eq!(t.parent_id.as_deref(), Some(id1.as_str()));
        let st = s.stats("t");
        assert_eq!((st.checkpoints, st.blobs), (2, 2));
        s.delete_thread("t").await.unwrap();
        assert!(s.head("t", "").await.unwrap().checkpoint.is_none());
    }
}
