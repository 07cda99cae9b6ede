//! Scenarios 46 (a subgraph with its own state type, called from a node) and 47 (interrupts
//! inside a subgraph, resumed from the parent).

use std::sync::Arc;

use langgraph::prelude::*;
use langgraph::{CompiledGraph, NodeError};
use serde_json::{Value, json};

use crate::common::{Log, check, expected, history, invoke, state, stream};

mod s46 {
    use super::*;

    #[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    pub struct P {
        pub question: String,
        pub answer: String,
        #[reducer(append)]
        pub path: Vec<String>,
    }

    #[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    pub struct Sub {
        pub text: String,
        pub tokens: Vec<String>,
        pub result: String,
    }
}

fn sub46(log: &Log) -> CompiledGraph<s46::Sub> {
    use s46::*;
    let (l1, l2) = (log.clone(), log.clone());
    StateGraph::<Sub>::new()
        .node("tokenize", move |s: &Sub, ctx: &Ctx| {
            l1.add(ctx, "tokenize");
            SubUpdate::new().tokens(
                s.text
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>(),
            )
        })
        .node("count", move |s: &Sub, ctx: &Ctx| {
            l2.add(ctx, "count");
            SubUpdate::new().result(format!("{} tokens", s.tokens.len()))
        })
        .edge(START, "tokenize")
        .edge("tokenize", "count")
        .edge("count", END)
        .compile()
        .unwrap()
}

fn parent46(log: &Log) -> CompiledGraph<s46::P> {
    use s46::*;
    let sub = sub46(log);
    let (l1, l2) = (log.clone(), log.clone());
    StateGraph::<P>::new()
        .node("prepare", move |s: &P, ctx: &Ctx| {
            l1.add(ctx, "prepare");
            PUpdate::new()
                .question(s.question.trim())
                .path(vec!["prepare".into()])
        })
        .node("call_sub", move |s: &P, ctx: Ctx| {
            let (log, sub, question) = (l2.clone(), sub.clone(), s.question.clone());
            async move {
                log.add_with(&ctx, "call_sub", json!({"phase": "enter"}));
                let out = ctx.invoke(&sub, SubUpdate::new().text(question)).await?;
                let sub_output = serde_json::to_value(&out).unwrap();
                log.add_with(
                    &ctx,
                    "call_sub",
                    json!({"phase": "exit", "sub_output": sub_output}),
                );
                Ok::<_, NodeError>(
                    PUpdate::new()
                        .answer(out.result)
                        .path(vec!["call_sub".into()]),
                )
            }
        })
        .edge(START, "prepare")
        .edge("prepare", "call_sub")
        .edge("call_sub", END)
        .compile_with(InMemorySaver::new())
        .unwrap()
}

#[tokio::test]
async fn s46_subgraph_with_its_own_state_type() {
    use s46::*;
    let exp = expected("46_subgraph_different_schema");
    let log = Log::new();
    let g = parent46(&log);
    let cfg = RunConfig::thread("t");
    let input = PUpdate::new().question("  how are you  ");
    check(
        &exp,
        "observations.invoke",
        &invoke(&g, input, &cfg, &log, true).await,
    );
    // One checkpoint per parent superstep: the subgraph's live in their own namespace.
    let hist: Vec<Value> = history(&g, &cfg, false)
        .await
        .into_iter()
        .map(|h| json!([h["id"], h["step"], h["next"], h["values"]]))
        .collect();
    check(&exp, "observations.history", &Value::Array(hist));
    let s = stream(
        &g,
        PUpdate::new().question("a b"),
        &RunConfig::thread("s"),
        &[StreamMode::Updates],
        &log,
        false,
    )
    .await;
    check(&exp, "observations.stream_updates", &s);
}

mod s47 {
    use super::*;

    #[derive(State, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    pub struct S {
        #[reducer(append)]
        pub path: Vec<String>,
    }
}

fn sub47(
    log: &Log,
    saver: Option<Arc<dyn langgraph::checkpoint::Checkpointer>>,
) -> CompiledGraph<s47::S> {
    use s47::*;
    let mk = |name: &'static str| {
        let log = log.clone();
        move |_: &S, ctx: &Ctx| {
            log.add(ctx, name);
            SUpdate::new().path(vec![name.to_string()])
        }
    };
    let l = log.clone();
    let g = StateGraph::<S>::new()
        .node("s1", mk("s1"))
        .node("ask", move |_: &S, ctx: Ctx| {
            let l = l.clone();
            async move {
                l.add(&ctx, "ask");
                let v: String = ctx.interrupt("sub approve?").await?;
                Ok::<_, NodeError>(SUpdate::new().path(vec![format!("ask:{v}")]))
            }
        })
        .node("s3", mk("s3"))
        .edge(START, "s1")
        .edge("s1", "ask")
        .edge("ask", "s3")
        .edge("s3", END);
    match saver {
        Some(s) => g.compile_with_shared(s).unwrap(),
        None => g.compile().unwrap(),
    }
}

