//! `Ctx`: what a running node can ask of the engine.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::RunConfig;
use crate::error::NodeError;
use crate::types::Interrupt;

/// Receives custom events from nodes (implemented by the stream of a run).
pub(crate) trait CustomSink: Send + Sync {
    fn custom<'a>(&'a self, ns: &'a str, node: &'a str, payload: Value) -> BoxFuture<'a, ()>;
}

/// Data shared by every task of one run.
pub(crate) struct RunScope {
    pub(crate) config: RunConfig,
    run_id: OnceLock<String>,
    pub(crate) ns: String,
    pub(crate) custom: Option<Box<dyn CustomSink>>,
}

impl RunScope {
    pub(crate) fn new(config: RunConfig, ns: String, custom: Option<Box<dyn CustomSink>>) -> Self {
        let run_id = OnceLock::new();
        if let Some(id) = &config.run_id {
            let _ = run_id.set(id.clone());
        }
        Self {
            config,
            run_id,
            ns,
            custom,
        }
    }

    /// The run id: the configured one, or a fresh UUID made on first use.
    pub(crate) fn run_id(&self) -> &str {
        self.run_id.get_or_init(|| uuid::Uuid::new_v4().to_string())
    }
}

/// Where a task comes from, for its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskPath {
    /// Triggered by edges: one task per node and superstep.
    Pull,
    /// The `n`-th `SendTo` of the superstep.
    Push(u32),
}

#[derive(Default)]
struct Slot {
    next_interrupt: usize,
    raised: Option<Interrupt>,
}

/// What the runner knows about one task of a superstep.
pub(crate) struct TaskCtx {
    pub(crate) node: crate::graph::builder::Name,
    pub(crate) path: TaskPath,
    pub(crate) resume: Option<Arc<[Value]>>,
    task_id: OnceLock<String>,
    attempt: AtomicU32,
    interrupted: AtomicBool,
    slot: Mutex<Slot>,
}

impl TaskCtx {
    pub(crate) fn new(
        node: crate::graph::builder::Name,
        path: TaskPath,
        resume: Option<Arc<[Value]>>,
    ) -> Self {
        Self {
            node,
            path,
            resume,
            task_id: OnceLock::new(),
            attempt: AtomicU32::new(1),
            interrupted: AtomicBool::new(false),
            slot: Mutex::new(Slot::default()),
        }
    }
}

/// The tasks of one superstep, shared by their `Ctx` handles (one allocation per superstep).
pub(crate) struct StepCtx {
    pub(crate) scope: Arc<RunScope>,
    pub(crate) step: i64,
    /// The checkpoint the tasks run from (`None` without a checkpointer: the run id is used).
    pub(crate) base: Option<Arc<str>>,
    pub(crate) tasks: Vec<TaskCtx>,
}

impl StepCtx {
    /// One `Ctx` per task.
    pub(crate) fn handles(self: &Arc<Self>) -> Vec<Ctx> {
        (0..self.tasks.len())
            .map(|idx| Ctx {
                step: self.clone(),
                idx,
            })
            .collect()
    }
}

/// The context of one task: its identity, the run configuration, interrupts and custom
/// stream events.
///
/// A node takes it as a second argument: `async fn node(s: &S, ctx: &Ctx) -> ...`. It is also
/// cheap to clone (an `Arc`), so a closure node can take it by value and move it into the
/// future it returns: `|s: &S, ctx: Ctx| async move { ... }`.
#[derive(Clone)]
pub struct Ctx {
    step: Arc<StepCtx>,
    idx: usize,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("node", &self.node())
            .field("step", &self.step())
            .finish()
    }
}

impl Ctx {
    fn task(&self) -> &TaskCtx {
        // `idx` is always in range: handles are created from the same `tasks`.
        &self.step.tasks[self.idx]
    }

    /// The node this task runs.
    pub fn node(&self) -> &str {
        &self.task().node
    }

