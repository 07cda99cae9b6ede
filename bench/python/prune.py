"""The `prune` example for Python LangGraph: a conversation thread of N turns (a user line and
a reply of about 200 bytes each, appended to one list) built with durability "sync" on
`PostgresSaver`, then pruned with `prune([thread], strategy="keep_latest")`; a new turn then
goes on from the pruned thread.

    python prune.py --postgres URL [--turns 100,1000] [--reps 3]

Prints the same lines as `cargo run --release -p langgraph-bench --example prune -- --postgres
URL` (rows and bytes are the rows of the thread in the saver's tables and the bytes of their
`checkpoint`, `metadata`, `blob` and write columns).
"""
import argparse
import operator
import statistics
import time
from typing import Annotated, TypedDict

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import END, START, StateGraph


class Chat(TypedDict):
    lines: Annotated[list[str], operator.add]


def build(saver):
    def reply(s):
        return {"lines": [f"reply {len(s['lines'])} " + "r" * 190]}

    def note(s):
        return {}

    g = StateGraph(Chat)
    g.add_node("reply", reply)
    g.add_node("note", note)
    g.add_edge(START, "reply")
    g.add_edge("reply", "note")
    g.add_edge("note", END)
    return g.compile(checkpointer=saver)


def stats(conn, thread):
    q = {
        "checkpoints": "SELECT count(*), coalesce(sum(length(checkpoint::text) + length(metadata::text)), 0) FROM checkpoints WHERE thread_id = %s",
        "blobs": "SELECT count(*), coalesce(sum(length(blob)), 0) FROM checkpoint_blobs WHERE thread_id = %s",
        "writes": "SELECT count(*), coalesce(sum(length(blob)), 0) FROM checkpoint_writes WHERE thread_id = %s",
    }
    out = {}
    for k, sql in q.items():
        out[k] = conn.execute(sql, (thread,)).fetchone()
    return out["checkpoints"][0], sum(v[1] for v in out.values()) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", required=True)
    ap.add_argument("--turns", default="100,1000")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    with psycopg.connect(a.postgres, autocommit=True, prepare_threshold=0) as conn:
        saver = PostgresSaver(conn)
        saver.setup()
        g = build(saver)
        for n in [int(x) for x in a.turns.split(",")]:
            prunes, nexts = [], []
            for rep in range(a.reps):
                thread = f"py-t{n}-{rep}-{time.time_ns()}"
                cfg = {"configurable": {"thread_id": thread}}
                for i in range(n):
                    g.invoke({"lines": [f"user {i} " + "u" * 190]}, cfg, durability="sync")
                before = stats(conn, thread)
                t = time.perf_counter()
                saver.prune([thread], strategy="keep_latest")
                prunes.append((time.perf_counter() - t) * 1e3)
                after = stats(conn, thread)
                t = time.perf_counter()
                out = g.invoke({"lines": ["again"]}, cfg, durability="sync")
                nexts.append((time.perf_counter() - t) * 1e3)
                assert len(out["lines"]) == 2 * n + 2, len(out["lines"])
                saver.delete_thread(thread)
            prunes.sort()
            nexts.sort()
            print(
                f"python-postgres {n} turns: {before[0]} checkpoints, {before[1]:.0f} KiB before; "
                f"{after[0]} checkpoint(s), {after[1]:.0f} KiB after; "
                f"prune {statistics.median(prunes):.2f} ms ({prunes[0]:.2f}-{prunes[-1]:.2f}); "
                f"next turn {statistics.median(nexts):.2f} ms ({nexts[0]:.2f}-{nexts[-1]:.2f})"
            )


if __name__ == "__main__":
    main()
