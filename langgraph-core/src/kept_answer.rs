//! A resume value given while no interrupt was pending: kept for the next question asked.
//!
//! `Command::resume(v)` on a thread paused at a static breakpoint, or edited with
//! `update_state` after a node asked, has no open interrupt to answer. The value is stored
//! with the checkpoint and handed to the first `interrupt()` of the next superstep that has no
//! answer of its own; later questions pause as usual.

use std::sync::Mutex;

use serde_json::Value;

/// The kept answer of one superstep, and the question that took it. Most supersteps have none:
/// then nothing is locked.
#[derive(Debug, Default)]
pub(crate) struct KeptAnswer {
    value: Option<Value>,
    /// The task and the position of its question that took the answer.
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

    /// The task that took the answer, and the answer.
    pub(crate) fn taken(&self) -> Option<(usize, Value)> {
        let value = self.value.as_ref()?;
        let by = (*self.taken_by())?;
        Some((by.0, value.clone()))
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
        assert_eq!(k.taken(), Some((2, json!("yes"))));
    }

    #[test]
    fn without_a_value_nothing_is_taken() {
        let k = KeptAnswer::new(None);
        assert_eq!(k.take(0, 0), None);
        assert_eq!(k.taken(), None);
    }
}
