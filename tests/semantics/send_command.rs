//! Scenarios 22, 23, 25, 26, 28: SendTo and Command.

use langgraph::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

mod s22 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        /// A list of numbers, or the string "scalar" (kept dynamic as in the recording).
        pub numbers: Value,
        pub secret: String,
        #[reducer(append)]
        pub squares: Vec<Value>,
    }

    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub struct WorkerIn {
        pub value: i64,
        pub tag: String,
    }
}

#[tokio::test]
async fn s22_send_with_private_input() {
    use s22::*;
    let exp = expected("22_send_custom_input");
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node_with_input("square", move |w: WorkerIn, ctx: &Ctx| {
            // The worker sees exactly its payload, never the graph's keys.
            let keys: Vec<String> = serde_json::to_value(&w)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            l1.add_with(ctx, "square", json!({"saw_keys": keys, "value": w.value}));
            SUpdate::new().squares(vec![json!([w.value * w.value, w.tag])])
        })
        .node_with_input("square_scalar", move |v: i64, ctx: &Ctx| {
            l2.add_with(ctx, "square_scalar", json!({"payload": v}));
            SUpdate::new().squares(vec![json!([v * v, "scalar"])])
        })
        .route(
            START,
            |s: &S| {
                if s.numbers == json!("scalar") {
                    return Route::send("square_scalar", 7i64);
                }
                let nums: Vec<i64> = serde_json::from_value(s.numbers.clone()).unwrap();
                Route::send_all(nums.into_iter().enumerate().map(|(i, v)| {
                    SendTo::new(
                        "square",
                        WorkerIn {
                            value: v,
                            tag: format!("t{i}"),
                        },
                    )
                }))
            },
            ["square", "square_scalar"],
        )
        .edge("square", END)
        .edge("square_scalar", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    let input = SUpdate::new().numbers(json!([1, 2, 3])).secret("hidden");
    check(&exp, "invoke", &invoke(&g, input, &cfg, &log, true).await);
    check(&exp, "final_state", &state(&g, &cfg, false).await);
    let input = SUpdate::new().numbers(json!("scalar")).secret("hidden");
    check(
        &exp,
        "scalar_payload",
        &invoke(&g, input, &RunConfig::thread("t2"), &log, true).await,
    );
}

mod s23 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        #[reducer(append)]
        pub order: Vec<String>,
    }

    pub fn mk(log: &Log, name: &'static str) -> impl Fn(&S, &Ctx) -> SUpdate + use<> {
        let log = log.clone();
        move |_: &S, ctx: &Ctx| {
            log.add(ctx, name);
            SUpdate::new().order(vec![name.to_string()])
        }
    }
}

