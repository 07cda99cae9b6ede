"""The `concurrent_runs` example for Python LangGraph: N durable runs at once on one SQLite
file (`AsyncSqliteSaver`, WAL, `synchronous=FULL` unless `--normal`), each counting to 100
with durability "sync", all started at once with `asyncio.gather`.

    python concurrent_runs.py [--runs 1,2,10,50] [--reps 5] [--normal]

Prints, per number of runs, the median µs per superstep over the repetitions and the range,
in the same lines as `cargo run --release -p langgraph-bench --example concurrent_runs`.
"""
import argparse
import asyncio
import os
import statistics
import tempfile
import time
from typing import TypedDict

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

STEPS = 100


class Count(TypedDict):
    counter: int


def build():
    def inc(s):
        return {"counter": s["counter"] + 1}

    g = StateGraph(Count)
    g.add_node("inc", inc)
    g.add_edge(START, "inc")
    g.add_conditional_edges(
        "inc", lambda s: "inc" if s["counter"] < STEPS else END, ["inc", END]
    )
    return g


async def once(runs, normal, rep):
    with tempfile.TemporaryDirectory() as d:
        conn = await aiosqlite.connect(os.path.join(d, f"runs{runs}-rep{rep}.db"))
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        await conn.execute("PRAGMA synchronous=" + ("NORMAL" if normal else "FULL"))
        g = build().compile(checkpointer=saver)
        start = time.perf_counter()
        outs = await asyncio.gather(
            *(
                g.ainvoke(
                    {"counter": 0},
                    {"configurable": {"thread_id": f"session-{i}"}},
                    durability="sync",
                )
                for i in range(runs)
            )
        )
        us = (time.perf_counter() - start) * 1e6 / (runs * STEPS)
        await conn.close()
    assert all(o["counter"] == STEPS for o in outs), outs
    return us


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", default="1,2,10,50")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--normal", action="store_true")
    a = p.parse_args()
    print(f"synchronous={'Normal' if a.normal else 'Full'} python AsyncSqliteSaver")
    for runs in [int(n) for n in a.runs.split(",")]:
        us = sorted([await once(runs, a.normal, rep) for rep in range(a.reps)])
        median = statistics.median(us)
        print(
            f"runs {runs:>3}: {median:8.1f} us per superstep ({us[0]:.1f}-{us[-1]:.1f}), "
            f"{1e6 / median:.0f} supersteps/s"
        )


asyncio.run(main())
