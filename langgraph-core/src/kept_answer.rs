//! A resume value given while no interrupt was pending: kept for the next question asked.
//!
//! `Command::resume(v)` on a thread paused at a static breakpoint, or edited with
//! `update_state` after a node asked, has no open interrupt to answer. The value is stored
//! with the checkpoint and handed to the first `interrupt()` of the next superstep that has no
//! answer of its own; later questions pause as usual. A task that calls a subgraph before any
//! question took it hands it down: the subgraph keeps it for its own first question, in
//! whichever of its supersteps that is (the subgraph runs within the caller's one superstep).

use std::sync::Mutex;

use serde_json::Value;

/// Marks a question key as a subgraph the task handed the answer down to (the rest of the key
/// tells the subgraphs apart); the keys of the task's own questions are their positions.
pub(crate) const HANDED_DOWN: usize = 1 << (usize::BITS - 1);

/// The question key of the subgraph with namespace `ns`, for [`KeptAnswer::take`].
pub(crate) fn handed_down(ns: &str) -> usize {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    ns.hash(&mut h);
    (h.finish() as usize) | HANDED_DOWN
}

/// The kept answer of one superstep, and the question that took it. Most supersteps have none:
/// then nothing is locked.
#[derive(Debug, Default)]
pub(crate) struct KeptAnswer {
    value: Option<Value>,
    /// The task, and the position of its question or the subgraph it handed the answer down
    /// to ([`handed_down`]), that took the answer.
    taken_by: Mutex<Option<(usize, usize)>>,
}

impl KeptAnswer {
    /// A superstep's kept answer (`None`: there is none).
    pub(crate) fn new(value: Option<Value>) -> Self {
        Self {
            value,
            taken_by: Mutex::new(None),
        }
    }

    fn taken_by(&self) -> std::sync::MutexGuard<'_, Option<(usize, usize)>> {
        // One plain value, written whole: a panic cannot leave it inconsistent.
        self.taken_by.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer for question `question` of task `task`, if no other question took it (the
    /// same question asks again when its task is retried).
    pub(crate) fn take(&self, task: usize, question: usize) -> Option<Value> {
        let value = self.value.as_ref()?;
        let mut by = self.taken_by();
        match *by {
            Some(taker) if taker != (task, question) => None,
            _ => {
                *by = Some((task, question));
                Some(value.clone())
            }
        }
    }

    /// The answer, if no question took it.
    pub(crate) fn untaken(&self) -> Option<Value> {
        let value = self.value.as_ref()?;
        self.taken_by().is_none().then(|| value.clone())
    }

    /// The task that took the answer, the question key it took it for, and the answer.
    pub(crate) fn taken(&self) -> Option<(usize, usize, Value)> {
        let value = self.value.as_ref()?;
        let (task, question) = (*self.taken_by())?;
        Some((task, question, value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_question_asked_takes_it_and_only_it() {
        let k = KeptAnswer::new(Some(json!("yes")));
        assert_eq!(k.taken(), None);
        assert_eq!(k.take(2, 0), Some(json!("yes")));
        assert_eq!(k.take(0, 0), None, "another task");
        assert_eq!(k.take(2, 1), None, "a later question of the same task");
        assert_eq!(
            k.take(2, 0),
            Some(json!("yes")),
            "the same question, retried"
        );
        assert_eq!(k.taken(), Some((2, 0, json!("yes"))));
    }

    #[test]
    fn a_subgraph_takes_it_for_its_own_questions_once() {
        let k = KeptAnswer::new(Some(json!(1)));
        let (a, b) = (handed_down("call:t1"), handed_down("other:t1"));
        assert_ne!(a, b);
        assert!(a & HANDED_DOWN != 0 && b & HANDED_DOWN != 0);
        assert_eq!(k.take(0, a), Some(json!(1)));
        assert_eq!(k.take(0, b), None, "a second subgraph of the task");
        assert_eq!(k.take(0, 0), None, "a question of the task itself");
        assert_eq!(k.take(0, a), Some(json!(1)), "the same subgraph, retried");
        assert_eq!(k.taken(), Some((0, a, json!(1))));
    }

    #[test]
    fn without_a_value_nothing_is_taken() {
        let k = KeptAnswer::new(None);
        assert_eq!(k.take(0, 0), None);
        assert_eq!(k.taken(), None);
    }
}
