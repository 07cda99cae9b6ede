"""The `history` example for Python LangGraph: a chat thread of N turns (a user line and a
reply of about 200 bytes each, appended to one list; three checkpoints a turn), then pages of
its history through the saver's `list`.

    python history.py [--turns 1000] [--reps 5] [--postgres URL]

Prints the same line as `cargo run --release -p langgraph-bench --example history`: the median
time (and range) of the head (`get_tuple`), the newest 10 checkpoints, the 10 before the thread's middle checkpoint,
the newest 10 whose metadata has `source = "input"`, and `get_state_history` with a limit
of 10.
"""
import argparse
import operator
import os
import sqlite3
import statistics
import tempfile
import time
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph


class Chat(TypedDict):
    lines: Annotated[list[str], operator.add]


def build(saver):
    def reply(s):
        return {"lines": [f"reply {len(s['lines'])} " + "r" * 190]}

    g = StateGraph(Chat)
    g.add_node("reply", reply)
    g.add_edge(START, "reply")
    g.add_edge("reply", END)
    return g.compile(checkpointer=saver)


def timed(reps, expected, f):
    ms = []
    for _ in range(reps):
        t = time.perf_counter()
        n = f()
        ms.append((time.perf_counter() - t) * 1e3)
        assert n == expected, n
    ms.sort()
    return f"{statistics.median(ms):.2f} ms ({ms[0]:.2f}-{ms[-1]:.2f})"


def run(saver, kind, turns, reps):
    g = build(saver)
    cfg = {"configurable": {"thread_id": "chat"}}
    for i in range(turns):
        g.invoke({"lines": [f"user {i} " + "u" * 190]}, cfg, durability="async")
    every = list(saver.list(cfg))
    middle = every[len(every) // 2].config
    head = timed(reps, 1, lambda: int(saver.get_tuple(cfg) is not None))
    newest = timed(reps, 10, lambda: len(list(saver.list(cfg, limit=10))))
    before = timed(reps, 10, lambda: len(list(saver.list(cfg, before=middle, limit=10))))
    inputs = timed(
        reps, 10, lambda: len(list(saver.list(cfg, filter={"source": "input"}, limit=10)))
    )
    states = timed(reps, 10, lambda: len(list(g.get_state_history(cfg, limit=10))))
    print(
        f"python-{kind} {turns} turns ({len(every)} checkpoints): the head {head}; newest 10 {newest}; "
        f"10 before the middle {before}; newest 10 inputs by metadata {inputs}; "
        f"get_state_history of 10 {states}"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--postgres")
    a = ap.parse_args()
    if a.postgres:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver

        with psycopg.connect(a.postgres, autocommit=True, prepare_threshold=0) as conn:
            saver = PostgresSaver(conn)
            saver.setup()
            conn.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
            run(saver, "postgres", a.turns, a.reps)
    else:
        with tempfile.TemporaryDirectory() as d:
            conn = sqlite3.connect(os.path.join(d, "history.db"), check_same_thread=False)
            run(SqliteSaver(conn), "sqlite", a.turns, a.reps)
            conn.close()


if __name__ == "__main__":
    main()
