//! What a paused thread waits for, read off its head's pending writes: an answer to a
//! question one of its tasks asked, or a retry of a task that failed. A human-in-the-loop
//! inbox lists the first kind, an operator's dashboard the second
//! ([`ThreadQuery::status`](crate::ThreadQuery::status)).

use std::collections::HashSet;

use crate::model::{ERROR, INTERRUPT, PendingWrite, WRITES};

/// What a thread's head waits for (a filter of
/// [`Checkpointer::threads`](crate::Checkpointer::threads)).
///
/// Both are read off the pending writes of the thread's head (the newest checkpoint of its
/// root namespace): a task of the head that stored a question (or an error) and has not
/// stored its output since. So a thread is [`Interrupted`](Self::Interrupted) when `get_state`
/// on it shows interrupts, and stays so until a resume lets the task finish. A
/// superstep where one task asked and a sibling failed is both.
///
/// A run that stops at a static breakpoint (`interrupt_before` / `interrupt_after`) leaves a
/// mark of the same kind under a task id of its own (an empty list of questions), so a thread
/// paused at one is `Interrupted` too, until a run goes on from it (an edit with
/// `update_state` that leaves nodes due keeps the mark); its `get_state` shows the next nodes
/// and, as for any breakpoint, no interrupts.
///
/// ```
/// use langgraph_checkpoint::{INTERRUPT, PendingWrite, ThreadStatus, WRITES};
/// use serde_json::json;
///
/// let write = |task: &str, channel: &str| PendingWrite {
///     task_id: task.into(),
///     task_name: "review".into(),
///     channel: channel.into(),
///     value: json!([]),
/// };
/// // Task t1 asked; t2 asked, was answered and finished.
/// let writes = [write("t1", INTERRUPT), write("t2", INTERRUPT), write("t2", WRITES)];
/// assert!(ThreadStatus::Interrupted.shown_by(&writes));
/// assert!(!ThreadStatus::Interrupted.shown_by(&writes[1..]));
/// assert!(!ThreadStatus::Failed.shown_by(&writes));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadStatus {
    /// A task asked a question (`ctx.interrupt`, directly or in a subgraph it called) and
    /// has not finished, or the run stopped at a static breakpoint: the thread waits for a
    /// human (an answer, or a run that goes on).
    Interrupted,
    /// A task failed (after its retries, or timed out) and has not finished since: the
    /// thread waits for a retry (a continued run) or a correction (`update_state`).
    Failed,
}

impl ThreadStatus {
    /// The pending-write channel that records the state: [`INTERRUPT`] or [`ERROR`].
    pub fn channel(self) -> &'static str {
        match self {
            Self::Interrupted => INTERRUPT,
            Self::Failed => ERROR,
        }
    }

    /// Whether `writes` (the pending writes of one checkpoint) show this state: a task with a
    /// write on [`channel`](Self::channel) and none on [`WRITES`].
    pub fn shown_by(self, writes: &[PendingWrite]) -> bool {
        let channel = self.channel();
        let mut open = writes.iter().filter(|w| w.channel == channel).peekable();
        if open.peek().is_none() {
            return false;
        }
        // The tasks that finished (a paused fan-out can hold thousands of writes).
        let done: HashSet<&str> = writes
            .iter()
            .filter(|w| w.channel == WRITES)
            .map(|w| w.task_id.as_str())
            .collect();
        open.any(|w| !done.contains(w.task_id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn write(task: &str, channel: &str) -> PendingWrite {
        PendingWrite {
            task_id: task.into(),
            task_name: "n".into(),
            channel: channel.into(),
            value: Value::Null,
        }
    }

    #[test]
    fn a_task_that_finished_after_its_question_or_error_waits_for_nothing() {
        use ThreadStatus::*;
        assert!(!Interrupted.shown_by(&[]));
        assert!(Failed.shown_by(&[write("a", ERROR)]));
        assert!(!Failed.shown_by(&[write("a", ERROR), write("a", WRITES)]));
        // Another task's output does not answer this one's question.
        let asked = [write("a", INTERRUPT), write("b", WRITES)];
        assert!(Interrupted.shown_by(&asked));
        assert!(!Failed.shown_by(&asked));
        // An answer stored for a task that then stopped (a crash) leaves the question open.
        assert!(Interrupted.shown_by(&[write("a", INTERRUPT), write("a", "__resume__")]));
        let both = [write("a", INTERRUPT), write("b", ERROR)];
        assert!(Interrupted.shown_by(&both) && Failed.shown_by(&both));
    }
}
