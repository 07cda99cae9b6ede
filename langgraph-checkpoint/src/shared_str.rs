//! [`SharedStr`]: the immutable, cheaply cloned string of ids and names in the checkpoint
//! model.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string that clones by reference count.
///
/// Checkpoint ids, thread ids and node and channel names repeat in every checkpoint a run
/// writes (a checkpoint's id is also its channels' version and the next checkpoint's parent),
/// so the model holds them as `SharedStr`: a run allocates each once. It reads like a `&str`
/// (it derefs to one, compares with `str` and `String`, and looks up `&str` keys in maps),
/// converts from `&str` and `String`, and serializes as a plain JSON string.
///
/// ```
/// use langgraph_checkpoint::SharedStr;
/// use std::collections::BTreeMap;
///
/// let id = SharedStr::from("0190a1b2-0000-7000-8000-000000000001");
/// let copy = id.clone(); // no allocation
/// assert_eq!(copy, id);
/// assert!(id.starts_with("0190"));
/// assert_eq!(id, "0190a1b2-0000-7000-8000-000000000001");
///
/// let mut versions: BTreeMap<SharedStr, SharedStr> = BTreeMap::new();
/// versions.insert("messages".into(), id);
/// assert!(versions.contains_key("messages"));
/// assert_eq!(serde_json::to_string(&versions).unwrap(),
///            r#"{"messages":"0190a1b2-0000-7000-8000-000000000001"}"#);
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Arc<str>);

impl SharedStr {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        Self::from("")
    }
}

impl Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        Self(Arc::from(s.as_str()))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(s: Arc<str>) -> Self {
        Self(s)
    }
}

impl From<SharedStr> for Arc<str> {
    fn from(s: SharedStr) -> Self {
        s.0
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `Cow` borrows when the input allows it, so a string is copied once, into the Arc.
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Self(Arc::from(&*s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_with_plain_strings_both_ways() {
        let s = SharedStr::from(String::from("node"));
        let (text, owned): (&str, String) = ("node", "node".to_string());
        assert_eq!(s, text);
        assert_eq!(text, s);
        assert_eq!(s, *text);
        assert_eq!(*text, s);
        assert_eq!(s, owned);
        assert_eq!(owned, s);
        assert_ne!(s, "other");
        assert_eq!(format!("{s} {s:?}"), "node \"node\"");
        assert_eq!(String::from(s.clone()), "node");
        assert_eq!(s.as_str(), "node");
        assert_eq!(SharedStr::default(), "");
    }

    #[test]
    fn clones_share_the_text() {
        let a = SharedStr::from("x");
        let b = a.clone();
        let (pa, pb): (Arc<str>, Arc<str>) = (a.into(), b.into());
        assert!(Arc::ptr_eq(&pa, &pb));
    }

    #[test]
    fn orders_like_str_and_round_trips_through_json() {
        let mut v: Vec<SharedStr> = ["b", "a", "c"].into_iter().map(Into::into).collect();
        v.sort();
        assert_eq!(v, ["a", "b", "c"]);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"["a","b","c"]"#);
        let back: Vec<SharedStr> = serde_json::from_str(r#"["a","b\"c"]"#).unwrap();
        assert_eq!(back, ["a", "b\"c"]);
        let err = serde_json::from_str::<SharedStr>("3").unwrap_err();
        assert!(err.to_string().contains("string"), "{err}");
    }
}
