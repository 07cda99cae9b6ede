//! Scenarios 49 (custom events from nodes, and from subgraphs) and 50 (the `tasks`,
//! `checkpoints` and `debug` modes).

use futures::StreamExt;
use langgraph::prelude::*;
use langgraph::{CompiledGraph, NodeError, StreamModes};
use serde_json::{Value, json};

use crate::common::{Log, check, expected, invoke, matches, stream};

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct S {
    #[reducer(append)]
    path: Vec<String>,
}

fn build49(log: &Log) -> StateGraph<S> {
    let (l1, l2) = (log.clone(), log.clone());
    StateGraph::<S>::new()
        .node("work", move |_: &S, ctx: Ctx| {
            let l = l1.clone();
            async move {
                let w = ctx.writer();
                l.add(&ctx, "work");
                for p in [0, 50, 100] {
                    w.write(json!({"progress": p})).await?;
                }
                Ok::<_, NodeError>(SUpdate::new().path(vec!["work".into()]))
            }
        })
        .node("finish", move |_: &S, ctx: Ctx| {
            let l = l2.clone();
            async move {
                ctx.emit("done").await?;
                l.add(&ctx, "finish");
                Ok::<_, NodeError>(SUpdate::new().path(vec!["finish".into()]))
            }
        })
        .edge(START, "work")
        .edge("work", "finish")
        .edge("finish", END)
}

/// `[namespace-head, "custom", payload]` for each custom event of a streamed run.
async fn custom_events(g: &CompiledGraph<S>, cfg: &RunConfig, modes: StreamModes) -> Vec<Value> {
    let mut s = g.stream(SUpdate::new(), cfg, modes);
    let mut out = Vec::new();
    while let Some(ev) = s.next().await {
        if let StreamEvent::Custom { ns, payload, .. } = ev.unwrap() {
            let head = ns.split(':').next().unwrap_or_default().to_string();
            out.push(json!([head, "custom", payload]));
        }
    }
    out
}

#[tokio::test]
async fn s49_custom_events_from_nodes_and_subgraphs() {
    let exp = expected("49_stream_custom_writer");
    let log = Log::new();
    let g = build49(&log).compile_with(InMemorySaver::new()).unwrap();
    let run = |thread: &'static str, modes: &'static [StreamMode]| {
        let (g, log) = (g.clone(), log.clone());
        async move {
            stream(
                &g,
                SUpdate::new(),
                &RunConfig::thread(thread),
                modes,
                &log,
                false,
            )
            .await
        }
    };
    check(
        &exp,
        "observations.custom_and_updates",
        &run("a", &[StreamMode::Custom, StreamMode::Updates]).await,
    );
    check(
        &exp,
        "observations.custom_only",
        &run("b", &[StreamMode::Custom]).await,
    );
    check(
        &exp,
        "observations.not_requested",
        &run("c", &[StreamMode::Updates]).await,
    );
    let r = invoke(&g, SUpdate::new(), &RunConfig::thread("d"), &log, false).await;
    check(&exp, "observations.invoke", &r);

    // From a subgraph: only with subgraphs streamed, under the subgraph's namespace.
    let child = build49(&log).compile().unwrap();
    let parent = StateGraph::<S>::new()
        .subgraph("child", child)
        .edge(START, "child")
        .edge("child", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let with = custom_events(
        &parent,
        &RunConfig::thread("e"),
        StreamModes::from(StreamMode::Custom).with_subgraphs(),
    )
    .await;
    let want: Vec<Value> =
        exp["observations"]["from_subgraph_subgraphs_true"]["supersteps"][0]["events"]
            .as_array()
            .unwrap()
            .clone();
    assert_eq!(with, want);
    check(
        &exp,
        "observations.from_subgraph_subgraphs_true.exec",
        &log.take(false),
    );
    let without = custom_events(&parent, &RunConfig::thread("f"), StreamMode::Custom.into()).await;
    assert!(without.is_empty(), "{without:?}");
    check(
        &exp,
        "observations.from_subgraph_subgraphs_false.exec",
        &log.take(false),
    );
}

#[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct T {
    mode: String,
    #[reducer(append)]
    path: Vec<String>,
}

fn build50() -> CompiledGraph<T> {
    StateGraph::<T>::new()
        .node("a", |_: &T| TUpdate::new().path(vec!["a".into()]))
        .node("b", |s: &T, ctx: Ctx| {
            let mode = s.mode.clone();
            async move {
                match mode.as_str() {
                    "interrupt" => {
                        let v: String = ctx.interrupt("b?").await?;
                        Ok(TUpdate::new().path(vec![format!("b:{v}")]))
                    }
                    "error" => Err(NodeError::msg("b failed")),
                    _ => Ok(TUpdate::new().path(vec!["b".into()])),
                }
            }
        })
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", END)
        .compile_with(InMemorySaver::new())
        .unwrap()
}

