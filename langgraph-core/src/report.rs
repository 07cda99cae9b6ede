//! `RunReport`: what a run did, per node: tasks, latency, retries, errors, interrupts, cache
//! hits and LLM usage (tokens, cost, calls).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Tokens, cost and calls of LLM requests. Nodes (the LLM layer) record it with
/// [`Ctx::record_usage`](crate::Ctx::record_usage).
///
/// ```
/// use langgraph_core::Usage;
/// let mut u = Usage::default();
/// u += Usage { input_tokens: 10, output_tokens: 5, cost: 0.001, calls: 1 };
/// u += Usage { input_tokens: 1, output_tokens: 2, cost: 0.0005, calls: 1 };
/// assert_eq!((u.input_tokens, u.output_tokens, u.calls), (11, 7, 2));
/// assert_eq!(u.total_tokens(), 18);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Cost in the pricing table's currency (0 when the model has no price).
    pub cost: f64,
    /// Requests made.
    pub calls: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Self) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cost += o.cost;
        self.calls += o.calls;
    }
}

/// What to do when a run reaches a [`Budget`] ceiling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExceeded {
    /// Pause the run with an interrupt whose payload is a [`BudgetExceeded`]; answer it with a
    /// raised [`Budget`] to go on.
    #[default]
    Pause,
    /// Fail the run with a typed error.
    Fail,
}

/// Ceilings on what a run may spend on LLM calls: tokens, cost, calls and wall time. The LLM
/// layer checks it before every call, so no call is made past a ceiling. The budget and what
/// was spent so far are stored in every checkpoint: they survive interrupts and resumes.
///
/// ```
/// use std::time::Duration;
/// use langgraph_core::{Budget, OnExceeded, Usage};
/// let b = Budget::usd(0.05).tokens(20_000).calls(10).wall(Duration::from_secs(60));
/// assert_eq!(b.on_exceeded, OnExceeded::Pause);
/// let spent = Usage { input_tokens: 15_000, output_tokens: 5_000, cost: 0.01, calls: 3 };
/// let e = b.exceeded(&spent, Duration::from_secs(1)).unwrap();
/// assert_eq!(e.ceiling, "tokens");
/// assert!(b.exceeded(&Usage::default(), Duration::ZERO).is_none());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Budget {
    /// Input plus output tokens.
    pub max_tokens: Option<u64>,
    /// Cost, in the pricing table's currency.
    pub max_cost: Option<f64>,
    /// LLM calls.
    pub max_calls: Option<u64>,
    /// Wall time of the run, in milliseconds (time paused at an interrupt does not count).
    pub max_wall_ms: Option<u64>,
    /// What happens at a ceiling.
    #[serde(default)]
    #[schemars(skip)]
    pub on_exceeded: OnExceeded,
}

impl Budget {
    /// A budget of `cost` (in the pricing table's currency, usually US dollars).
    pub fn usd(cost: f64) -> Self {
        Self {
            max_cost: Some(cost),
            ..Self::default()
        }
    }
    /// A budget without ceilings (add them with the other methods).
    pub fn unlimited() -> Self {
        Self::default()
    }
    /// Sets the token ceiling.
    pub fn tokens(mut self, n: u64) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Sets the cost ceiling.
    pub fn cost(mut self, c: f64) -> Self {
        self.max_cost = Some(c);
        self
    }
    /// Sets the call ceiling.
    pub fn calls(mut self, n: u64) -> Self {
        self.max_calls = Some(n);
        self
    }
    /// Sets the wall-time ceiling.
    pub fn wall(mut self, d: Duration) -> Self {
        self.max_wall_ms = Some(d.as_millis() as u64);
        self
    }
    /// Sets what happens at a ceiling.
    pub fn on_exceeded(mut self, what: OnExceeded) -> Self {
        self.on_exceeded = what;
        self
    }

