//! W1, W2, W3, W4, W7, W8, W10: engine overhead without a checkpointer.

use std::collections::BTreeMap;

use futures::StreamExt;
use langgraph::prelude::*;
use serde_json::json;

use super::{Counter, CounterUpdate, LOOP_STEPS, Opts, build_linear, build_loop, runtime};
use crate::measure::{Case, rss_now_kib, rss_peak_kib};
use langgraph::{CompiledGraph, NodeError};

fn none() -> BTreeMap<String, f64> {
    BTreeMap::new()
}

fn check(out: &Counter, want: i64) {
    assert_eq!(out.counter, want, "wrong output");
}

/// Times `n` calls of `one` per repetition. `sync` variants (sync nodes, nothing needs a
/// reactor) poll each call to completion on this thread; the others run all `n` calls inside
/// one `block_on` of a tokio current-thread runtime.
fn run_invokes<F, Fut>(
    case: &mut Case,
    o: &Opts,
    units: &[(&str, f64)],
    sync: bool,
    n: usize,
    one: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if sync {
        case.run(
            o.reps,
            o.warmup,
            units,
            |_| {},
            |_| {
                for _ in 0..n {
                    futures::executor::block_on(one());
                }
                none()
            },
        );
    } else {
        let rt = runtime();
        case.run(
            o.reps,
            o.warmup,
            units,
            |_| {},
            |_| {
                rt.block_on(async {
                    for _ in 0..n {
                        one().await;
                    }
                });
                none()
            },
        );
    }
}

pub(crate) fn w1(variant: &str, o: &Opts) -> Case {
    let n = o.n(2000);
    let mut case = Case::new(
        "W1",
        variant,
        json!({"N": n, "reps": o.reps, "warmup": o.warmup}),
    );
    let cfg = RunConfig::new();
    match variant {
        "compile" => {
            let m = (n / 10).max(1);
            case.params.insert("compiles_per_rep".into(), json!(m));
            case.run(
                o.reps,
                o.warmup,
                &[("compile", m as f64)],
                |_| {},
                |_| {
                    for _ in 0..m {
                        std::hint::black_box(build_linear(false));
                    }
                    none()
                },
            );
        }
        _ => {
            let sync = variant == "sync";
            let g = build_linear(!sync);
            let units = [("invoke", n as f64), ("node", 3.0 * n as f64)];
            run_invokes(&mut case, o, &units, sync, n, || async {
                check(
                    &g.invoke(Counter { counter: 0 }, &cfg)
                        .await
                        .expect("W1 run"),
                    3,
                );
            });
        }
    }
    case
}

