#!/usr/bin/env python3
"""Joins benchmark result files on (workload, variant, metric) and prints a Markdown table.

    compare.py --py py-*.json --rs rs-*.json [--adk adk-*.json] [--metrics us_per_superstep ...]

Every file has the runner's JSON shape {"meta": ..., "results": [case, ...]} (or is a single
case). Medians are over all repetitions of all files of a side (a side measured twice, before
and after the others, contributes both passes). Ratios are Python / Rust and adk-graph / Rust:
higher means this crate is faster.
"""
import argparse
import json
import statistics
from collections import defaultdict

# The metric reported per workload (the unit the targets are stated in).
PRIMARY = {
    "W1": ["us_per_invoke", "us_per_compile"],
    "W2": ["us_per_superstep"],
    "W3": ["us_per_worker"],
    "W4": ["us_per_invoke"],
    "W5": ["us_per_superstep"],
    "W6": ["us_per_cycle", "us_per_first_invoke", "us_per_resume_invoke"],
    "W7": ["us_per_invoke"],
    "W8": ["us_per_event"],
    "W9": ["us_per_superstep", "us_per_superstep_first20", "us_per_superstep_last20"],
    "W10": ["us_per_node"],
}
INFO = {"W7": ["rss_peak_delta_mib"], "W5": ["bytes_per_superstep"], "W9": ["total_bytes"]}


def load(paths):
    vals = defaultdict(list)
    info = defaultdict(list)
    for p in paths:
        with open(p) as f:
            doc = json.load(f)
        cases = doc["results"] if "results" in doc else [doc]
        for c in cases:
            key = (c["workload"], c["variant"])
            for m, v in c.get("metrics", {}).items():
                vals[key + (m,)].extend(v.get("values", [v.get("median")]))
            for k, v in c.get("info", {}).items():
                if isinstance(v, (int, float)):
                    info[key + (k,)].append(v)
            if c["workload"] == "W9" and "checkpoint_bytes" in c.get("info", {}):
                i = c["info"]
                info[key + ("total_bytes",)].append(i.get("checkpoint_bytes", 0) + i.get("write_bytes", 0))
    return vals, info


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x):
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def wkey(w):
    return int(w[1:]) if w[1:].isdigit() else 99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--py", nargs="*", default=[])
    ap.add_argument("--rs", nargs="*", default=[])
    ap.add_argument("--adk", nargs="*", default=[])
    a = ap.parse_args()
    py, py_info = load(a.py)
    rs, rs_info = load(a.rs)
    adk, adk_info = load(a.adk)
    rows = []
    keys = sorted({k[:2] for k in rs}, key=lambda k: (wkey(k[0]), k[1]))
    for w, v in keys:
        for m in PRIMARY.get(w, []):
            r = med(rs.get((w, v, m), []))
            if r is None:
                continue
            p = med(py.get((w, v, m), []))
            d = med(adk.get((w, v, m), []))
            rng = rs.get((w, v, m), [])
            rows.append((w, v, m, p, r, (min(rng), max(rng)), d))
        for m in INFO.get(w, []):
            r = med(rs_info.get((w, v, m), []))
            if r is None:
                continue
            rows.append((w, v, m, med(py_info.get((w, v, m), [])), r, None, med(adk_info.get((w, v, m), []))))
    print("| workload | variant | metric | Python | Rust (median) | Rust range | adk-graph | Python ÷ Rust | adk ÷ Rust |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for w, v, m, p, r, rng, d in rows:
        ratio = f"{p / r:,.0f}×" if p and r else "—"
        if p and r and p / r < 10:
            ratio = f"{p / r:.2f}×"
        dr = f"{d / r:.2f}×" if d and r else "—"
        rr = f"{fmt(rng[0])}–{fmt(rng[1])}" if rng else ""
        print(f"| {w} | {v} | {m} | {fmt(p)} | {fmt(r)} | {rr} | {fmt(d)} | {ratio} | {dr} |")


if __name__ == "__main__":
    main()
