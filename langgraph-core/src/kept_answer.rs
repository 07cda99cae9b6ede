//! A resume value given while no interrupt was pending: kept for the next question asked.
//!
//! `Command::resume(v)` on a thread paused at a static breakpoint, or edited with
//! `update_state` after a node asked, has no open interrupt to answer. The value is stored
//! with the checkpoint and handed to the first `interrupt()` of the next superstep that has no
//! answer of its own; later questions pause as usual.

use std::sync::Mutex;

use serde_json::Value;

/// The kept answer of one superstep, and the task that took it.
#[derive(Debug, Default)]
pub(crate) struct KeptAnswer(Mutex<Kept>);

#[derive(Debug, Default)]
struct Kept {
    value: Option<Value>,
    taken_by: Option<usize>,
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

    /// The answer for task `task`, if no task took it before.
    pub(crate) fn take(&self, task: usize) -> Option<Value> {
        let mut k = self.lock();
        if k.taken_by.is_some() {
            return None;
        }
        let v = k.value.clone()?;
        k.taken_by = Some(task);
        Some(v)
    }

    /// The task that took the answer, and the answer.
    pub(crate) fn taken(&self) -> Option<(usize, Value)> {
        let k = self.lock();
        Some((k.taken_by?, k.value.clone()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_task_that_asks_takes_it_once() {
        let k = KeptAnswer::new(Some(json!("yes")));
        assert_eq!(k.taken(), None);
        assert_eq!(k.take(2), Some(json!("yes")));
        assert_eq!(k.take(0), None);
        assert_eq!(k.take(2), None);
        assert_eq!(k.taken(), Some((2, json!("yes"))));
    }

    #[test]
    fn without_a_value_nothing_is_taken() {
        let k = KeptAnswer::new(None);
        assert_eq!(k.take(0), None);
        assert_eq!(k.taken(), None);
    }
}