pub(crate) fn w2(variant: &str, o: &Opts) -> Case {
    let n = o.n(100);
    let mut case = Case::new(
        "W2",
        variant,
        json!({"N": n, "supersteps_per_invoke": LOOP_STEPS, "reps": o.reps, "warmup": o.warmup}),
    );
    let cfg = RunConfig::new().recursion_limit(10_000);
    let units = [
        ("invoke", n as f64),
        ("superstep", (n as i64 * LOOP_STEPS) as f64),
    ];
    if variant == "async+tracing" {
        // Tracing on at info level, formatted to a sink: the run span is recorded, the
        // superstep and task spans (debug) are filtered out by their callsites.
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        case.info
            .insert("tracing".into(), json!("fmt subscriber, INFO, to a sink"));
    }
    let sync = variant == "sync";
    let g = build_loop(!sync).compile().expect("W2 graph");
    run_invokes(&mut case, o, &units, sync, n, || async {
        check(
            &g.invoke(Counter::default(), &cfg).await.expect("W2 run"),
            LOOP_STEPS,
        );
    });
    case
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct MapState {
    k: i64,
    #[reducer(append)]
    items: Vec<i64>,
    total: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WorkerArg {
    i: i64,
}

fn build_mapreduce(async_nodes: bool) -> CompiledGraph<MapState> {
    let g = StateGraph::<MapState>::new().node("planner", |_: &MapState| MapStateUpdate::new());
    let g = if async_nodes {
        g.node_with_input("worker", |a: WorkerArg| async move {
            MapStateUpdate::new().items(vec![a.i])
        })
    } else {
        g.node_with_input("worker", |a: WorkerArg| {
            MapStateUpdate::new().items(vec![a.i])
        })
    };
    g.node("join", |s: &MapState| {
        MapStateUpdate::new().total(s.items.iter().sum())
    })
    .edge(START, "planner")
    .route(
        "planner",
        |s: &MapState| Route::send_all((0..s.k).map(|i| SendTo::new("worker", WorkerArg { i }))),
        ["worker"],
    )
    .edge("worker", "join")
    .edge("join", END)
    .compile()
    .expect("W3 graph")
}

pub(crate) fn w3(variant: &str, o: &Opts) -> Case {
    let (kpart, mode) = variant.split_once('/').unwrap_or((variant, "async"));
    let k: i64 = kpart.trim_start_matches("K=").parse().expect("K");
    let base = match k {
        10 => 200,
        100 => 40,
        1000 => 4,
        _ => 1,
    };
    let n = if k < 10_000 { o.n(base) } else { 1 };
    let mut case = Case::new(
        "W3",
        variant,
        json!({"K": k, "N": n, "reps": o.reps, "warmup": o.warmup}),
    );
    let want = k * (k - 1) / 2;
    let cfg = RunConfig::new();
    let verify = |s: &MapState| {
        assert_eq!(s.total, want);
        assert_eq!(s.items.len() as i64, k);
    };
    let input = || MapStateUpdate::new().k(k);
    let units = [("invoke", n as f64), ("worker", (n as i64 * k) as f64)];
    let g = build_mapreduce(mode == "async");
    run_invokes(&mut case, o, &units, mode == "sync", n, || async {
        verify(&g.invoke(input(), &cfg).await.expect("W3 run"));
    });
    case
}

#[derive(State, Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct WideState {
    k0: i64,
    k1: i64,
    k2: i64,
    k3: i64,
    k4: i64,
    k5: i64,
    k6: i64,
    k7: i64,
    result: i64,
}

fn branch(i: usize) -> WideStateUpdate {
    let v = i as i64 + 1;
    let u = WideStateUpdate::new();
    match i {
        0 => u.k0(v),
        1 => u.k1(v),
        2 => u.k2(v),
        3 => u.k3(v),
        4 => u.k4(v),
        5 => u.k5(v),
        6 => u.k6(v),
        _ => u.k7(v),
    }
}

fn build_wide(async_nodes: bool) -> CompiledGraph<WideState> {
    let mut g = StateGraph::<WideState>::new();
    let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        g = if async_nodes {
            g.node(name.clone(), move |_: &WideState| async move { branch(i) })
        } else {
            g.node(name.clone(), move |_: &WideState| branch(i))
        };
        g = g.edge(START, name.clone());
    }
    g.node("join", |s: &WideState| {
        WideStateUpdate::new().result(s.k0 + s.k1 + s.k2 + s.k3 + s.k4 + s.k5 + s.k6 + s.k7)
    })
    .join(names, "join")
    .edge("join", END)
    .compile()
    .expect("W4 graph")
}

pub(crate) fn w4(variant: &str, o: &Opts) -> Case {
    let n = o.n(1000);
    let mut case = Case::new(
        "W4",
        variant,
        json!({"N": n, "width": 8, "reps": o.reps, "warmup": o.warmup}),
    );
    let g = build_wide(variant == "async");
    let cfg = RunConfig::new();
    let units = [("invoke", n as f64), ("node", 9.0 * n as f64)];
    run_invokes(&mut case, o, &units, variant == "sync", n, || async {
        let out = g
            .invoke(WideStateUpdate::new().result(0), &cfg)
            .await
            .expect("W4 run");
        assert_eq!(out.result, 36);
    });
    case
}

pub(crate) fn w7(variant: &str, o: &Opts) -> Case {
    let (mode, c) = variant.split_once('=').unwrap_or(("gather", "1000"));
    let mut c: usize = c.parse().expect("concurrency");
    if o.quick {
        c = (c / 10).max(10);
    }
    let mut case = Case::new(
        "W7",
        variant,
        json!({"concurrency": c, "reps": o.reps, "warmup": o.warmup}),
    );
    let g = build_linear(true);
    let cfg = RunConfig::new();
    let rt = runtime();
    let rss_before = rss_now_kib();
    let reps = if c <= 1000 { o.reps } else { o.reps.min(3) };
    case.params.insert("reps_used".into(), json!(reps));
    case.params.insert("spawned_tasks".into(), json!(false));
    case.run(
        reps,
        o.warmup,
        &[("invoke", c as f64), ("node", 3.0 * c as f64)],
        |_| {},
        |_| {
            rt.block_on(async {
                if mode == "gather" {
                    let outs = futures::future::join_all(
                        (0..c).map(|_| g.invoke(Counter::default(), &cfg)),
                    )
                    .await;
                    assert_eq!(outs.len(), c);
                    for o in outs {
                        check(&o.expect("W7 run"), 3);
                    }
                } else {
                    for _ in 0..c {
                        check(
                            &g.invoke(Counter::default(), &cfg).await.expect("W7 run"),
                            3,
                        );
                    }
                }
            });
            none()
        },
    );
    case.info.insert(
        "rss_before_first_run_mib".into(),
        json!(rss_before as f64 / 1024.0),
    );
    case.info.insert(
        "rss_peak_delta_mib".into(),
        json!((rss_peak_kib().saturating_sub(rss_before)) as f64 / 1024.0),
    );
    case
}

