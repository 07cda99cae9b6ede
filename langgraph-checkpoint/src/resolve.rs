//! Rebuilding full channel values from full blobs and delta chains (pure functions).

use std::collections::HashMap;

use serde_json::Value;

use crate::model::BlobValue;

/// Appends `items` to `acc`: arrays are concatenated, strings joined. Anything else is an
/// error (a delta can only extend an array or a string).
pub fn extend_json(acc: &mut Value, items: Value) -> Result<(), String> {
    match (acc, items) {
        (Value::Array(a), Value::Array(b)) => {
            a.extend(b);
            Ok(())
        }
        (Value::String(a), Value::String(b)) => {
            a.push_str(&b);
            Ok(())
        }
        (a, b) => Err(format!(
            "a delta of kind {} cannot extend a value of kind {}",
            kind(&b),
            kind(a)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A copy of `value` with room for the items of `deltas`, so that extending it does not
/// move it again (a long list would be copied once per doubling).
fn with_room(value: &Value, deltas: &[&Value]) -> Value {
    match value {
        Value::Array(a) => {
            let extra: usize = deltas
                .iter()
                .map(|d| d.as_array().map_or(0, Vec::len))
                .sum();
            let mut v = Vec::with_capacity(a.len() + extra);
            v.extend(a.iter().cloned());
            Value::Array(v)
        }
        Value::String(a) => {
            let extra: usize = deltas.iter().map(|d| d.as_str().map_or(0, str::len)).sum();
            let mut s = String::with_capacity(a.len() + extra);
            s.push_str(a);
            Value::String(s)
        }
        other => other.clone(),
    }
}

/// Resolves the value stored at `version` by following delta bases through `blobs` (a map from
/// version to stored blob value of one channel).
pub fn resolve_chain(version: &str, blobs: &HashMap<String, BlobValue>) -> Result<Value, String> {
    resolve_with(version, blobs.len() + 1, |v| blobs.get(v))
}

/// Resolves the value stored at `version`, looking blobs up with `lookup` and following at most
/// `max_steps` delta links.
pub fn resolve_with<'a>(
    version: &str,
    max_steps: usize,
    lookup: impl Fn(&str) -> Option<&'a BlobValue>,
) -> Result<Value, String> {
    let mut deltas: Vec<&Value> = Vec::new();
    let mut cur = version;
    for _ in 0..max_steps.max(1) {
        match lookup(cur) {
            None => return Err(format!("missing stored value for version {cur}")),
            Some(BlobValue::Full { value }) => {
                let mut acc = with_room(value, &deltas);
                for items in deltas.into_iter().rev() {
                    extend_json(&mut acc, items.clone())?;
                }
                return Ok(acc);
            }
            Some(BlobValue::Delta { base, items, .. }) => {
                deltas.push(items);
                cur = base;
            }
        }
    }
    Err(format!("delta chain of version {version} has a cycle"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full(v: Value) -> BlobValue {
        BlobValue::Full { value: v }
    }
    fn delta(base: &str, items: Value, depth: u32) -> BlobValue {
        BlobValue::Delta {
            base: base.into(),
            items,
            depth,
        }
    }

    #[test]
    fn follows_deltas_in_order() {
        let mut m = HashMap::new();
        m.insert("1".to_string(), full(json!([1])));
        m.insert("2".to_string(), delta("1", json!([2, 3]), 1));
        m.insert("3".to_string(), delta("2", json!([4]), 2));
        assert_eq!(resolve_chain("3", &m).unwrap(), json!([1, 2, 3, 4]));
        assert_eq!(resolve_chain("1", &m).unwrap(), json!([1]));
    }

    #[test]
    fn strings_concatenate() {
        let mut m = HashMap::new();
        m.insert("a".to_string(), full(json!("ab")));
        m.insert("b".to_string(), delta("a", json!("cd"), 1));
        assert_eq!(resolve_chain("b", &m).unwrap(), json!("abcd"));
    }

    #[test]
    fn broken_chains_are_errors_not_panics() {
        let mut m = HashMap::new();
        m.insert("2".to_string(), delta("1", json!([2]), 1));
        assert!(resolve_chain("2", &m).unwrap_err().contains("missing"));
        m.insert("1".to_string(), delta("2", json!([1]), 1));
        assert!(resolve_chain("2", &m).unwrap_err().contains("cycle"));
        m.insert("1".to_string(), full(json!({"a": 1})));
        assert!(
            resolve_chain("2", &m)
                .unwrap_err()
                .contains("cannot extend")
        );
    }
}