/// The events of a run in the reference's shape (without ids, triggers and timings, which the
/// scenario marks as not required).
async fn events50(
    g: &CompiledGraph<T>,
    input: impl Into<Input<T>>,
    thread: &str,
    modes: StreamModes,
) -> (Vec<Value>, Option<String>) {
    let mut s = g.stream(input, &RunConfig::thread(thread), modes);
    let mut out = Vec::new();
    let mut error = None;
    let task = |v: &Value| -> Value {
        if v.get("input").is_some() {
            json!({"name": v["node"], "kind": "start", "input": v["input"]})
        } else {
            let result = if v["interrupts"].as_array().is_some_and(|a| !a.is_empty()) {
                json!({})
            } else {
                v["result"].clone()
            };
            json!({
                "name": v["node"], "kind": "result", "result": result, "error": v["error"],
                "interrupts": v["interrupts"].as_array().unwrap().iter().map(|i| i["value"].clone()).collect::<Vec<_>>(),
            })
        }
    };
    let cp = |v: &Value| json!({"step": v["step"], "source": v["source"], "next": v["next"], "values": v["values"]});
    while let Some(ev) = s.next().await {
        match ev {
            Err(e) => error = Some(e.to_string()),
            Ok(StreamEvent::TaskStart(t)) => {
                out.push(json!(["tasks", task(&serde_json::to_value(&t).unwrap())]))
            }
            Ok(StreamEvent::TaskEnd(t)) => {
                out.push(json!(["tasks", task(&serde_json::to_value(&t).unwrap())]))
            }
            Ok(StreamEvent::Checkpoint(c)) => out.push(json!([
                "checkpoints",
                cp(&StreamEvent::Checkpoint(c).to_json())
            ])),
            Ok(StreamEvent::Debug(d)) => {
                let payload = match d.kind {
                    langgraph::DebugKind::Checkpoint => cp(&d.payload),
                    _ => task(&d.payload),
                };
                out.push(json!(["debug", {"type": d.kind, "step": d.step, "payload": payload}]));
            }
            Ok(_) => {}
        }
    }
    (out, error)
}

/// The reference's events of an observation, flattened, without the fields we do not report.
fn flat(exp: &Value, name: &str) -> Vec<Value> {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        for key in ["triggers", "tasks"] {
            if let Some(o) = v.as_object_mut() {
                o.remove(key);
            }
            if let Some(p) = v.get_mut("payload").and_then(Value::as_object_mut) {
                p.remove(key);
            }
            if let Some(p) = v.get_mut(1).and_then(Value::as_object_mut) {
                p.remove(key);
                if let Some(pp) = p.get_mut("payload").and_then(Value::as_object_mut) {
                    pp.remove(key);
                }
            }
        }
        v
    };
    exp["observations"][name]["supersteps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["events"].as_array().unwrap().iter().map(strip))
        .collect()
}

/// Our events match the reference's (a typed state shows defaults for unwritten keys).
#[track_caller]
fn same(actual: Vec<Value>, expected: Vec<Value>) {
    if let Err(e) = matches(&Value::Array(expected), &Value::Array(actual.clone())) {
        panic!("{e}\n  actual: {actual:?}");
    }
}

#[tokio::test]
async fn s50_tasks_checkpoints_and_debug_events() {
    let exp = expected("50_stream_tasks_and_debug");
    let g = build50();
    let ok = || TUpdate::new().mode("ok");
    let (tasks, _) = events50(&g, ok(), "t1", StreamMode::Tasks.into()).await;
    same(tasks, flat(&exp, "tasks"));
    let (cps, _) = events50(&g, ok(), "t2", StreamMode::Checkpoints.into()).await;
    same(cps, flat(&exp, "checkpoints"));
    let (debug, _) = events50(&g, ok(), "t3", StreamMode::Debug.into()).await;
    same(debug, flat(&exp, "debug"));

    let (ints, _) = events50(
        &g,
        TUpdate::new().mode("interrupt"),
        "t4",
        StreamMode::Tasks.into(),
    )
    .await;
    same(ints, flat(&exp, "tasks_interrupt"));
    let (resumed, _) = events50(&g, Command::resume("ok"), "t4", StreamMode::Tasks.into()).await;
    same(resumed, flat(&exp, "tasks_interrupt_resume"));

    let (failed, error) = events50(
        &g,
        TUpdate::new().mode("error"),
        "t5",
        StreamMode::Tasks.into(),
    )
    .await;
    let last = failed.last().unwrap();
    assert_eq!(last[1]["name"], "b");
    assert!(last[1]["error"].as_str().unwrap().contains("b failed"));
    assert!(
        error.unwrap().contains("b failed"),
        "the stream ends with the error"
    );
}
