//! Scenario 44: retry policies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use langgraph::prelude::*;
use langgraph::{NodeError, RetryPolicy, RunError};
use serde_json::{Value, json};

use crate::common::{Log, check, expected, invoke, state};

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct S {
    #[reducer(append)]
    path: Vec<String>,
}

/// The reference's exception classes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Value,
    Key,
    Connection,
}

#[derive(Debug)]
struct Fail(Kind, String);

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            // Python's KeyError quotes its message.
            Kind::Key => write!(f, "'{}'", self.1),
            _ => f.write_str(&self.1),
        }
    }
}

impl std::error::Error for Fail {}

fn is(kind: fn(Kind) -> bool) -> impl Fn(&NodeError) -> bool + Send + Sync + 'static {
    move |e: &NodeError| e.downcast_ref::<Fail>().is_some_and(|f| kind(f.0))
}

fn policy(max: u32) -> RetryPolicy {
    RetryPolicy::new(max)
        .initial_interval(Duration::from_millis(10))
        .jitter(false)
}

fn graph(
    log: &Log,
    fail: u32,
    kind: Kind,
    p: RetryPolicy,
    parallel: bool,
) -> (CompiledGraph<S>, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let (l1, l2, l3, c) = (log.clone(), log.clone(), log.clone(), calls.clone());
    let mut g = StateGraph::<S>::new()
        .node("work", move |_: &S, ctx: &Ctx| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            l1.add_with(ctx, "work", json!({"attempt": n}));
            if n <= fail {
                return Err(Fail(kind, format!("fail #{n}")));
            }
            Ok(SUpdate::new().path(vec![format!("work@{n}")]))
        })
        .retry("work", p)
        .node("after", move |_: &S, ctx: &Ctx| {
            l2.add(ctx, "after");
            SUpdate::new().path(vec!["after".into()])
        })
        .edge(START, "work")
        .edge("work", "after")
        .edge("after", END);
    if parallel {
        g = g
            .node("sibling", move |_: &S, ctx: &Ctx| {
                l3.add(ctx, "sibling");
                SUpdate::new().path(vec!["sibling".into()])
            })
            .edge(START, "sibling")
            .edge("sibling", END);
    }
    (g.compile_with(InMemorySaver::new()).unwrap(), calls)
}

async fn case(
    name: &str,
    fail: u32,
    kind: Kind,
    p: RetryPolicy,
    parallel: bool,
) -> (Value, CompiledGraph<S>) {
    let log = Log::new();
    let (g, calls) = graph(&log, fail, kind, p, parallel);
    let mut r = invoke(&g, SUpdate::new(), &RunConfig::thread(name), &log, true).await;
    r["calls"] = json!(calls.load(Ordering::SeqCst));
    (r, g)
}

/// Errors are reported by the reference's class names; ours surfaces the node's own error
/// inside `RunError::Node` (the quirk allows it): check the message and keep the exec log.
fn strip_error(mut r: Value) -> Value {
    if let Some(e) = r.get_mut("error") {
        let msg = e["message"].as_str().unwrap_or_default().to_string();
        *e = json!({"message_first_line": msg.rsplit(": ").next().unwrap_or_default()});
    }
    r
}

#[tokio::test]
async fn s44_retry_policy() {
    let exp = expected("44_retry_policy");
    let value_errors = || policy(3).retry_if(is(|k| matches!(k, Kind::Value)));

    let (r, _) = case("ok", 2, Kind::Value, value_errors(), false).await;
    check(&exp, "observations.fail_twice_then_succeed", &r);

    let (r, g) = case("fail", 5, Kind::Value, value_errors(), false).await;
    let mut e = at_error(&exp, "always_fail");
    e.as_object_mut().unwrap().remove("state_after");
    check_stripped(&e, &r);
    // The thread stays before `work`, with the task's error recorded.
    let st = state(&g, &RunConfig::thread("fail"), true).await;
    assert_eq!(st["next"], json!(["work"]));
    assert_eq!(st["values"]["path"], json!([]));
    assert_eq!(st["tasks"][0]["name"], "work");
    assert_eq!(st["tasks"][0]["error"], "fail #3");

    let (r, _) = case("key", 5, Kind::Key, value_errors(), false).await;
    check_stripped(&at_error(&exp, "non_retryable_exception"), &r);

    let (r, _) = case("one", 5, Kind::Value, policy(1), false).await;
    check_stripped(&at_error(&exp, "max_attempts_1"), &r);

    // Deliberate difference: our default predicate retries every error (Python's refuses
    // ValueError and friends). What does not retry is an error marked permanent.
    let (r, _) = case("default-conn", 2, Kind::Connection, policy(3), false).await;
    check(&exp, "observations.default_retry_on_connection_error", &r);
    let (r, _) = case("default-value", 2, Kind::Value, policy(3), false).await;
    assert_eq!(r["calls"], 3, "the default predicate retries a plain error");
    let log = Log::new();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let g = StateGraph::<S>::new()
        .node("work", move |_: &S| {
            c.fetch_add(1, Ordering::SeqCst);
            Err::<SUpdate, _>(NodeError::msg("bad input").permanent())
        })
        .retry("work", policy(3))
        .edge(START, "work")
        .edge("work", END)
        .compile()
        .unwrap();
    let r = invoke(&g, SUpdate::new(), &RunConfig::new(), &log, true).await;
    assert!(r.get("error").is_some());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a permanent error is not retried"
    );

    let (r, _) = case("par", 2, Kind::Value, value_errors(), true).await;
    check(&exp, "observations.parallel_sibling_runs_once", &r);
}

fn at_error(exp: &Value, name: &str) -> Value {
    let mut e = exp["observations"][name].clone();
    if let Some(err) = e.get_mut("error") {
        err.as_object_mut().unwrap().remove("error_type");
    }
    e
}

#[track_caller]
fn check_stripped(exp: &Value, actual: &Value) {
    let wrapped = json!({ "x": exp });
    check(&wrapped, "x", &strip_error(actual.clone()));
}

#[tokio::test]
async fn timeouts_fail_the_task_and_retry_like_errors() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let g = StateGraph::<S>::new()
        .node("slow", move |_: &S| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                SUpdate::new().path(vec![format!("slow@{n}")])
            }
        })
        .timeout("slow", Duration::from_millis(20))
        .retry("slow", policy(3))
        .edge(START, "slow")
        .edge("slow", END)
        .compile()
        .unwrap();
    let out = g.invoke(SUpdate::new(), &RunConfig::new()).await.unwrap();
    assert_eq!(out.path, ["slow@2"]);
    assert_eq!(out.report["slow"].retries, 2);
    let e = StateGraph::<S>::new()
        .node("slow", |_: &S| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            SUpdate::new()
        })
        .timeout("slow", Duration::from_millis(10))
        .edge(START, "slow")
        .edge("slow", END)
        .compile()
        .unwrap()
        .invoke(SUpdate::new(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, RunError::Timeout { ref node, .. } if node == "slow"),
        "{e}"
    );
}