async fn count_events(
    g: &CompiledGraph<Counter>,
    cfg: &RunConfig,
    mode: StreamMode,
    n: usize,
) -> usize {
    let mut events = 0usize;
    for _ in 0..n {
        let mut s = g.stream(Counter::default(), cfg, mode);
        while let Some(ev) = s.next().await {
            ev.expect("W8 run");
            events += 1;
        }
    }
    events
}

pub(crate) fn w8(variant: &str, o: &Opts) -> Case {
    let (mode_name, sync) = variant.split_once('/').unwrap_or(("updates", "async"));
    let n = o.n(100);
    let mut case = Case::new(
        "W8",
        variant,
        json!({"N": n, "stream_mode": mode_name, "reps": o.reps, "warmup": o.warmup}),
    );
    let mode = match mode_name {
        "values" => StreamMode::Values,
        "messages" => StreamMode::Messages,
        _ => StreamMode::Updates,
    };
    let g = if mode == StreamMode::Messages {
        build_chatty_loop()
    } else {
        build_loop(sync != "sync").compile().expect("W8 graph")
    };
    let cfg = RunConfig::new().recursion_limit(10_000);
    let per_invoke: usize = if mode == StreamMode::Values {
        LOOP_STEPS as usize + 1
    } else {
        LOOP_STEPS as usize
    };
    // One probe: the first and last events and the count per invoke.
    let probe: Vec<String> = futures::executor::block_on(async {
        let mut s = g.stream(Counter::default(), &cfg, mode);
        let mut v = Vec::new();
        while let Some(ev) = s.next().await {
            v.push(format!("{:?}", ev.expect("W8 probe")));
        }
        v
    });
    assert_eq!(probe.len(), per_invoke, "events per invoke");
    case.info
        .insert("events_per_invoke".into(), json!(per_invoke));
    case.info.insert("first_event".into(), json!(probe.first()));
    case.info.insert("last_event".into(), json!(probe.last()));
    let units = [
        ("event", (n * per_invoke) as f64),
        ("superstep", (n as i64 * LOOP_STEPS) as f64),
        ("invoke", n as f64),
    ];
    let rt = runtime();
    case.run(
        o.reps,
        o.warmup,
        &units,
        |_| {},
        |_| {
            let events = if sync == "sync" {
                futures::executor::block_on(count_events(&g, &cfg, mode, n))
            } else {
                rt.block_on(count_events(&g, &cfg, mode, n))
            };
            assert_eq!(events, n * per_invoke);
            none()
        },
    );
    case
}

/// W2's loop whose node streams one LLM chunk per superstep (`messages` mode; what a node
/// calling a streaming model does, without the model).
fn build_chatty_loop() -> CompiledGraph<Counter> {
    StateGraph::<Counter>::new()
        .node("step", |s: &Counter, ctx: Ctx| {
            let n = s.counter + 1;
            async move {
                ctx.emit_message(json!({"type": "AIMessageChunk", "content": "tok"}))
                    .await?;
                Ok::<_, NodeError>(CounterUpdate::new().counter(n))
            }
        })
        .edge(START, "step")
        .route(
            "step",
            |s: &Counter| if s.counter < LOOP_STEPS { "step" } else { END },
            ["step", END],
        )
        .compile()
        .expect("W8 messages graph")
}

pub(crate) fn w10(variant: &str, o: &Opts) -> Case {
    let l: usize = variant
        .trim_start_matches("length=")
        .parse()
        .expect("length");
    let base = match l {
        10 => 500,
        100 => 50,
        _ => 5,
    };
    let n = o.n(base);
    let mut case = Case::new(
        "W10",
        variant,
        json!({"L": l, "N": n, "reps": o.reps, "warmup": o.warmup}),
    );
    let mut g = StateGraph::<Counter>::new();
    for i in 0..l {
        g = g.node(format!("n{i}"), super::ainc);
        g = if i == 0 {
            g.edge(START, "n0")
        } else {
            g.edge(format!("n{}", i - 1), format!("n{i}"))
        };
    }
    let g = g
        .edge(format!("n{}", l - 1), END)
        .compile()
        .expect("W10 graph");
    let cfg = RunConfig::new().recursion_limit(10_000);
    let rt = runtime();
    case.run(
        o.reps,
        o.warmup,
        &[("invoke", n as f64), ("node", (n * l) as f64)],
        |_| {},
        |_| {
            rt.block_on(async {
                for _ in 0..n {
                    check(
                        &g.invoke(CounterUpdate::new().counter(0), &cfg)
                            .await
                            .expect("W10 run"),
                        l as i64,
                    );
                }
            });
            none()
        },
    );
    case
}