#[tokio::test]
async fn s23_sends_and_edges_in_one_superstep() {
    use s23::*;
    let exp = expected("23_send_mixed_with_edges");
    let log = Log::new();
    let (lw, ls) = (log.clone(), log.clone());
    let g = StateGraph::<S>::new()
        .node("split", move |_: &S, ctx: &Ctx| {
            ls.add(ctx, "split");
            SUpdate::new().order(vec![])
        })
        .node_with_input("w", move |n: i64, ctx: &Ctx| {
            lw.add_with(ctx, "w", json!({"payload": n}));
            SUpdate::new().order(vec![format!("w{n}")])
        })
        .node("normal", mk(&log, "normal"))
        .node("static", mk(&log, "static"))
        .node("after", mk(&log, "after"))
        .edge(START, "split")
        .edge("split", "static")
        .route(
            "split",
            |_: &S| {
                Route::to("normal").and(vec![
                    SendTo::new("w", 3i64),
                    SendTo::new("w", 1i64),
                    SendTo::new("w", 2i64),
                ])
            },
            ["normal", "w"],
        )
        .edge("w", "after")
        .edge("normal", "after")
        .edge("static", "after")
        .edge("after", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    // Edge-triggered tasks first (by name), then sends in emission order (3, 1, 2).
    check(
        &exp,
        "invoke",
        &invoke(&g, SUpdate::new(), &cfg, &log, true).await,
    );
    let mut hn: Vec<Value> = history(&g, &cfg, false)
        .await
        .iter()
        .map(|h| {
            let mut n: Vec<Value> = h["next"].as_array().unwrap().clone();
            n.sort_by_key(|v| v.to_string());
            json!([h["step"], n])
        })
        .collect();
    let mut e: Vec<Value> = at(&exp, "history_next").as_array().unwrap().clone();
    for x in e.iter_mut().chain(hn.iter_mut()) {
        x[1].as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    }
    assert_eq!(json!(e), json!(hn));
}

mod s25 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub x: i64,
        pub target: String,
        #[reducer(append)]
        pub path: Vec<String>,
    }

    pub fn build(log: &Log, static_edge: bool) -> CompiledGraph<S> {
        let la = log.clone();
        let mk = |name: &'static str| {
            let log = log.clone();
            move |_: &S, ctx: &Ctx| {
                log.add(ctx, name);
                SUpdate::new().path(vec![name.to_string()])
            }
        };
        let mut g = StateGraph::<S>::new()
            .node("a", move |s: &S, ctx: &Ctx| -> Command<S> {
                la.add(ctx, "a");
                let u = SUpdate::new().x(1).path(vec!["a".into()]);
                match s.target.as_str() {
                    "none" => Command::new().update(u),
                    "END" => Command::goto(END).update(u),
                    t => Command::goto(t.to_string()).update(u),
                }
            })
            // like `-> Command[Literal["b", "c"]]`
            .goto_targets("a", ["b", "c", END])
            .node("b", mk("b"))
            .node("c", mk("c"))
            .edge(START, "a")
            .edge("b", END)
            .edge("c", END);
        if static_edge {
            g = g.edge("a", "b");
        }
        g.compile_with(InMemorySaver::new()).unwrap()
    }
}

#[tokio::test]
async fn s25_command_goto_adds_to_static_edges() {
    use s25::*;
    let exp = expected("25_command_goto_update");
    let log = Log::new();
    let g = build(&log, false);
    for t in ["c", "b", "none", "END"] {
        let r = invoke(
            &g,
            SUpdate::new().target(t),
            &RunConfig::thread(t),
            &log,
            false,
        )
        .await;
        check(&exp, &format!("dynamic_goto_{t}"), &r);
    }
    let s = stream(
        &g,
        SUpdate::new().target("c"),
        &RunConfig::thread("s"),
        &[StreamMode::Updates],
        &log,
        false,
    )
    .await;
    check(&exp, "dynamic_goto_c_stream", &s);
    let g2 = build(&log, true);
    let cfg = RunConfig::thread("static");
    check(
        &exp,
        "with_static_edge_goto_c",
        &invoke(&g2, SUpdate::new().target("c"), &cfg, &log, false).await,
    );
    let hn: Vec<Value> = history(&g2, &cfg, false)
        .await
        .iter()
        .map(|h| json!([h["step"], h["next"]]))
        .collect();
    check(&exp, "with_static_edge_history_next", &json!(hn));
}

#[tokio::test]
async fn s25_undeclared_command_target_is_an_error() {
    // Deliberate difference: a Command may only go where `goto_targets` allows.
    use s25::*;
    let g = StateGraph::<S>::new()
        .node("a", |_: &S| Command::<S>::goto("c"))
        .goto_targets("a", ["b"])
        .node("b", |_: &S| SUpdate::new())
        .node("c", |_: &S| SUpdate::new())
        .edge(START, "a")
        .edge("a", "c")
        .edge("b", END)
        .edge("c", END)
        .compile()
        .unwrap();
    let e = g
        .invoke(SUpdate::new(), &RunConfig::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, langgraph::RunError::UndeclaredTarget { ref target, .. } if target == "c"),
        "{e}"
    );
}

mod s26 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        pub mode: String,
        #[reducer(append)]
        pub path: Vec<String>,
    }
}

