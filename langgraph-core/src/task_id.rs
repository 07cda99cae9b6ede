//! Stable ids of tasks and of their interrupts: the same for every attempt and resume of a
//! superstep, so that saved writes and answers find their task again.

/// Where a task comes from, for its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskPath {
    /// Triggered by edges: one task per node and superstep.
    Pull,
    /// The `n`-th `SendTo` of the superstep.
    Push(u32),
}

const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c61_6e67_6772_6170_682d_7461_736b_0001);

/// The stable id of a task (a UUID v5 of where it comes from).
pub(crate) fn task_id(base: &str, ns: &str, step: i64, node: &str, path: TaskPath) -> String {
    let key = match path {
        TaskPath::Pull => format!("{base}|{ns}|{step}|pull|{node}"),
        TaskPath::Push(i) => format!("{base}|{ns}|{step}|push|{i}|{node}"),
    };
    uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string()
}

/// The stable id of the `idx`-th interrupt of a task.
pub(crate) fn interrupt_id(task_id: &str, idx: usize) -> String {
    let key = format!("{task_id}|interrupt|{idx}");
    uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes())
        .simple()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = task_id("c1", "", 1, "a", TaskPath::Pull);
        assert_eq!(a, task_id("c1", "", 1, "a", TaskPath::Pull));
        assert_ne!(a, task_id("c2", "", 1, "a", TaskPath::Pull));
        assert_ne!(a, task_id("c1", "sub", 1, "a", TaskPath::Pull));
        assert_ne!(
            task_id("c1", "", 1, "w", TaskPath::Push(0)),
            task_id("c1", "", 1, "w", TaskPath::Push(1))
        );
        assert_ne!(interrupt_id(&a, 0), interrupt_id(&a, 1));
        assert_eq!(interrupt_id(&a, 0), interrupt_id(&a, 0));
    }
}
