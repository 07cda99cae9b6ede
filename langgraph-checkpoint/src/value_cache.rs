//! The last full value of each long list a saver wrote or read, by thread, namespace and
//! channel, so that a read of a long thread's head stops its delta chain where this process
//! already knows the value (no I/O here: the database savers pass their read statement to
//! [`ValueCache::read`] and tell the cache what they stored).
//!
//! A channel version names one value forever (a checkpoint's id, never reused; a prune that
//! stores a value again gives it another version), so an entry is never wrong, only possibly
//! unused: another process writing to the thread, a fork or a prune just make the chain miss
//! it, and the read goes on to the stored full value as without the cache. Only values worth
//! it are kept (lists of [`MIN_ITEMS`] items or more, long strings), at most [`CAPACITY`]
//! channels and about [`MAX_BYTES`] of values, the least recently used going first.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::assemble::{Row, assemble, assemble_with};
use crate::error::CheckpointError;
use crate::model::{BlobValue, CheckpointTuple, PutCheckpoint};
use crate::resolve::extend_json;

/// Fewest items of a list (or bytes of a string) worth keeping: a shorter value is rebuilt
/// from its rows about as fast as it is copied out of the cache.
pub(crate) const MIN_ITEMS: usize = 64;

/// Most channels kept.
pub(crate) const CAPACITY: usize = 256;

/// Most bytes of kept values by default (as [`size_of_value`] counts them); a value larger
/// than the budget is not kept.
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// One kept value.
pub(crate) struct Entry {
    version: String,
    value: BlobValue,
    used: u64,
    /// What the value takes in memory, about.
    bytes: usize,
}

/// About what `value` takes in memory: its text and a slot for each value and key.
fn size_of_value(value: &Value) -> usize {
    const SLOT: usize = std::mem::size_of::<Value>();
    SLOT + match value {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(size_of_value).sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| SLOT + k.len() + size_of_value(v))
            .sum(),
        _ => 0,
    }
}

/// The kept values of one thread namespace, by channel.
type Channels = HashMap<String, Entry>;

/// What a read may take from the cache: the kept values of its thread namespace.
#[derive(Clone, Copy, Default)]
pub(crate) struct Kept<'m>(Option<&'m Channels>);

impl<'m> Kept<'m> {
    /// The value kept for `channel` at `version`.
    pub(crate) fn get(&self, channel: &str, version: &str) -> Option<&'m BlobValue> {
        self.0?
            .get(channel)
            .filter(|e| e.version == version)
            .map(|e| &e.value)
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct ValueCache {
    inner: Mutex<Inner>,
}

impl ValueCache {
    /// A cache that keeps at most about `max_bytes` of values (0: none).
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                max_bytes,
                ..Inner::default()
            }),
        }
    }
}

impl std::fmt::Debug for ValueCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueCache")
            .field("values", &self.lock().len)
            .finish()
    }
}

struct Inner {
    /// By thread, then namespace.
    threads: HashMap<String, HashMap<String, Channels>>,
    len: usize,
    bytes: usize,
    max_bytes: usize,
    clock: u64,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            threads: HashMap::new(),
            len: 0,
            bytes: 0,
            max_bytes: MAX_BYTES,
            clock: 0,
        }
    }
}

/// Whether `value` is worth keeping.
fn worth_keeping(value: &Value) -> bool {
    match value {
        Value::Array(a) => a.len() >= MIN_ITEMS,
        Value::String(s) => s.len() >= MIN_ITEMS * 64,
        _ => false,
    }
}

impl Inner {
    fn channels(&self, thread_id: &str, ns: &str) -> Option<&Channels> {
        self.threads.get(thread_id)?.get(ns)
    }