    /// The superstep this task runs in.
    pub fn step(&self) -> i64 {
        self.step.step
    }

    /// The attempt number (1 on the first try, then 2, 3 ... under a retry policy).
    pub fn attempt(&self) -> u32 {
        self.task().attempt.load(Ordering::Relaxed)
    }

    /// The run configuration.
    pub fn config(&self) -> &RunConfig {
        &self.step.scope.config
    }

    /// The thread id, if the run has one.
    pub fn thread_id(&self) -> Option<&str> {
        self.step.scope.config.thread_id.as_deref()
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        self.step.scope.run_id()
    }

    /// The namespace of the graph this task belongs to (`""` for the root graph).
    pub fn namespace(&self) -> &str {
        &self.step.scope.ns
    }

    /// The task's stable id: the same across retries, and across resumes of the same
    /// checkpoint. Use it as an idempotency key for side effects.
    pub fn task_id(&self) -> &str {
        let t = self.task();
        t.task_id.get_or_init(|| {
            let base = match &self.step.base {
                Some(b) => b,
                None => self.step.scope.run_id(),
            };
            task_id(base, &self.step.scope.ns, self.step.step, &t.node, t.path)
        })
    }

    /// Pauses the run and asks `value`; returns the answer when the run is resumed.
    ///
    /// On the first execution this call never returns: the task stops here, the run saves the
    /// other tasks' writes and returns the pending [`Interrupt`]. When the run is resumed
    /// with an answer, the node runs again *from its start*, and this call returns the answer
    /// (deserialized into `T`). Several calls in one node are matched with answers by order.
    /// The answer's JSON schema (from `T`) is recorded with the interrupt and checked on
    /// resume, so a wrong answer is rejected before any node runs.
    ///
    /// Errors: the answer does not deserialize into `T`, or `value` does not serialize.
    pub async fn interrupt<T: DeserializeOwned + JsonSchema>(
        &self,
        value: impl Serialize,
    ) -> Result<T, NodeError> {
        let idx = {
            let mut slot = self.slot();
            let i = slot.next_interrupt;
            slot.next_interrupt += 1;
            i
        };
        if let Some(answer) = self.task().resume.as_deref().and_then(|r| r.get(idx)) {
            return T::deserialize(answer).map_err(|e| {
                NodeError::msg(format!(
                    "the resume value for interrupt {idx} of node `{}` does not fit `{}`: {e}",
                    self.node(),
                    std::any::type_name::<T>()
                ))
                .permanent()
            });
        }
        let value = serde_json::to_value(value)?;
        let schema = schemars::schema_for!(T).to_value();
        let schema = (schema != Value::Bool(true) && !is_any_schema(&schema)).then_some(schema);
        let id = interrupt_id(self.task_id(), idx);
        self.slot().raised = Some(Interrupt {
            id,
            value,
            node: self.node().to_string(),
            ns: self.step.scope.ns.clone(),
            schema,
        });
        self.task().interrupted.store(true, Ordering::Release);
        // The runner sees the flag after this poll and drops the task here.
        std::future::pending().await
    }

    /// Sends `payload` to the run's `custom` stream (discarded when the stream does not ask
    /// for custom events). Waits while the consumer is behind (backpressure).
    pub async fn emit(&self, payload: impl Serialize) -> Result<(), NodeError> {
        if let Some(sink) = &self.step.scope.custom {
            let v = serde_json::to_value(payload)?;
            sink.custom(&self.step.scope.ns, self.node(), v).await;
        }
        Ok(())
    }

    pub(crate) fn set_attempt(&self, n: u32) {
        self.task().attempt.store(n, Ordering::Relaxed);
    }

    pub(crate) fn is_interrupted(&self) -> bool {
        self.task().interrupted.load(Ordering::Acquire)
    }

    pub(crate) fn take_interrupt(&self) -> Option<Interrupt> {
        self.slot().raised.take()
    }