/// The subgraph's own paused state, read from the parent's task.
async fn sub_state(
    g: &CompiledGraph<s47::S>,
    sub: &CompiledGraph<s47::S>,
    cfg: &RunConfig,
) -> Value {
    let st = g.get_state(cfg).await.unwrap();
    let task = &st.tasks[0];
    let sub_cfg = cfg.clone().checkpoint_ns(task.subgraph_ns.clone());
    let s = sub.get_state(&sub_cfg).await.unwrap();
    json!({
        "step": s.step(),
        "next": s.next,
        "values": s.values.to_json().unwrap(),
        "interrupts": s.interrupts.iter().map(|i| i.value.clone()).collect::<Vec<_>>(),
        "tasks": s.tasks.iter().map(|t| json!({"name": t.name, "interrupts": t.interrupts.iter().map(|i| i.value.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn s47_subgraph_node_interrupts_and_resumes_from_its_checkpoint() {
    use s47::*;
    let exp = expected("47_subgraph_interrupt_resume");
    let log = Log::new();
    let saver: Arc<dyn langgraph::checkpoint::Checkpointer> = Arc::new(InMemorySaver::new());
    let mk = |name: &'static str| {
        let log = log.clone();
        move |_: &S, ctx: &Ctx| {
            log.add(ctx, name);
            SUpdate::new().path(vec![name.to_string()])
        }
    };
    let sub = sub47(&log, Some(saver.clone()));
    let g = StateGraph::<S>::new()
        .node("pre", mk("pre"))
        .subgraph("sub", sub.clone())
        .node("post", mk("post"))
        .edge(START, "pre")
        .edge("pre", "sub")
        .edge("sub", "post")
        .edge("post", END)
        .compile_with_shared(saver)
        .unwrap();
    let cfg = RunConfig::thread("direct");
    check(
        &exp,
        "observations.direct.invoke",
        &invoke(&g, SUpdate::new(), &cfg, &log, false).await,
    );
    let mut st = state(&g, &cfg, true).await;
    st["tasks"][0].as_object_mut().unwrap().remove("state");
    let mut want = exp["observations"]["direct"]["state_interrupted"].clone();
    want["tasks"][0].as_object_mut().unwrap().remove("state");
    assert_eq!(st, want);
    // The subgraph's own state is inspectable from the parent's task.
    let mut want_sub =
        exp["observations"]["direct"]["state_interrupted_subgraphs"]["tasks"][0]["state"].clone();
    want_sub.as_object_mut().unwrap().remove("ns");
    want_sub.as_object_mut().unwrap().remove("source");
    assert_eq!(sub_state(&g, &sub, &cfg).await, want_sub);

    // Resume from the parent: s1 does not run again, ask re-runs with the answer.
    let r = invoke(&g, Command::resume("ok"), &cfg, &log, false).await;
    check(&exp, "observations.direct.resume.exec", &r["exec"]);
    // Deliberate difference: a same-type subgraph hands back only what it changed, so the
    // parent's `pre` is not appended a second time (LangGraph: [pre, pre, s1, ...]).
    assert_eq!(
        r["result"]["path"],
        json!(["pre", "s1", "ask:ok", "s3", "post"])
    );
    let hist: Vec<Value> = history(&g, &cfg, false)
        .await
        .into_iter()
        .map(|h| json!([h["id"], h["step"], h["next"]]))
        .collect();
    let want_hist: Vec<Value> = exp["observations"]["direct"]["parent_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| json!([h[0], h[1], h[2]]))
        .collect();
    assert_eq!(hist, want_hist);
}

#[tokio::test]
async fn s47_subgraph_called_from_a_wrapper_node() {
    use s47::*;
    let exp = expected("47_subgraph_interrupt_resume");
    let log = Log::new();
    let saver: Arc<dyn langgraph::checkpoint::Checkpointer> = Arc::new(InMemorySaver::new());
    let sub = sub47(&log, Some(saver.clone()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let s2 = sub.clone();
    let g = StateGraph::<S>::new()
        .node("pre", move |_: &S, ctx: &Ctx| {
            l1.add(ctx, "pre");
            SUpdate::new().path(vec!["pre".into()])
        })
        .node("wrap", move |_: &S, ctx: Ctx| {
            let (log, sub) = (l2.clone(), s2.clone());
            async move {
                log.add_with(&ctx, "wrap", json!({"phase": "enter"}));
                let out = ctx.invoke(&sub, SUpdate::new()).await?;
                log.add_with(&ctx, "wrap", json!({"phase": "exit"}));
                Ok::<_, NodeError>(SUpdate::new().path(out.path))
            }
        })
        .node("post", move |_: &S, ctx: &Ctx| {
            l3.add(ctx, "post");
            SUpdate::new().path(vec!["post".into()])
        })
        .edge(START, "pre")
        .edge("pre", "wrap")
        .edge("wrap", "post")
        .edge("post", END)
        .compile_with_shared(saver)
        .unwrap();
    let cfg = RunConfig::thread("wrapper");
    check(
        &exp,
        "observations.wrapper.invoke",
        &invoke(&g, SUpdate::new(), &cfg, &log, true).await,
    );
    let mut want_sub =
        exp["observations"]["wrapper"]["state_interrupted_subgraphs"]["tasks"][0]["state"].clone();
    want_sub.as_object_mut().unwrap().remove("ns");
    want_sub.as_object_mut().unwrap().remove("source");
    assert_eq!(sub_state(&g, &sub, &cfg).await, want_sub);
    // On resume the wrapper runs again from its start; the subgraph resumes (s1 not re-run).
    let r = invoke(&g, Command::resume("ok"), &cfg, &log, true).await;
    check(&exp, "observations.wrapper.resume", &r);
}
