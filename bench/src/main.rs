//! `langgraph-bench`: runs the W1-W10 workloads and writes the same JSON as the Python runner.
//!
//! ```text
//! langgraph-bench <W1|W2|...|all> [--variant V] [--json FILE] [--reps 5] [--warmup 1] [--quick]
//! ```
//!
//! Every (workload, variant) runs in a fresh child process (this binary with `--one`), so
//! peak RSS belongs to the case alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod measure;
mod workloads;

use std::process::Command;

use serde_json::{Value, json};
use workloads::Opts;
use workloads::{core, storage};

type Runner = fn(&str, &Opts) -> measure::Case;

fn workloads() -> Vec<(&'static str, Runner, Vec<&'static str>)> {
    vec![
        ("W1", core::w1 as Runner, vec!["sync", "async", "compile"]),
        ("W2", core::w2, vec!["sync", "async", "async+tracing"]),
        (
            "W3",
            core::w3,
            vec![
                "K=10/sync",
                "K=10/async",
                "K=100/sync",
                "K=100/async",
                "K=1000/sync",
                "K=1000/async",
                "K=10000/sync",
                "K=10000/async",
            ],
        ),
        ("W4", core::w4, vec!["sync", "async"]),
        (
            "W5",
            storage::w5,
            vec![
                "none/-",
                "memory/sync",
                "memory/async",
                "memory/exit",
                "sqlite/sync",
                "sqlite/async",
                "sqlite/exit",
                "sqlite-normal/sync",
                "sqlite-normal/async",
                "postgres/sync",
                "postgres/async",
                "postgres/exit",
                "postgres-nosync/sync",
            ],
        ),
        (
            "W6",
            storage::w6,
            vec!["memory", "sqlite", "sqlite-normal", "postgres"],
        ),
        (
            "W7",
            core::w7,
            vec!["gather=1000", "sequential=1000", "gather=10000"],
        ),
        (
            "W8",
            core::w8,
            vec![
                "updates/sync",
                "updates/async",
                "values/sync",
                "messages/async",
            ],
        ),
        (
            "W9",
            storage::w9,
            vec![
                "memory",
                "sqlite",
                "sqlite-normal",
                "sqlite-delta",
                "sqlite-normal-delta",
                "postgres",
            ],
        ),
        (
            "W10",
            core::w10,
            vec!["length=10", "length=100", "length=1000"],
        ),
    ]
}

struct Args {
    list: bool,
    target: String,
    variant: Option<String>,
    json: Option<String>,
    one: bool,
    opts: Opts,
}

fn parse() -> Args {
    let mut a = Args {
        list: false,
        target: "all".into(),
        variant: None,
        json: None,
        one: false,
        opts: Opts {
            reps: 5,
            warmup: 1,
            quick: false,
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--variant" => a.variant = it.next(),
            "--json" => a.json = it.next(),
            "--reps" => a.opts.reps = it.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--warmup" => a.opts.warmup = it.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--quick" => a.opts.quick = true,
            "--one" => a.one = true,
            "--list" => a.list = true,
            "-h" | "--help" => {
                println!(
                    "langgraph-bench <W1|W2|W3|W4|W7|W8|W10|all> [--variant V] [--json FILE] [--reps N] [--warmup N] [--quick]"
                );
                std::process::exit(0);
            }
            other => a.target = other.to_string(),
        }
    }
    a
}

fn main() {
    let args = parse();
    let all = workloads();
    if args.list {
        for (w, _, variants) in &all {
            if args.target == "all" || args.target == *w {
                for v in variants {
                    println!("{v}");
                }
            }
        }
        return;
    }
    if args.one {
        let (_, run, _) = all
            .iter()
            .find(|(w, _, _)| *w == args.target)
            .expect("unknown workload");
        let case = run(args.variant.as_deref().unwrap_or(""), &args.opts);
        println!("{}", case.result());
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let started = now();
    let mut results = Vec::new();
    for (w, _, variants) in &all {
        if args.target != "all" && args.target != *w {
            continue;
        }
        for v in variants {
            if args.variant.as_deref().is_some_and(|x| x != *v) {
                continue;
            }
            let t0 = std::time::Instant::now();
            let mut cmd = Command::new(&exe);
            cmd.args([
                *w,
                "--variant",
                v,
                "--one",
                "--reps",
                &args.opts.reps.to_string(),
                "--warmup",
                &args.opts.warmup.to_string(),
            ]);
            if args.opts.quick {
                cmd.arg("--quick");
            }
            let out = cmd.output().expect("spawn case");
            if !out.status.success() {
                eprintln!("{w} {v}: FAILED\n{}", String::from_utf8_lossy(&out.stderr));
                std::process::exit(1);
            }
            let mut r: Value = serde_json::from_slice(&out.stdout).expect("case JSON");
            r["child_wall_s"] = json!(t0.elapsed().as_secs_f64());
            print_case(&r);
            results.push(r);
        }
    }
    let doc = json!({
        "meta": {
            "started": started,
            "finished": now(),
            "implementation": format!("langgraph (Rust) {}", env!("CARGO_PKG_VERSION")),
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "argv": std::env::args().collect::<Vec<_>>(),
        },
        "results": results,
    });
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).expect("write JSON");
        eprintln!("wrote {path}");
    }
}

fn now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn print_case(r: &Value) {
    let m = r["metrics"].as_object().cloned().unwrap_or_default();
    let mut parts = Vec::new();
    for (k, v) in &m {
        if k.starts_with("us_per_") {
            parts.push(format!("{k}={:.3}", v["median"].as_f64().unwrap_or(0.0)));
        }
    }
    println!(
        "{:<4} {:<16} {}",
        r["workload"].as_str().unwrap_or(""),
        r["variant"].as_str().unwrap_or(""),
        parts.join("  ")
    );
}
