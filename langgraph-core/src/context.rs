//! `Ctx`: what a running node can ask of the engine.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use langgraph_checkpoint::Checkpointer;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::RunConfig;
use crate::error::NodeError;
use crate::journal::JournalTarget;
use crate::kept_answer::KeptAnswer;
use crate::pregel::events::EventSink;
use crate::report::{Budget, Usage};
use crate::stream::StreamModes;
pub(crate) use crate::task_id::{TaskPath, interrupt_id, task_id};
use crate::types::Interrupt;
use serde::Deserialize;

/// Data shared by every task of one run.
pub(crate) struct RunScope {
    pub(crate) config: RunConfig,
    run_id: OnceLock<String>,
    pub(crate) ns: String,
    /// Where custom events, LLM chunks and subgraph events go (when streamed).
    pub(crate) sink: Option<Arc<dyn EventSink>>,
    /// The stream modes of the run (subgraph runs stream the same ones).
    pub(crate) modes: StreamModes,
    /// The run's checkpointer (subgraphs called from nodes store into it).
    pub(crate) saver: Option<Arc<dyn Checkpointer>>,
    /// LLM usage recorded so far by the run's tasks (and by earlier runs of the thread, for
    /// budgets: loaded from the checkpoint).
    pub(crate) usage: Mutex<Usage>,
    /// A subgraph run writes under its parent's fence.
    pub(crate) fence: Option<langgraph_checkpoint::Fence>,
    /// A budget that replaced the configured one during the thread's run (a human raised it).
    pub(crate) budget: Mutex<Option<Budget>>,
    /// When this run (this call of `invoke`) started, for the wall-time ceiling.
    pub(crate) started: std::time::Instant,
    /// Wall time the thread's run spent in earlier calls (before an interrupt).
    pub(crate) elapsed_before: Mutex<std::time::Duration>,
    /// For a subgraph run: the checkpoints of the enclosing graphs, by namespace (recorded in
    /// its checkpoints' metadata).
    pub(crate) parents: std::collections::BTreeMap<String, String>,
    /// When the run went on from a checkpoint `update_state` wrote: its id and the id of the
    /// checkpoint it follows (per-thread subgraphs its tasks call go on across the edits).
    pub(crate) edited: OnceLock<(String, Option<String>)>,
    /// The replay this run is (or is part of), for the per-thread subgraphs it calls.
    pub(crate) replay: OnceLock<Arc<crate::persistence::Replay>>,
    /// A per-thread subgraph replayed to before its first call starts from an empty state
    /// although its namespace has checkpoints.
    pub(crate) start_empty: bool,
}

impl RunScope {
    pub(crate) fn new(config: RunConfig, ns: String, sink: Option<Arc<dyn EventSink>>) -> Self {
        let run_id = OnceLock::new();
        if let Some(id) = &config.run_id {
            let _ = run_id.set(id.clone());
        }
        Self {
            config,
            run_id,
            ns,
            sink,
            modes: StreamModes::none(),
            saver: None,
            usage: Mutex::new(Usage::default()),
            fence: None,
            budget: Mutex::new(None),
            started: std::time::Instant::now(),
            elapsed_before: Mutex::new(std::time::Duration::ZERO),
            parents: std::collections::BTreeMap::new(),
            edited: OnceLock::new(),
            replay: OnceLock::new(),
            start_empty: false,
        }
    }