    /// Restarts interrupt matching for a new attempt (answers match by position again).
    pub(crate) fn reset_for_retry(&self) {
        let mut slot = self.slot();
        slot.next_interrupt = 0;
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic while holding this lock cannot leave it inconsistent (plain counters).
        self.task().slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn is_any_schema(schema: &Value) -> bool {
    // `serde_json::Value` has an unconstrained schema: `{"$schema": ..., "title": "AnyValue"}`.
    schema
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "$schema" || k == "title"))
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

    fn ctx(resume: Vec<Value>) -> Ctx {
        let scope = Arc::new(RunScope::new(
            RunConfig::thread("t").run_id("r"),
            String::new(),
            None,
        ));
        let step = Arc::new(StepCtx {
            scope,
            step: 2,
            base: Some("base".into()),
            tasks: vec![TaskCtx::new(
                "ask".into(),
                TaskPath::Pull,
                Some(resume.into()),
            )],
        });
        step.handles().remove(0)
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = task_id("c1", "", 1, "a", TaskPath::Pull);
        assert_eq!(a, task_id("c1", "", 1, "a", TaskPath::Pull));
        assert_ne!(a, task_id("c2", "", 1, "a", TaskPath::Pull));
        assert_ne!(
            task_id("c1", "", 1, "w", TaskPath::Push(0)),
            task_id("c1", "", 1, "w", TaskPath::Push(1))
        );
        assert_ne!(interrupt_id(&a, 0), interrupt_id(&a, 1));
        let c = ctx(vec![]);
        assert_eq!(c.task_id(), task_id("base", "", 2, "ask", TaskPath::Pull));
        assert_eq!(
            (c.node(), c.step(), c.attempt(), c.thread_id()),
            ("ask", 2, 1, Some("t"))
        );
        assert_eq!(c.run_id(), "r");
        assert_eq!(c.namespace(), "");
        assert_eq!(c.config().thread_id.as_deref(), Some("t"));
    }

    #[test]
    fn answered_interrupts_return_in_order() {
        let c = ctx(vec![Value::from("yes"), Value::from(3)]);
        futures::executor::block_on(async {
            let a: String = c.interrupt("first?").await.unwrap();
            let b: u32 = c.interrupt("second?").await.unwrap();
            assert_eq!((a.as_str(), b), ("yes", 3));
        });
        assert!(!c.is_interrupted());
    }

    #[test]
    fn wrong_answer_type_is_a_permanent_error() {
        let c = ctx(vec![Value::from("not a number")]);
        let e = futures::executor::block_on(c.interrupt::<u32>("n?")).unwrap_err();
        assert_eq!(e.retryable(), Some(false));
        assert!(e.to_string().contains("does not fit"), "{e}");
    }

    #[test]
    fn unanswered_interrupt_parks_and_records() {
        use futures::FutureExt;
        let c = ctx(vec![]);
        {
            let mut fut = Box::pin(c.interrupt::<bool>(serde_json::json!({"q": 1})));
            assert!(fut.as_mut().now_or_never().is_none());
        }
        assert!(c.is_interrupted());
        let i = c.take_interrupt().unwrap();
        assert_eq!(i.value, serde_json::json!({"q": 1}));
        assert_eq!(i.node, "ask");
        assert_eq!(i.schema.as_ref().unwrap()["type"], "boolean");
        assert_eq!(i.id, interrupt_id(c.task_id(), 0));
    }

    #[test]
    fn value_answers_have_no_schema() {
        use futures::FutureExt;
        let c = ctx(vec![]);
        {
            let mut fut = Box::pin(c.interrupt::<Value>("anything"));
            assert!(fut.as_mut().now_or_never().is_none());
        }
        assert_eq!(c.take_interrupt().unwrap().schema, None);
        c.reset_for_retry();
        c.set_attempt(2);
        assert_eq!(c.attempt(), 2);
    }
}
