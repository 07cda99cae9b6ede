//! [`SmallMap`]: the ordered map of the checkpoint model, kept as a sorted vector.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered map stored as a vector of pairs sorted by key.
///
/// A checkpoint carries a few small maps (the version of each channel, the versions each
/// node saw) and a run writes one checkpoint per superstep. A sorted vector holds an entry
/// in one slot of one allocation, where a `BTreeMap` allocates a node of eleven slots for
/// its first entry; lookups are binary searches. It iterates in key order and serializes as a
/// JSON object with sorted keys, like a `BTreeMap`, and offers the same reading and
/// inserting methods. For the handful of entries a checkpoint has, inserting out of order
/// (shifting the tail) is cheap; it is not meant for thousands of keys.
///
/// ```
/// use langgraph_checkpoint::SmallMap;
///
/// let mut versions: SmallMap<String, u32> = SmallMap::new();
/// versions.insert("b".into(), 2);
/// versions.insert("a".into(), 1);
/// assert_eq!(versions.insert("b".into(), 3), Some(2));
/// assert_eq!(versions.get("b"), Some(&3));
/// assert_eq!(versions.keys().collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(serde_json::to_string(&versions).unwrap(), r#"{"a":1,"b":3}"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// An empty map (no allocation).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change it.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// True when `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Sets the value of `key`; returns the value it replaced. Appending a key greater than
    /// every other takes no search.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
            self.entries.push((key, value));
            return None;
        }
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    /// Later entries win over earlier ones with the same key, as with `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        // Stable: among equal keys the last one inserted ends up last, and is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        Self { entries: out }
    }
}

impl<K: Ord, V> Extend<(K, V)> for SmallMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        fn pair<K, V>((k, v): &(K, V)) -> (&K, &V) {
            (k, v)
        }
        self.entries.iter().map(pair)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K, V> Deserialize<'de> for SmallMap<K, V>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
        where
            K: Deserialize<'de> + Ord,
            V: Deserialize<'de>,
        {
            type Value = SmallMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = access.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_btree_map() {
        let ops = [("c", 1), ("a", 2), ("b", 3), ("a", 4), ("d", 5), ("b", 6)];
        let mut small = SmallMap::new();
        let mut tree = BTreeMap::new();
        for (k, v) in ops {
            assert_eq!(small.insert(k, v), tree.insert(k, v));
        }
        assert_eq!(small.len(), tree.len());
        assert!(small.iter().eq(tree.iter()));
        assert!(small.iter().rev().eq(tree.iter().rev()));
        assert_eq!(small.get("b"), tree.get("b"));
        assert_eq!(small.get("z"), None);
        assert_eq!(small.remove("c"), tree.remove("c"));
        assert!(!small.contains_key("c"));
        if let Some(v) = small.get_mut("d") {
            *v += 10;
        }
        assert_eq!(small.get("d"), Some(&15));
        assert!(small.values().eq([4, 6, 15].iter()));
        assert!((&small).into_iter().map(|(k, _)| *k).eq(["a", "b", "d"]));
    }

    #[test]
    fn collecting_keeps_the_last_of_equal_keys_in_order() {
        let m: SmallMap<&str, i32> = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [("a", 2), ("b", 3)]);
        let mut e = SmallMap::new();
        e.extend([("x", 1), ("w", 2), ("x", 3)]);
        assert_eq!(format!("{e:?}"), r#"{"w": 2, "x": 3}"#);
    }

    #[test]
    fn json_is_the_same_as_a_btree_maps() {
        let tree: BTreeMap<String, Vec<u8>> = [
            ("z".into(), vec![1]),
            ("m".into(), vec![]),
            ("a".into(), vec![2, 3]),
        ]
        .into();
        let small: SmallMap<String, Vec<u8>> = tree.clone().into_iter().collect();
        let (ts, ss) = (
            serde_json::to_string(&tree).unwrap(),
            serde_json::to_string(&small).unwrap(),
        );
        assert_eq!(ts, ss);
        let back: SmallMap<String, Vec<u8>> = serde_json::from_str(&ts).unwrap();
        assert_eq!(back, small);
        // Unsorted input with a repeated key reads like a BTreeMap would.
        let odd: SmallMap<String, u8> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        let odd_tree: BTreeMap<String, u8> =
            serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert!(odd.iter().eq(odd_tree.iter()));
        assert!(serde_json::from_str::<SmallMap<String, u8>>("[1]").is_err());
        assert!(SmallMap::<String, u8>::with_capacity(4).is_empty());
    }
}
