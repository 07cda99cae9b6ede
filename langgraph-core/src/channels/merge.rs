//! Map-style channel values.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

/// A map that `#[reducer(merge)]` updates key by key (a written key replaces the old value;
/// keys not written are kept).
#[diagnostic::on_unimplemented(
    message = "`#[reducer(merge)]` needs a map, and `{Self}` is not one",
    note = "use `HashMap`, `BTreeMap` or `serde_json::Map`, or a custom reducer: `#[reducer(fn = path)]`"
)]
pub trait Mergeable {
    /// Inserts every entry of `other`.
    fn merge(&mut self, other: Self);
}

impl<K: Hash + Eq, V, H: BuildHasher> Mergeable for HashMap<K, V, H> {
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}

impl<K: Ord, V> Mergeable for BTreeMap<K, V> {
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}

impl Mergeable for serde_json::Map<String, serde_json::Value> {
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_keys_win() {
        let mut a = HashMap::from([(1, "a"), (2, "b")]);
        a.merge(HashMap::from([(2, "B"), (3, "c")]));
        assert_eq!(a, HashMap::from([(1, "a"), (2, "B"), (3, "c")]));
        let mut j = serde_json::Map::new();
        j.merge(serde_json::json!({"x": 1}).as_object().cloned().unwrap());
        assert_eq!(j["x"], 1);
    }
}