    /// The first ceiling that `spent` (and `elapsed`) reached, if any.
    pub fn exceeded(&self, spent: &Usage, elapsed: Duration) -> Option<BudgetExceeded> {
        let hit = |ceiling: &'static str, limit: f64, used: f64| {
            (used >= limit).then(|| BudgetExceeded {
                ceiling: ceiling.to_string(),
                limit,
                used,
                budget: *self,
                spent: *spent,
            })
        };
        self.max_tokens
            .and_then(|m| hit("tokens", m as f64, spent.total_tokens() as f64))
            .or_else(|| self.max_cost.and_then(|m| hit("cost", m, spent.cost)))
            .or_else(|| {
                self.max_calls
                    .and_then(|m| hit("calls", m as f64, spent.calls as f64))
            })
            .or_else(|| {
                self.max_wall_ms
                    .and_then(|m| hit("wall_ms", m as f64, elapsed.as_millis() as f64))
            })
    }
}

/// A [`Budget`] ceiling was reached: the payload of the pause, or the error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error(
    "the run's budget is spent: {ceiling} reached {used} of {limit}; raise the budget (answer \
     the interrupt with a new Budget, or set a larger one in the RunConfig) to go on"
)]
pub struct BudgetExceeded {
    /// Which ceiling: `tokens`, `cost`, `calls` or `wall_ms`.
    pub ceiling: String,
    /// The ceiling.
    pub limit: f64,
    /// What was used.
    pub used: f64,
    /// The budget.
    pub budget: Budget,
    /// What the run spent.
    pub spent: Usage,
}

/// What one node did during a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Tasks that ran (a task retried three times counts once).
    pub tasks: u64,
    /// Tasks whose output came from the node cache.
    pub cache_hits: u64,
    /// Attempts beyond the first, over all tasks.
    pub retries: u64,
    /// Tasks that failed (after their retries), handled by an error handler or not.
    pub errors: u64,
    /// Tasks that stopped on an interrupt.
    pub interrupts: u64,
    /// Wall time of the node's tasks, summed.
    #[serde(with = "micros")]
    pub total_time: Duration,
    /// The slowest task.
    #[serde(with = "micros")]
    pub max_time: Duration,
    /// LLM usage recorded by the node's tasks.
    pub usage: Usage,
}

impl NodeReport {
    /// Mean wall time per task.
    pub fn mean_time(&self) -> Duration {
        match self.tasks {
            0 => Duration::ZERO,
            n => self.total_time / n as u32,
        }
    }
}

/// What a run did: per node, and in total. Returned with every run
/// ([`RunOutput::report`](crate::RunOutput::report)) and streamed last in mode
/// [`StreamMode::Debug`](crate::StreamMode::Debug). Index it by node name.
///
/// ```
/// # use langgraph_core::__private::doc_state::{Review, ReviewUpdate};
/// use langgraph_core::{StateGraph, START, END};
/// let g = StateGraph::<Review>::new()
///     .node("write", |s: &Review| ReviewUpdate::new().rounds(s.rounds + 1))
///     .edge(START, "write")
///     .edge("write", END)
///     .compile()
///     .unwrap();
/// let out = futures::executor::block_on(g.invoke(Review::default(), &Default::default())).unwrap();
/// assert_eq!(out.report.steps, 1);
/// assert_eq!(out.report["write"].tasks, 1);
/// assert_eq!(out.report["nowhere"].tasks, 0); // a node that ran nothing
/// assert_eq!(out.report.nodes().count(), 1);
/// assert_eq!(out.report.total().errors, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    /// Supersteps run.
    pub steps: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// LLM usage of the whole run, across its interrupts and resumes (with a checkpointer);
    /// [`usage`](Self::usage) is this call's part.
    pub spent: Usage,
    /// Node names (the graph's, shared) and their reports, by node id.
    names: Arc<[Name]>,
    per_node: Vec<NodeReport>,
}

type Name = std::borrow::Cow<'static, str>;

static EMPTY: NodeReport = NodeReport {
    tasks: 0,
    cache_hits: 0,
    retries: 0,
    errors: 0,
    interrupts: 0,
    total_time: Duration::ZERO,
    max_time: Duration::ZERO,
    usage: Usage {
        input_tokens: 0,
        output_tokens: 0,
        cost: 0.0,
        calls: 0,
    },
};