    fn channels_mut(&mut self, thread_id: &str, ns: &str) -> Option<&mut Channels> {
        self.threads.get_mut(thread_id)?.get_mut(ns)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn insert(&mut self, thread_id: &str, ns: &str, channel: &str, version: &str, value: Value) {
        self.remove(thread_id, ns, channel);
        let bytes = size_of_value(&value);
        if bytes > self.max_bytes {
            return;
        }
        let used = self.tick();
        let entry = Entry {
            version: version.to_string(),
            value: BlobValue::Full { value },
            used,
            bytes,
        };
        self.threads
            .entry(thread_id.to_string())
            .or_default()
            .entry(ns.to_string())
            .or_default()
            .insert(channel.to_string(), entry);
        self.len += 1;
        self.bytes += bytes;
        self.shrink();
    }

    /// Drops the least recently used values until the cache is within its bounds.
    fn shrink(&mut self) {
        while self.len > CAPACITY || self.bytes > self.max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
    }

    fn remove(&mut self, thread_id: &str, ns: &str, channel: &str) {
        let Some(namespaces) = self.threads.get_mut(thread_id) else {
            return;
        };
        if let Some(channels) = namespaces.get_mut(ns)
            && let Some(gone) = channels.remove(channel)
        {
            self.len -= 1;
            self.bytes -= gone.bytes;
            if channels.is_empty() {
                namespaces.remove(ns);
            }
        }
        if namespaces.is_empty() {
            self.threads.remove(thread_id);
        }
    }

    /// Drops the least recently used value; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .threads
            .iter()
            .flat_map(|(t, ns)| ns.iter().map(move |(n, cs)| (t, n, cs)))
            .flat_map(|(t, n, cs)| cs.iter().map(move |(c, e)| (e.used, t, n, c)))
            .min_by_key(|(used, ..)| *used)
            .map(|(_, t, n, c)| (t.clone(), n.clone(), c.clone()));
        match oldest {
            Some((t, n, c)) => {
                self.remove(&t, &n, &c);
                true
            }
            None => false,
        }
    }
}

