//! `Interrupt`: a question a paused run asks.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A pending dynamic interrupt, raised by [`Ctx::interrupt`](crate::Ctx::interrupt).
///
/// Resume it with `graph.resume(&cfg, answer)` (one pending interrupt) or with
/// [`Command::resume_by_id`](crate::Command::resume_by_id) using [`Interrupt::id`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupt {
    /// Stable id: the same in `get_state` and across resumes, unique per task and position.
    pub id: String,
    /// The payload the node asked with.
    pub value: Value,
    /// The node that asked.
    pub node: String,
    /// Namespace of the graph the node belongs to (`""` for the root graph).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ns: String,
    /// JSON schema the resume value must satisfy, if the node declared a typed answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

impl Interrupt {
    /// The payload deserialized into `T`.
    pub fn value_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_value() {
        let i = Interrupt {
            id: "i".into(),
            value: serde_json::json!({"q": 1}),
            node: "ask".into(),
            ns: String::new(),
            schema: None,
        };
        #[derive(Deserialize)]
        struct Q {
            q: u8,
        }
        assert_eq!(i.value_as::<Q>().unwrap().q, 1);
        assert!(i.value_as::<String>().is_err());
        let j = serde_json::to_value(&i).unwrap();
        assert!(j.get("ns").is_none() && j.get("schema").is_none());
    }
}
