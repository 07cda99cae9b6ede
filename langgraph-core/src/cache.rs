//! The node cache: a node with a [`CachePolicy`] reuses the output of an earlier task with the
//! same input (within the policy's time to live) instead of running.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

type KeyFn = Arc<dyn Fn(&Value) -> String + Send + Sync>;

/// How a node's outputs are cached: for how long, and by which key (default: the node's input,
/// the state or its `SendTo` payload, as JSON).
///
/// ```
/// use std::time::Duration;
/// use langgraph_core::CachePolicy;
/// let p = CachePolicy::new()
///     .ttl(Duration::from_secs(60))
///     .key(|input| input["question"].as_str().unwrap_or_default().to_lowercase());
/// assert_eq!(p.ttl, Some(Duration::from_secs(60)));
/// assert_eq!(p.key_of(&serde_json::json!({"question": "Hi", "n": 1})), "hi");
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CachePolicy {
    /// How long an entry is used (`None`: until the cache is cleared).
    pub ttl: Option<Duration>,
    key: Option<KeyFn>,
}

impl fmt::Debug for CachePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachePolicy")
            .field("ttl", &self.ttl)
            .field("key", &self.key.as_ref().map(|_| "fn"))
            .finish()
    }
}

impl CachePolicy {
    /// Entries without expiry, keyed by the whole input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries expire `ttl` after they were stored.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Keys entries by `f(input as JSON)` instead of the whole input (for example to ignore
    /// fields that do not change the output).
    pub fn key(mut self, f: impl Fn(&Value) -> String + Send + Sync + 'static) -> Self {
        self.key = Some(Arc::new(f));
        self
    }

    /// The key of an input.
    pub fn key_of(&self, input: &Value) -> String {
        match &self.key {
            Some(f) => f(input),
            None => digest(input.to_string().as_bytes()),
        }
    }
}

const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c61_6e67_6772_6170_682d_6361_6368_0001);

fn digest(bytes: &[u8]) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, bytes).simple().to_string()
}

/// Where cached node outputs live. Implement it to share a cache between processes (Redis, a
/// table); [`InMemoryCache`] is the default.
pub trait NodeCache: Send + Sync {
    /// The entry under `key`, if present and not expired.
    fn get(&self, key: &str) -> Option<Value>;
    /// Stores an entry.
    fn put(&self, key: &str, value: Value, ttl: Option<Duration>);
    /// Removes every entry.
    fn clear(&self);
}

/// A cache in this process's memory.
///
/// ```
/// use std::time::Duration;
/// use langgraph_core::{InMemoryCache, NodeCache};
/// let c = InMemoryCache::new();
/// c.put("k", serde_json::json!(1), None);
/// c.put("gone", serde_json::json!(2), Some(Duration::ZERO));
/// assert_eq!(c.get("k"), Some(serde_json::json!(1)));
/// assert_eq!(c.get("gone"), None);
/// c.clear();
/// assert_eq!(c.get("k"), None);
/// ```
#[derive(Default)]
pub struct InMemoryCache {
    map: Mutex<HashMap<String, (Value, Option<Instant>)>>,
}

impl fmt::Debug for InMemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryCache").finish_non_exhaustive()
    }
}

impl InMemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Value, Option<Instant>)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl NodeCache for InMemoryCache {
    fn get(&self, key: &str) -> Option<Value> {
        let mut map = self.lock();
        match map.get(key) {
            Some((_, Some(exp))) if *exp <= Instant::now() => {
                map.remove(key);
                None
            }
            Some((v, _)) => Some(v.clone()),
            None => None,
        }
    }

    fn put(&self, key: &str, value: Value, ttl: Option<Duration>) {
        let expires = ttl.map(|t| Instant::now() + t);
        self.lock().insert(key.to_string(), (value, expires));
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

/// The key of a node's entry: graph, node and the policy's key of the input.
pub(crate) fn entry_key(graph: &str, node: &str, policy: &CachePolicy, input: &Value) -> String {
    format!("{graph}\u{1f}{node}\u{1f}{}", policy.key_of(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_graph_node_and_input() {
        let p = CachePolicy::new();
        let a = entry_key("g", "n", &p, &serde_json::json!({"x": 1}));
        assert_eq!(a, entry_key("g", "n", &p, &serde_json::json!({"x": 1})));
        assert_ne!(a, entry_key("g", "n", &p, &serde_json::json!({"x": 2})));
        assert_ne!(a, entry_key("g", "m", &p, &serde_json::json!({"x": 1})));
        assert!(format!("{p:?}").contains("ttl"));
    }
}