impl ValueCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The versions kept for the channels of `thread_id`/`ns`, as a JSON object from channel
    /// to version (what a read statement takes), or `None` when there is none.
    pub(crate) fn versions(&self, thread_id: &str, ns: &str) -> Option<String> {
        let inner = self.lock();
        let channels = inner.channels(thread_id, ns)?;
        let kept: Map<String, Value> = channels
            .iter()
            .map(|(c, e)| (c.clone(), Value::String(e.version.clone())))
            .collect();
        Some(Value::Object(kept).to_string())
    }

    /// Calls `f` with the kept values of `thread_id`/`ns`, marking them used.
    pub(crate) fn with<T>(&self, thread_id: &str, ns: &str, f: impl FnOnce(Kept<'_>) -> T) -> T {
        let mut inner = self.lock();
        let now = inner.tick();
        match inner.channels_mut(thread_id, ns) {
            Some(cs) => {
                cs.values_mut().for_each(|e| e.used = now);
                f(Kept(Some(&*cs)))
            }
            None => f(Kept(None)),
        }
    }

    /// Keeps the values a read resolved (`values`: channel, version and value) that are worth
    /// it and not kept yet at that version.
    pub(crate) fn after_read<'a>(
        &self,
        thread_id: &str,
        ns: &str,
        values: impl IntoIterator<Item = (&'a str, &'a str, &'a Value)>,
    ) {
        let mut inner = self.lock();
        for (channel, version, value) in values {
            if !worth_keeping(value) {
                continue;
            }
            let known = inner
                .channels(thread_id, ns)
                .and_then(|cs| cs.get(channel))
                .is_some_and(|e| e.version == version);
            if !known {
                inner.insert(thread_id, ns, channel, version, value.clone());
            }
        }
    }

    /// Follows a checkpoint being stored: a full value worth keeping is kept, and a delta on
    /// a kept version extends it (so the next read of the head finds its value here).
    pub(crate) fn after_put(&self, put: &PutCheckpoint) {
        let mut inner = self.lock();
        let keeps = |b: &&crate::model::Blob| matches!(&b.value, BlobValue::Full { value } if worth_keeping(value));
        if inner.len == 0 && !put.blobs.iter().any(|b| keeps(&b)) {
            return; // nothing kept, nothing to keep: the usual case of a small state
        }
        let (thread_id, ns) = (put.thread_id.as_str(), put.ns.as_str());
        for blob in &put.blobs {
            let channel = blob.channel.as_str();
            match &blob.value {
                BlobValue::Full { value } if worth_keeping(value) => {
                    inner.insert(thread_id, ns, channel, &blob.version, value.clone());
                }
                BlobValue::Full { .. } => inner.remove(thread_id, ns, channel),
                BlobValue::Delta { base, items, .. } => {
                    let now = inner.tick();
                    let Some(e) = inner
                        .channels_mut(thread_id, ns)
                        .and_then(|cs| cs.get_mut(channel))
                    else {
                        continue;
                    };
                    let extended = match &mut e.value {
                        BlobValue::Full { value } if e.version == base.as_str() => {
                            extend_json(value, items.clone()).is_ok()
                        }
                        _ => false,
                    };
                    if extended {
                        // An appended string counts its bytes, a list its items.
                        let grown = size_of_value(items).saturating_sub(
                            std::mem::size_of::<Value>() * usize::from(items.is_array()),
                        );
                        e.version = blob.version.to_string();
                        e.used = now;
                        e.bytes += grown;
                        inner.bytes += grown;
                        inner.shrink();
                    } else {
                        inner.remove(thread_id, ns, channel);
                    }
                }
            }
        }
    }

    /// A checkpoint read that uses the kept values: `fetch(kept)` runs the read statement
    /// with the kept versions (a JSON object, or `None`) and returns its rows; the tuple is
    /// assembled from them and the kept values, and what it resolved is kept. A kept value
    /// another caller dropped between the statement and the assembly makes a second read
    /// without kept values.
    pub(crate) async fn read<F, Fut>(
        &self,
        thread_id: &str,
        ns: &str,
        fetch: F,
    ) -> Result<(i64, Option<CheckpointTuple>), CheckpointError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Row>, CheckpointError>>,
    {
        let versions = self.versions(thread_id, ns);
        let kept_any = versions.is_some();
        let mut rows = fetch(versions).await?;
        let assembled = if kept_any {
            self.with(thread_id, ns, |kept| {
                let complete = rows.iter().all(|r| r.covered(kept));
                complete.then(|| assemble_with(thread_id, ns, std::mem::take(&mut rows), kept))
            })
        } else {
            Some(assemble(thread_id, ns, rows))
        };
        let (epoch, tuple) = match assembled {
            Some(done) => done?,
            None => assemble(thread_id, ns, fetch(None).await?)?,
        };
        if let Some(t) = &tuple {
            let values = t
                .checkpoint
                .channel_versions
                .iter()
                .filter_map(|(c, v)| Some((c.as_str(), v.as_str(), t.values.get(c.as_str())?)));
            self.after_read(thread_id, ns, values);
        }
        Ok((epoch, tuple))
    }

    /// Forgets the values of `thread_id` (deleted).
    pub(crate) fn forget(&self, thread_id: &str) {
        let mut inner = self.lock();
        if let Some(namespaces) = inner.threads.remove(thread_id) {
            for e in namespaces.values().flat_map(HashMap::values) {
                inner.len -= 1;
                inner.bytes -= e.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Blob, Checkpoint, CheckpointMetadata, Fence, Source};
    use serde_json::json;

    fn put(version: &str, value: BlobValue) -> PutCheckpoint {
        PutCheckpoint {
            thread_id: "t".into(),
            ns: String::new(),
            metadata: CheckpointMetadata::new(Source::Loop, 0),
            parent_id: None,
            expected_head: None,
            checkpoint: Checkpoint::with_id(version),
            blobs: vec![Blob {
                channel: "xs".into(),
                version: version.into(),
                value,
            }],
            parent_writes: Vec::new(),
            fence: Fence::claim_from(0),
        }
    }

    impl ValueCache {
        /// How many values and bytes are kept (one lock).
        fn counts(&self) -> (usize, usize) {
            let inner = self.lock();
            (inner.len, inner.bytes)
        }
    }

    fn kept(c: &ValueCache) -> Option<(String, Value)> {
        let version = c.versions("t", "")?;
        let version: Map<String, Value> = serde_json::from_str(&version).unwrap();
        let version = version["xs"].as_str().unwrap().to_string();
        c.with("t", "", |k| match k.get("xs", &version) {
            Some(BlobValue::Full { value }) => Some((version.clone(), value.clone())),
            _ => None,
        })
    }

    #[test]
    fn long_lists_are_kept_and_extended_by_the_deltas_that_follow_them() {
        let c = ValueCache::default();
        let long: Vec<i64> = (0..MIN_ITEMS as i64).collect();
        c.after_put(&put("v1", BlobValue::Full { value: json!(long) }));
        let delta = |base: &str, items| BlobValue::Delta {
            base: base.into(),
            items,
            depth: 1,
        };
        c.after_put(&put("v2", delta("v1", json!([100]))));
        let (version, value) = kept(&c).unwrap();
        assert_eq!(version, "v2");
        assert_eq!(value.as_array().unwrap().len(), MIN_ITEMS + 1);
        assert_eq!(c.versions("t", "").as_deref(), Some(r#"{"xs":"v2"}"#));
        // A delta on another version (a fork) drops the entry; a short value is not kept.
        c.after_put(&put("v9", delta("v1", json!([7]))));
        assert!(kept(&c).is_none());
        c.after_put(&put("v3", BlobValue::Full { value: json!([1]) }));
        assert!(kept(&c).is_none());
        assert_eq!(c.versions("t", ""), None);
        // A read keeps what it resolved; deleting the thread forgets it.
        let v = json!(long);
        c.after_read("t", "", [("xs", "v4", &v)]);
        assert_eq!(kept(&c).unwrap().0, "v4");
        c.forget("t");
        assert!(kept(&c).is_none());
    }

    #[test]
    fn the_bytes_kept_stay_within_the_budget() {
        let c = ValueCache::default();
        // Lists of 64 strings of 768 KiB: 48 MiB each, so one fits and the next evicts it.
        let big = json!(vec!["x".repeat(768 << 10); MIN_ITEMS]);
        let bytes = size_of_value(&big);
        assert!(bytes > MAX_BYTES / 2 && bytes < MAX_BYTES, "{bytes}");
        c.after_read("a", "", [("xs", "v", &big)]);
        assert_eq!(c.lock().bytes, bytes);
        c.after_read("b", "", [("xs", "v", &big)]);
        assert!(c.versions("a", "").is_none(), "the older one went");
        assert_eq!(c.counts(), (1, bytes));
        // Extending the kept list counts the appended items; past the budget it goes.
        let mut p = put(
            "v2",
            BlobValue::Delta {
                base: "v".into(),
                items: json!(vec!["y".repeat(768 << 10); MIN_ITEMS]),
                depth: 1,
            },
        );
        p.thread_id = "b".into();
        c.after_put(&p);
        assert_eq!(c.counts(), (0, 0), "over the budget");
        // A value larger than the budget is not kept at all.
        let huge = json!(vec!["z".repeat(2 << 20); MIN_ITEMS]);
        c.after_read("h", "", [("xs", "v", &huge)]);
        assert_eq!(c.lock().len, 0);
        c.after_read("b", "", [("xs", "v", &big)]);
        c.forget("b");
        assert_eq!(c.counts(), (0, 0));
    }

    #[test]
    fn a_cache_of_no_bytes_keeps_nothing() {
        let c = ValueCache::new(0);
        let long = json!((0..MIN_ITEMS).collect::<Vec<_>>());
        c.after_read("t", "", [("xs", "v", &long)]);
        c.after_put(&put("v1", BlobValue::Full { value: long }));
        assert_eq!(c.counts(), (0, 0));
        assert_eq!(c.versions("t", ""), None);
    }

    #[test]
    fn the_least_recently_used_channel_goes_first() {
        let c = ValueCache::default();
        let long = json!((0..MIN_ITEMS).collect::<Vec<_>>());
        for i in 0..=CAPACITY {
            c.after_read(&format!("t{i}"), "", [("xs", "v", &long)]);
            if i == 1 {
                // t0 is used again: t1 is now the least recently used.
                c.with("t0", "", |k| assert!(k.get("xs", "v").is_some()));
            }
        }
        assert!(c.versions("t1", "").is_none());
        assert!(c.versions("t0", "").is_some());
        assert_eq!(c.lock().len, CAPACITY);
        c.forget("t0");
        assert_eq!(c.lock().len, CAPACITY - 1);
    }
}
