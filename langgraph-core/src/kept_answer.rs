//! A resume value given while no interrupt was pending: kept for the next question asked.
//!
//! `Command::resume(v)` on a thread paused at a static breakpoint, or edited with
//! `update_state` after a node asked, has no open interrupt to answer. The value is stored
//! with the checkpoint and handed to the first `interrupt()` of the next superstep that has no
//! answer of its own; later questions pause as usual.

use std::sync::Mutex;

use serde_json::Value;

/// The kept answer of one superstep, and the question that took it.
#[derive(Debug, Default)]
pub(crate) struct KeptAnswer(Mutex<Kept>);

#[derive(Debug, Default)]
struct Kept {
    value: Option<Value>,
    /// The task and the position of its question.
    taken_by: Option<(usize, usize)>,
}

impl KeptAnswer {
    /// A superstep's kept answer (`None`: there is none).
    pub(crate) fn new(value: Option<Value>) -> Self {
        Self(Mutex::new(Kept {
            value,
            taken_by: None,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Two plain fields, each written whole: a panic cannot leave them inconsistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer for question `question` of task `task`, if no other question took it (the
    /// same question asks again when its task is retried).
    pub(crate) fn take(&self, task: usize, question: usize) -> Option<Value> {
        let mut k = self.lock();
        match k.taken_by {
            Some(by) if by != (task, question) => None,
            _ => {
                let v = k.value.clone()?;
                k.taken_by = Some((task, question));
                Some(v)
            }
        }
    }

    /// The task that took the answer, and the answer.
    pub(crate) fn taken(&self) -> Option<(usize, Value)> {
        let k = self.lock();
        Some((k.taken_by?.0, k.value.clone()?))
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