impl RunReport {
    /// The nodes that ran a task (or hit the cache, or failed), with their reports.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &NodeReport)> {
        self.names
            .iter()
            .zip(&self.per_node)
            .filter(|(_, n)| **n != EMPTY)
            .map(|(name, n)| (&**name, n))
    }

    /// A node's report (empty for a node that did nothing, or that the graph does not have).
    pub fn node(&self, name: &str) -> &NodeReport {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.per_node.get(i))
            .unwrap_or(&EMPTY)
    }

    /// The sum over nodes.
    pub fn total(&self) -> NodeReport {
        let mut t = NodeReport::default();
        for (_, n) in self.nodes() {
            t.tasks += n.tasks;
            t.cache_hits += n.cache_hits;
            t.retries += n.retries;
            t.errors += n.errors;
            t.interrupts += n.interrupts;
            t.total_time += n.total_time;
            t.max_time = t.max_time.max(n.max_time);
            t.usage += n.usage;
        }
        t
    }

    /// LLM usage of this call of the run.
    pub fn usage(&self) -> Usage {
        self.total().usage
    }
}

impl std::ops::Index<&str> for RunReport {
    type Output = NodeReport;
    fn index(&self, node: &str) -> &NodeReport {
        self.node(node)
    }
}

/// The JSON form: `{steps, elapsed (µs), spent, nodes: {name: report}}`.
#[derive(Serialize, Deserialize)]
struct ReportJson {
    steps: u64,
    #[serde(with = "micros")]
    elapsed: Duration,
    #[serde(default)]
    spent: Usage,
    nodes: BTreeMap<String, NodeReport>,
}

impl Serialize for RunReport {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        ReportJson {
            steps: self.steps,
            elapsed: self.elapsed,
            spent: self.spent,
            nodes: self
                .nodes()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RunReport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = ReportJson::deserialize(d)?;
        let (names, per_node): (Vec<Name>, Vec<NodeReport>) = j
            .nodes
            .into_iter()
            .map(|(k, v)| (Name::Owned(k), v))
            .unzip();
        Ok(Self {
            steps: j.steps,
            elapsed: j.elapsed,
            spent: j.spent,
            names: names.into(),
            per_node,
        })
    }
}

/// Per-node counters while a run goes (indexed by node id; turned into a report at the end).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) nodes: Vec<NodeReport>,
    pub(crate) steps: u64,
}

impl Tally {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            nodes: vec![NodeReport::default(); nodes],
            steps: 0,
        }
    }

    pub(crate) fn node(&mut self, id: u32) -> Option<&mut NodeReport> {
        self.nodes.get_mut(id as usize)
    }

    pub(crate) fn task(&mut self, id: u32, took: Duration) {
        if let Some(n) = self.node(id) {
            n.tasks += 1;
            n.total_time += took;
            n.max_time = n.max_time.max(took);
        }
    }

    /// The report, taking the counters (the run is over: later tasks are not counted).
    pub(crate) fn take_report(
        &mut self,
        names: Arc<[Name]>,
        elapsed: Duration,
        spent: Usage,
    ) -> RunReport {
        RunReport {
            steps: self.steps,
            elapsed,
            spent,
            names,
            per_node: std::mem::take(&mut self.nodes),
        }
    }
}

mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros() as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_become_reports_of_the_nodes_that_ran() {
        let mut t = Tally::new(3);
        t.task(0, Duration::from_millis(2));
        t.task(0, Duration::from_millis(4));
        t.task(2, Duration::from_millis(1));
        if let Some(n) = t.node(2) {
            n.retries += 2;
            n.usage += Usage {
                input_tokens: 3,
                output_tokens: 4,
                cost: 0.5,
                calls: 1,
            };
        }
        t.steps = 2;
        let names: Arc<[Name]> = ["a", "b", "c"].into_iter().map(Name::Borrowed).collect();
        let r = t.take_report(names, Duration::from_millis(9), Usage::default());
        assert_eq!(r.nodes().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(r["a"].tasks, 2);
        assert_eq!(r["a"].max_time, Duration::from_millis(4));
        assert_eq!(r["a"].mean_time(), Duration::from_millis(3));
        assert_eq!(r["b"], EMPTY);
        let total = r.total();
        assert_eq!((total.tasks, total.retries), (3, 2));
        assert_eq!(r.usage().total_tokens(), 7);
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["nodes"]["a"]["total_time"], 6000);
        assert!(json["nodes"].get("b").is_none());
        let back: RunReport = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(
            back.nodes().collect::<Vec<_>>(),
            r.nodes().collect::<Vec<_>>()
        );
        assert_eq!(back.steps, 2);
    }
}
