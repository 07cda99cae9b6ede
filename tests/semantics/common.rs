//! Helpers that turn runs into the observation shapes of `expected/*.json`.
//!
//! Conventions (the same as the reference recordings):
//! - `exec`: entries grouped by consecutive superstep; within a superstep, entries of one task
//!   keep their order and tasks are sorted;
//! - checkpoints are labelled `c0, c1, ...` by creation order within the thread;
//! - errors are reported by the reference's class names, mapped from our error variants.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use langgraph::prelude::*;
use langgraph::{CompiledGraph, FromState, ListOptions, RunError, StateSnapshot};
use serde_json::{Map, Value, json};

/// The expected observations of a scenario.
pub fn expected(name: &str) -> Value {
    let path = format!(
        "{}/tests/semantics/expected/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The value at a dotted path (`a.b.0.c`).
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for part in path.split('.') {
        cur = match part.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[part],
        };
    }
    cur
}

/// A value that a typed state holds for a channel nobody wrote.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Compares `actual` with `expected`. Objects may have extra keys in `actual` only if those
/// hold default values (a typed state always has every field; the reference omits unwritten
/// keys).
pub fn matches(expected: &Value, actual: &Value) -> Result<(), String> {
    fn go(e: &Value, a: &Value, path: &str) -> Result<(), String> {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                for (k, ev) in eo {
                    match ao.get(k) {
                        Some(av) => go(ev, av, &format!("{path}.{k}"))?,
                        None if ev.is_null() => {}
                        None => return Err(format!("{path}.{k}: missing (expected {ev})")),
                    }
                }
                for (k, av) in ao {
                    if !eo.contains_key(k) && !is_default(av) {
                        return Err(format!("{path}.{k}: unexpected {av}"));
                    }
                }
                Ok(())
            }
            (Value::Array(ea), Value::Array(aa)) => {
                if ea.len() != aa.len() {
                    return Err(format!("{path}: expected {e}, got {a}"));
                }
                for (i, (x, y)) in ea.iter().zip(aa).enumerate() {
                    go(x, y, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => Ok(()),
            // A node that wrote nothing: the reference reports null, we report an empty update.
            (Value::Null, Value::Object(o)) if o.is_empty() => Ok(()),
            _ if e == a => Ok(()),
            _ => Err(format!("{path}: expected {e}, got {a}")),
        }
    }
    go(expected, actual, "")
}

/// Asserts that `actual` matches the expected observation at `path`.
#[track_caller]
pub fn check(exp: &Value, path: &str, actual: &Value) {
    if let Err(e) = matches(at(exp, path), actual) {
        panic!(
            "observation `{path}` differs: {e}\n  expected: {}\n  actual:   {}",
            at(exp, path),
            actual
        );
    }
}

#[derive(Clone, Debug)]
struct Entry {
    node: String,
    step: i64,
    task: String,
    graph: String,
    extra: Map<String, Value>,
}

/// The execution log nodes append to.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Entry>>>);

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the task of `ctx` ran `node`.
    pub fn add(&self, ctx: &Ctx, node: &str) {
        self.add_with(ctx, node, json!({}));
    }

    /// Records `node` with extra fields.
    pub fn add_with(&self, ctx: &Ctx, node: &str, extra: Value) {
        // `node:task` per level; a task's k-th subgraph run adds `#k` (from 2), which the
        // reference's names show as `node|k-1`.
        let graph = ctx
            .namespace()
            .split('|')
            .map(|p| {
                let node = p.split([':', '#']).next().unwrap_or("");
                match p.rsplit_once('#').and_then(|(_, k)| k.parse::<u32>().ok()) {
                    Some(k) => format!("{node}|{}", k - 1),
                    None => node.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("|");
        self.0.lock().unwrap().push(Entry {
            node: node.to_string(),
            step: ctx.step(),
            task: ctx.task_id().to_string(),
            graph,
            extra: extra.as_object().cloned().unwrap_or_default(),
        });
    }

    /// Takes the log, grouped like the reference's `exec`.
    pub fn take(&self, with_extra: bool) -> Value {
        let entries: Vec<Entry> = std::mem::take(&mut *self.0.lock().unwrap());
        type Group = (String, i64, Vec<(String, Value)>);
        let mut groups: Vec<Group> = Vec::new();
        for e in entries {
            let item = if with_extra {
                let mut m = e.extra.clone();
                m.insert("node".into(), json!(e.node));
                Value::Object(m)
            } else {
                json!(e.node)
            };
            match groups.last_mut() {
                Some((g, s, items)) if *g == e.graph && *s == e.step => items.push((e.task, item)),
                _ => groups.push((e.graph, e.step, vec![(e.task, item)])),
            }
        }
        let out: Vec<Value> = groups
            .into_iter()
            .map(|(graph, step, items)| {
                let mut blocks: Vec<(String, Vec<Value>)> = Vec::new();
                for (task, item) in items {
                    match blocks.iter_mut().find(|(t, _)| *t == task) {
                        Some((_, b)) => b.push(item),
                        None => blocks.push((task, vec![item])),
                    }
                }
                let mut blocks: Vec<Vec<Value>> = blocks.into_iter().map(|(_, b)| b).collect();
                blocks.sort_by_key(|b| serde_json::to_string(b).unwrap());
                let nodes: Vec<Value> = blocks.into_iter().flatten().collect();
                let mut g = json!({"step": step, "nodes": nodes});
                if !graph.is_empty() {
                    g["graph"] = json!(graph);
                }
                g
            })
            .collect();
        Value::Array(out)
    }
}

/// The reference's class name for an error.
pub fn error_type(e: &RunError) -> &'static str {
    match e {
        RunError::InvalidUpdate { .. } | RunError::InvalidStateUpdate(_) => "InvalidUpdateError",
        RunError::RecursionLimit { .. } => "GraphRecursionError",
        RunError::EmptyInput(_) => "EmptyInputError",
        RunError::InvalidResume(_) => "RuntimeError",
        RunError::Node { .. } => "NodeError",
        RunError::Timeout { .. } => "TimeoutError",
        RunError::UndeclaredTarget { .. } => "UndeclaredTarget",
        _ => "OtherError",
    }
}

/// `{"error_type": ...}` for an error.
pub fn error_json(e: &RunError) -> Value {
    json!({"error_type": error_type(e), "message": e.to_string()})
}

/// Runs `invoke` and reports `{"result" | "error", "exec"}` like the reference's `invoke()`.
pub async fn invoke<S, O>(
    g: &CompiledGraph<S, O>,
    input: impl Into<Input<S>>,
    cfg: &RunConfig,
    log: &Log,
    with_extra: bool,
) -> Value
where
    S: State,
    O: FromState<S> + Serialize,
{
    let mut out = Map::new();
    match g.invoke(input, cfg).await {
        Ok(r) => {
            let mut v = serde_json::to_value(&r.value).unwrap();
            if r.paused && !r.interrupts.is_empty() {
                v["__interrupt__"] = Value::Array(
                    r.interrupts
                        .iter()
                        .map(|i| json!({"Interrupt": {"value": i.value}}))
                        .collect(),
                );
            }
            out.insert("result".into(), v);
        }
        Err(e) => {
            out.insert("error".into(), error_json(&e));
        }
    }
    out.insert("exec".into(), log.take(with_extra));
    Value::Object(out)
}

/// Chronological labels (`c0` oldest) of a thread's checkpoints.
pub async fn labels<S: State, O: FromState<S>>(
    g: &CompiledGraph<S, O>,
    cfg: &RunConfig,
) -> BTreeMap<String, String> {
    let thread = RunConfig::thread(cfg.thread_id.clone().unwrap());
    let mut hist = g
        .state_history(&thread, &ListOptions::default())
        .await
        .unwrap();
    hist.reverse();
    hist.iter()
        .enumerate()
        .map(|(i, s)| (s.checkpoint_id.clone().unwrap(), format!("c{i}")))
        .collect()
}

/// The reference's snapshot summary.
pub fn snap<S: State>(
    s: &StateSnapshot<S>,
    lab: &BTreeMap<String, String>,
    with_tasks: bool,
) -> Value {
    let label = |id: &Option<String>| match id {
        Some(id) => json!(lab.get(id).cloned().unwrap_or_else(|| "?".into())),
        None => Value::Null,
    };
    let mut d = json!({
        "id": label(&s.checkpoint_id),
        "parent": label(&s.parent_checkpoint_id),
        "step": s.metadata.as_ref().map(|m| m.step),
        "source": s.metadata.as_ref().map(|m| m.source.as_str()),
        "next": s.next,
        "values": s.values.to_json().unwrap(),
    });
    if with_tasks {
        d["tasks"] = Value::Array(
            s.tasks
                .iter()
                .map(|t| {
                    let mut m = json!({"name": t.name});
                    if !t.interrupts.is_empty() {
                        m["interrupts"] =
                            Value::Array(t.interrupts.iter().map(|i| i.value.clone()).collect());
                    }
                    if let Some(r) = &t.result {
                        m["result"] = r.clone();
                    }
                    if let Some(e) = &t.error {
                        m["error"] = json!(e);
                    }
                    m
                })
                .collect(),
        );
        d["interrupts"] = Value::Array(s.interrupts.iter().map(|i| i.value.clone()).collect());
    }
    d
}

/// `get_state` summarized.
pub async fn state<S: State, O: FromState<S>>(
    g: &CompiledGraph<S, O>,
    cfg: &RunConfig,
    with_tasks: bool,
) -> Value {
    let s = g.get_state(cfg).await.unwrap();
    let lab = labels(g, cfg).await;
    snap(&s, &lab, with_tasks)
}

/// `state_history` summarized (newest first).
pub async fn history<S: State, O: FromState<S>>(
    g: &CompiledGraph<S, O>,
    cfg: &RunConfig,
    with_tasks: bool,
) -> Vec<Value> {
    let lab = labels(g, cfg).await;
    let thread = RunConfig::thread(cfg.thread_id.clone().unwrap());
    g.state_history(&thread, &ListOptions::default())
        .await
        .unwrap()
        .iter()
        .map(|s| snap(s, &lab, with_tasks))
        .collect()
}

/// The label of the newest checkpoint matching `pred`, and its id.
pub async fn find<S: State, O: FromState<S>>(
    g: &CompiledGraph<S, O>,
    cfg: &RunConfig,
    pred: impl Fn(&StateSnapshot<S>) -> bool,
) -> String {
    let thread = RunConfig::thread(cfg.thread_id.clone().unwrap());
    g.state_history(&thread, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .find(|s| pred(s))
        .and_then(|s| s.checkpoint_id)
        .unwrap()
}

/// Streams with `modes` (plus checkpoints as superstep delimiters) and groups events per
/// superstep like the reference's `stream()`: `{"supersteps": [...], "exec": ..}`.
pub async fn stream<S, O>(
    g: &CompiledGraph<S, O>,
    input: impl Into<Input<S>>,
    cfg: &RunConfig,
    modes: &[StreamMode],
    log: &Log,
    with_extra: bool,
) -> Value
where
    S: State + Serialize,
    O: FromState<S>,
{
    let with_cp = modes.contains(&StreamMode::Checkpoints);
    let mut all: Vec<StreamMode> = modes.to_vec();
    if g.checkpointer().is_some() && !with_cp {
        all.push(StreamMode::Checkpoints);
    }
    let mut s = g.stream(input, cfg, &all[..]);
    let mut groups: Vec<(Value, Vec<Value>)> = vec![(Value::Null, Vec::new())];
    let mut out = Map::new();
    while let Some(ev) = s.next().await {
        match ev {
            Err(e) => {
                out.insert("error".into(), error_json(&e));
            }
            Ok(StreamEvent::Checkpoint(c)) => {
                let cur = groups.last_mut().unwrap();
                if with_cp {
                    cur.1.push(json!(["checkpoints", {"step": c.step, "source": c.source.as_str(), "next": c.next, "values": c.values.to_json().unwrap()}]));
                }
                if cur.0.is_null() {
                    // A fresh run starts with the input checkpoint (-1); a continued run does not
                    // re-emit the state first, so its first group is the superstep it ran.
                    cur.0 = json!(c.step);
                }
                groups.push((json!(c.step + 1), Vec::new()));
            }
            Ok(StreamEvent::Values(v)) => groups.last_mut().unwrap().1.push(json!(["values", serde_json::to_value(&v).unwrap()])),
            Ok(StreamEvent::Updates { node, update }) => {
                groups.last_mut().unwrap().1.push(json!(["updates", {node: serde_json::to_value(&update).unwrap()}]))
            }
            Ok(StreamEvent::Interrupt(ints)) => groups.last_mut().unwrap().1.push(json!(["updates", {
                "__interrupt__": ints.iter().map(|i| json!({"Interrupt": {"value": i.value}})).collect::<Vec<_>>()
            }])),
            Ok(StreamEvent::Custom { payload, .. }) => groups.last_mut().unwrap().1.push(json!(["custom", payload])),
            Ok(_) => {}
        }
    }
    if groups[0].0.is_null() {
        groups[0].0 = json!("resume");
    }
    let supersteps: Vec<Value> = groups
        .into_iter()
        .filter(|(_, evs)| !evs.is_empty())
        .map(|(step, mut evs)| {
            sort_update_runs(&mut evs);
            json!({"step": step, "events": evs})
        })
        .collect();
    out.insert("supersteps".into(), Value::Array(supersteps));
    out.insert("exec".into(), log.take(with_extra));
    Value::Object(out)
}

/// Sorts the `updates` events of one superstep among themselves, keeping their positions
/// (their real order is task completion order).
fn sort_update_runs(evs: &mut [Value]) {
    let pos: Vec<usize> = (0..evs.len()).filter(|&i| evs[i][0] == "updates").collect();
    let mut vals: Vec<Value> = pos.iter().map(|&i| evs[i].clone()).collect();
    vals.sort_by_key(|e| serde_json::to_string(e).unwrap());
    for (i, v) in pos.into_iter().zip(vals) {
        evs[i] = v;
    }
}
