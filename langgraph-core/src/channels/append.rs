//! Append-style channel values.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;

/// A value that `#[reducer(append)]` can extend, and whose appended tail a checkpointer can
/// store as a delta.
#[diagnostic::on_unimplemented(
    message = "`#[reducer(append)]` needs a list, and `{Self}` is not one",
    label = "not appendable",
    note = "use `Vec<T>`, `VecDeque<T>` or `String`, or a custom reducer: `#[reducer(fn = path)]`"
)]
pub trait Appendable: Default {
    /// Number of items.
    fn len(&self) -> usize;
    /// True when there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends all items of `other`.
    fn append(&mut self, other: Self);
    /// The items from index `from` on, as JSON (an array, or a string for `String`).
    fn tail_to_json(&self, from: usize) -> Result<Value, serde_json::Error>;
}

impl<T: Serialize> Appendable for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn append(&mut self, other: Self) {
        self.extend(other);
    }
    fn tail_to_json(&self, from: usize) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self.get(from..).unwrap_or(&[]))
    }
}

impl<T: Serialize> Appendable for VecDeque<T> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn append(&mut self, other: Self) {
        self.extend(other);
    }
    fn tail_to_json(&self, from: usize) -> Result<Value, serde_json::Error> {
        let tail: Vec<&T> = self.iter().skip(from).collect();
        serde_json::to_value(tail)
    }
}

impl Appendable for String {
    fn len(&self) -> usize {
        String::len(self)
    }
    fn append(&mut self, other: Self) {
        self.push_str(&other);
    }
    fn tail_to_json(&self, from: usize) -> Result<Value, serde_json::Error> {
        Ok(Value::String(self.get(from..).unwrap_or("").to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tails() {
        let v = vec![1, 2, 3];
        assert_eq!(v.tail_to_json(1).unwrap(), json!([2, 3]));
        assert_eq!(v.tail_to_json(9).unwrap(), json!([]));
        let d: VecDeque<i32> = [1, 2].into();
        assert_eq!(d.tail_to_json(1).unwrap(), json!([2]));
        let mut s = String::from("ab");
        Appendable::append(&mut s, "cd".into());
        assert_eq!(s.tail_to_json(2).unwrap(), json!("cd"));
        assert_eq!(Appendable::len(&s), 4);
        assert!(!Appendable::is_empty(&s));
    }
}