#[tokio::test]
async fn s26_command_goto_list_and_sends() {
    use s26::*;
    let exp = expected("26_command_goto_list_and_send");
    let log = Log::new();
    let (la, lw) = (log.clone(), log.clone());
    let mk = |name: &'static str| {
        let log = log.clone();
        move |_: &S, ctx: &Ctx| {
            log.add(ctx, name);
            SUpdate::new().path(vec![name.to_string()])
        }
    };
    let g = StateGraph::<S>::new()
        .node("a", move |s: &S, ctx: &Ctx| -> Command<S> {
            la.add(ctx, "a");
            if s.mode == "list" {
                Command::goto_all(["b", "c"])
            } else {
                Command::new()
                    .update(SUpdate::new().path(vec!["a".into()]))
                    .send_all([SendTo::new("w", 1i64), SendTo::new("w", 2i64)])
            }
        })
        .goto_targets("a", ["b", "c", "w"])
        .node("b", mk("b"))
        .node("c", mk("c"))
        .node_with_input("w", move |v: i64, ctx: &Ctx| {
            lw.add_with(ctx, "w", json!({"payload": v}));
            SUpdate::new().path(vec![format!("w{v}")])
        })
        .node("join", mk("join"))
        .edge(START, "a")
        .edge("b", "join")
        .edge("c", "join")
        .edge("w", "join")
        .edge("join", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    check(
        &exp,
        "goto_list",
        &invoke(
            &g,
            SUpdate::new().mode("list"),
            &RunConfig::thread("l"),
            &log,
            false,
        )
        .await,
    );
    check(
        &exp,
        "goto_sends",
        &invoke(
            &g,
            SUpdate::new().mode("send"),
            &RunConfig::thread("s"),
            &log,
            true,
        )
        .await,
    );
}

mod s28 {
    use super::*;

    #[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
    pub struct S {
        #[reducer(append)]
        pub path: Vec<String>,
    }
}

#[tokio::test]
async fn s28_command_as_input_jumps_on_an_existing_thread() {
    use s28::*;
    let exp = expected("28_command_as_input_and_empty_input");
    let log = Log::new();
    let mk = |name: &'static str| {
        let log = log.clone();
        move |_: &S, ctx: &Ctx| {
            log.add(ctx, name);
            SUpdate::new().path(vec![name.to_string()])
        }
    };
    let g = StateGraph::<S>::new()
        .node("a", mk("a"))
        .node("b", mk("b"))
        .node("c", mk("c"))
        .edge(START, "a")
        .edge("a", "b")
        .edge("b", "c")
        .edge("c", END)
        .compile_with(InMemorySaver::new())
        .unwrap();
    let cfg = RunConfig::thread("t");
    check(
        &exp,
        "first_run",
        &invoke(&g, SUpdate::new(), &cfg, &log, false).await,
    );
    let jump = Command::goto("b").update(SUpdate::new().path(vec!["jump".into()]));
    check(
        &exp,
        "command_input_goto_b",
        &invoke(&g, jump, &cfg, &log, false).await,
    );
    // Required: the new checkpoints (next [c], then []) descend from the pre-jump head.
    let h = history(&g, &cfg, false).await;
    let rows: Vec<Value> = h
        .iter()
        .take(2)
        .map(|h| {
            json!([
                h["id"],
                h["step"],
                h["source"],
                h["next"],
                h["values"]["path"]
            ])
        })
        .collect();
    let e: Vec<Value> = at(&exp, "history_after_jump").as_array().unwrap()[..2].to_vec();
    assert_eq!(json!(rows), json!(e));
    assert_eq!(h[1]["parent"], "c4");
    check(
        &exp,
        "invoke_none_fresh_thread.error.error_type",
        &invoke(
            &g,
            Input::Continue,
            &RunConfig::thread("fresh"),
            &log,
            false,
        )
        .await["error"]["error_type"],
    );
    check(
        &exp,
        "empty_dict_input_fresh_thread",
        &invoke(&g, SUpdate::new(), &RunConfig::thread("empty"), &log, false).await,
    );
    // Deliberate difference: a Command input needs an existing thread (the reference's result
    // here is ill-defined), so it is rejected and nothing runs.
    let jump = Command::goto("c").update(SUpdate::new().path(vec!["jump".into()]));
    let r = invoke(&g, jump, &RunConfig::thread("fresh2"), &log, false).await;
    assert_eq!(r["error"]["error_type"], "EmptyInputError", "{r}");
    assert_eq!(r["exec"], json!([]));
}