    /// What the thread's run spent on LLM calls so far.
    pub(crate) fn spent(&self) -> Usage {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget a human set during the run, if any.
    pub(crate) fn budget_override(&self) -> Option<Budget> {
        *self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget in force: the one set during the run, else the configured one.
    pub(crate) fn budget(&self) -> Option<Budget> {
        self.budget_override().or(self.config.budget)
    }

    /// Wall time of the thread's run: earlier calls plus this one.
    pub(crate) fn elapsed(&self) -> std::time::Duration {
        *self
            .elapsed_before
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            + self.started.elapsed()
    }

    /// Restores what a stored checkpoint says the run spent and the budget a human set.
    pub(crate) fn restore(&self, extra: &serde_json::Map<String, Value>) {
        if let Some(u) = extra.get("usage").and_then(|v| Usage::deserialize(v).ok()) {
            *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = u;
        }
        if let Some(b) = extra
            .get("budget")
            .and_then(|v| Budget::deserialize(v).ok())
        {
            *self.budget.lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
        }
        if let Some(ms) = extra.get("wall_ms").and_then(Value::as_u64) {
            *self
                .elapsed_before
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = std::time::Duration::from_millis(ms);
        }
    }

    /// The run id: the configured one, or a fresh UUID made on first use.
    pub(crate) fn run_id(&self) -> &str {
        self.run_id.get_or_init(|| uuid::Uuid::new_v4().to_string())
    }
}

#[derive(Default)]
pub(crate) struct Slot {
    next_interrupt: usize,
    /// Subgraph runs the task started in this attempt (each gets a namespace of its own).
    subgraph_calls: u32,
    /// The interrupts the task stopped on: its own (one), or those of a subgraph it called.
    pub(crate) raised: Vec<Interrupt>,
    /// LLM usage recorded by the task.
    pub(crate) usage: Usage,
    /// Journaled results by key (loaded from the task's saved writes, then added to; `None`
    /// until the first entry: most tasks journal nothing).
    pub(crate) journal: Option<BTreeMap<String, Value>>,
}

/// What was saved about a task in an earlier attempt of its superstep.
#[derive(Default)]
pub(crate) struct Prior {
    /// Answers to the task's own interrupts, by position.
    pub(crate) resume: Option<Arc<[Value]>>,
    /// Answers to interrupts of subgraphs the task called, by interrupt id.
    pub(crate) resume_by_id: Option<BTreeMap<String, Value>>,
    /// Journaled side-effect results, by key.
    pub(crate) journal: Option<BTreeMap<String, Value>>,
}

/// What the runner knows about one task of a superstep.
pub(crate) struct TaskCtx {
    pub(crate) node: crate::graph::builder::Name,
    pub(crate) path: TaskPath,
    pub(crate) resume: Option<Arc<[Value]>>,
    pub(crate) resume_by_id: Option<BTreeMap<String, Value>>,
    task_id: OnceLock<String>,
    attempt: AtomicU32,
    interrupted: AtomicBool,
    /// Set when the task recorded LLM usage (most tasks do not: no lock to read it then).
    used: AtomicBool,
    pub(crate) slot: Mutex<Slot>,
}

impl TaskCtx {
    pub(crate) fn new(node: crate::graph::builder::Name, path: TaskPath, prior: Prior) -> Self {
        Self {
            node,
            path,
            resume: prior.resume,
            resume_by_id: prior.resume_by_id,
            task_id: OnceLock::new(),
            attempt: AtomicU32::new(1),
            interrupted: AtomicBool::new(false),
            used: AtomicBool::new(false),
            slot: Mutex::new(Slot {
                next_interrupt: 0,
                subgraph_calls: 0,
                raised: Vec::new(),
                usage: Usage::default(),
                journal: prior.journal,
            }),
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
    /// Stores journaled results as pending writes of `base` (with a checkpointer).
    pub(crate) journal: Option<Arc<JournalTarget>>,
    /// A resume value given while nothing was asked, for the first task that asks.
    pub(crate) kept: KeptAnswer,
    /// The namespaces of the per-thread subgraphs the tasks called, with the calling task's id.
    pub(crate) per_thread_calls: Mutex<Vec<(String, String)>>,
}

impl StepCtx {
    /// One `Ctx` per task, appended to `out`.
    pub(crate) fn handles_into(self: &Arc<Self>, out: &mut Vec<Ctx>) {
        out.extend((0..self.tasks.len()).map(|idx| Ctx {
            step: self.clone(),
            idx,
        }));
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
    pub(crate) fn task(&self) -> &TaskCtx {
        // `idx` is always in range: handles are created from the same `tasks`.
        &self.step.tasks[self.idx]
    }

    pub(crate) fn step_ctx(&self) -> &StepCtx {
        &self.step
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
        let answer = match self.task().resume.as_deref().and_then(|r| r.get(idx)) {
            Some(a) => Some(Cow::Borrowed(a)),
            None => self.step.kept.take(self.idx, idx).map(Cow::Owned),
        };
        if let Some(answer) = answer {
            return T::deserialize(answer.as_ref()).map_err(|e| {
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
        let raised = Interrupt {
            id,
            value,
            node: self.node().to_string(),
            ns: self.step.scope.ns.clone(),
            schema,
        };
        self.raise(vec![raised]).await
    }

    /// The superstep's kept answer, handed down to the subgraph with namespace `ns` that this
    /// task calls, unless a question took it already.
    pub(crate) fn hand_down_kept(&self, ns: &str) -> Option<Value> {
        self.step
            .kept
            .take(self.idx, crate::kept_answer::handed_down(ns))
    }

    /// Stops the task on `interrupts` (its own, or a subgraph's): the runner sees the flag
    /// after this poll and drops the task here.
    pub(crate) async fn raise<T>(&self, interrupts: Vec<Interrupt>) -> T {
        self.slot().raised = interrupts;
        self.task().interrupted.store(true, Ordering::Release);
        std::future::pending().await
    }

    /// Sends `payload` to the run's `custom` stream (discarded when the stream does not ask
    /// for custom events). Waits while the consumer is behind (backpressure).
    pub async fn emit(&self, payload: impl Serialize) -> Result<(), NodeError> {
        if let Some(sink) = &self.step.scope.sink {
            let v = serde_json::to_value(payload)?;
            sink.custom(&self.step.scope.ns, self.node(), v).await;
        }
        Ok(())
    }

    /// A handle that writes to the `custom` stream, for code that does not hold the `Ctx`
    /// (LangGraph's `get_stream_writer`). Cheap to clone.
    pub fn writer(&self) -> StreamWriter {
        StreamWriter { ctx: self.clone() }
    }

    /// Sends a chunk of LLM output to the run's `messages` stream, tagged with this node
    /// (the LLM layer calls it while a model streams). Discarded when not streamed.
    pub async fn emit_message(&self, chunk: impl Serialize) -> Result<(), NodeError> {
        if let Some(sink) = &self.step.scope.sink {
            let v = serde_json::to_value(chunk)?;
            sink.message(&self.step.scope.ns, self.node(), v).await;
        }
        Ok(())
    }

    /// True when the run streams LLM chunks (mode `messages`): a model may then stream its
    /// answer instead of waiting for it whole.
    pub fn streams_messages(&self) -> bool {
        self.step.scope.sink.is_some()
            && self
                .step
                .scope
                .modes
                .contains(crate::stream::StreamMode::Messages)
    }

    /// Records LLM usage (tokens, cost, calls) on this task: it appears in the run's
    /// [`RunReport`](crate::RunReport) under this node and in the run's total.
    pub fn record_usage(&self, usage: Usage) {
        self.slot().usage += usage;
        self.task().used.store(true, Ordering::Release);
        *self
            .step
            .scope
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner()) += usage;
    }

    /// The budget in force for this run: the one a human set when the run paused at a ceiling,
    /// else [`RunConfig::budget`].
    pub fn budget(&self) -> Option<Budget> {
        self.step.scope.budget()
    }

    /// Replaces the run's budget (stored with the next checkpoint: it holds across resumes).
    pub fn set_budget(&self, budget: Budget) {
        *self
            .step
            .scope
            .budget
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(budget);
    }

    /// Wall time of the run so far, over its calls (time paused at an interrupt excluded).
    pub fn run_elapsed(&self) -> std::time::Duration {
        self.step.scope.elapsed()
    }

    /// The LLM usage recorded so far in the run (every task, this one included; with a
    /// checkpointer, also before the interrupts the run was resumed from).
    pub fn run_usage(&self) -> Usage {
        *self
            .step
            .scope
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_attempt(&self, n: u32) {
        self.task().attempt.store(n, Ordering::Relaxed);
    }

    pub(crate) fn is_interrupted(&self) -> bool {
        self.task().interrupted.load(Ordering::Acquire)
    }

    pub(crate) fn take_interrupts(&self) -> Vec<Interrupt> {
        std::mem::take(&mut self.slot().raised)
    }

    pub(crate) fn take_usage(&self) -> Usage {
        if !self.task().used.swap(false, Ordering::AcqRel) {
            return Usage::default();
        }
        std::mem::take(&mut self.slot().usage)
    }

    /// Restarts interrupt matching for a new attempt (answers match by position again), and
    /// the numbering of the subgraphs it calls.
    pub(crate) fn reset_for_retry(&self) {
        let mut slot = self.slot();
        slot.next_interrupt = 0;
        slot.subgraph_calls = 0;
    }

    /// The position of the subgraph run the task starts now among those of this attempt
    /// (0 for the first). A task runs again from its start, so each call gets the same
    /// position, and thus the same namespace, every time.
    pub(crate) fn next_subgraph_call(&self) -> u32 {
        let mut slot = self.slot();
        let k = slot.subgraph_calls;
        slot.subgraph_calls += 1;
        k
    }

    pub(crate) fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic while holding this lock cannot leave it inconsistent (plain counters).
        self.task().slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes to the `custom` stream of the run a node belongs to; see [`Ctx::writer`].
#[derive(Clone, Debug)]
pub struct StreamWriter {
    ctx: Ctx,
}

impl StreamWriter {
    /// Sends `payload` (as [`Ctx::emit`]).
    pub async fn write(&self, payload: impl Serialize) -> Result<(), NodeError> {
        self.ctx.emit(payload).await
    }
}

fn is_any_schema(schema: &Value) -> bool {
    // `serde_json::Value` has an unconstrained schema: `{"$schema": ..., "title": "AnyValue"}`.
    schema
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "$schema" || k == "title"))
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
                Prior {
                    resume: Some(resume.into()),
                    ..Prior::default()
                },
            )],
            journal: None,
            kept: KeptAnswer::default(),
            per_thread_calls: Mutex::new(Vec::new()),
        });
        let mut handles = Vec::new();
        step.handles_into(&mut handles);
        handles.remove(0)
    }

    #[test]
    fn a_ctx_reports_its_task() {
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
        let i = c.take_interrupts().remove(0);
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
        assert_eq!(c.take_interrupts()[0].schema, None);
        c.record_usage(Usage {
            input_tokens: 2,
            output_tokens: 3,
            cost: 0.25,
            calls: 1,
        });
        assert_eq!(c.run_usage().total_tokens(), 5);
        assert_eq!(c.take_usage().calls, 1);
        assert!(c.take_usage().is_empty());
        assert!(!c.streams_messages());
        c.reset_for_retry();
        c.set_attempt(2);
        assert_eq!(c.attempt(), 2);
    }
}
