"""What finding threads costs with Python LangGraph: its savers have no call that lists
threads, so a maintenance job walks every checkpoint with `saver.list(None)` and keeps each
thread's newest root checkpoint. The store is built as `cargo run --release -p
langgraph-bench --example threads` builds it: N chat threads of three turns (nine checkpoints
a thread; a tenth end on a question, with eight), half written before a cutoff and half after, interleaved in id order.

    python threads.py [--threads 1000,10000] [--reps 3] [--postgres URL]

Prints, per N, the median time (and range) of the walk, which yields every thread and, by the
heads' timestamps, the idle half; and of `saver.list(None, filter={"user": "ann"})`, which
finds the tenth of the threads whose run metadata names user `ann`; and of the walk that
keeps the threads whose newest root checkpoint holds an unanswered question (a tenth of them
end on `interrupt`), what a human-in-the-loop inbox needs.
"""
import argparse
import operator
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timezone
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class Chat(TypedDict):
    lines: Annotated[list[str], operator.add]


def build(saver):
    def reply(s):
        if s["lines"][-1] == "ask":
            interrupt("ok?")
        return {"lines": [f"reply {len(s['lines'])}"]}

    g = StateGraph(Chat)
    g.add_node("reply", reply)
    g.add_edge(START, "reply")
    g.add_edge("reply", END)
    return g.compile(checkpointer=saver)


def heads(saver):
    """Each thread's newest root checkpoint time, through the saver's API."""
    found = {}
    for c in saver.list(None):
        conf = c.config["configurable"]
        if conf.get("checkpoint_ns", "") != "":
            continue
        t = conf["thread_id"]
        ts = c.checkpoint["ts"]
        if t not in found or ts > found[t]:
            found[t] = ts
    return found


def waiting_threads(saver):
    """The threads whose newest root checkpoint holds a question no task answered: the
    newest tuple per thread from the walk, and its pending writes."""
    newest = {}
    for c in saver.list(None):
        conf = c.config["configurable"]
        if conf.get("checkpoint_ns", "") != "":
            continue
        t = conf["thread_id"]
        if t not in newest or c.checkpoint["ts"] > newest[t].checkpoint["ts"]:
            newest[t] = c
    out = []
    for t, c in newest.items():
        writes = c.pending_writes or []
        done = {task for task, ch, _ in writes if ch not in ("__interrupt__", "__error__", "__resume__")}
        if any(ch == "__interrupt__" and task not in done for task, ch, _ in writes):
            out.append(t)
    return out


def run(saver, kind, n, reps):
    g = build(saver)
    name = lambda i: f"user-{i:06d}/chat"
    cutoff = None
    for half in (0, 1):
        for i in range(half, n, 2):
            cfg = {"configurable": {"thread_id": name(i)}}
            cfg["metadata"] = {"user": "ann" if i % 10 == 3 else "bob"}
            for turn in range(3):
                # A tenth of the threads end on a question: they wait for an answer.
                line = "ask" if turn == 2 and i % 10 == 5 else f"user line {turn}"
                g.invoke({"lines": [line]}, cfg)
        if half == 0:
            time.sleep(0.002)
            cutoff = datetime.now(timezone.utc).isoformat()
            time.sleep(0.002)
    walks = []
    for _ in range(reps):
        t = time.perf_counter()
        found = heads(saver)
        idle = sorted(k for k, ts in found.items() if ts < cutoff)
        walks.append((time.perf_counter() - t) * 1e3)
        assert len(found) == n, len(found)
        assert len(idle) == (n + 1) // 2, len(idle)
    users = []
    for _ in range(reps):
        t = time.perf_counter()
        anns = {c.config["configurable"]["thread_id"] for c in saver.list(None, filter={"user": "ann"})}
        users.append((time.perf_counter() - t) * 1e3)
        assert len(anns) == len([i for i in range(n) if i % 10 == 3]), len(anns)
    inbox = []
    for _ in range(reps):
        t = time.perf_counter()
        waiting = sorted(waiting_threads(saver))
        inbox.append((time.perf_counter() - t) * 1e3)
        assert len(waiting) == len(range(5, n, 10)), len(waiting)
    inbox.sort()
    users.sort()
    walks.sort()
    print(
        f"python-{kind} {n} threads ({9 * n - len(range(5, n, 10))} checkpoints): every thread and the idle half "
        f"through list(None) {statistics.median(walks):.2f} ms ({walks[0]:.2f}-{walks[-1]:.2f}); "
        f"one user's tenth through list(None, filter) {statistics.median(users):.2f} ms "
        f"({users[0]:.2f}-{users[-1]:.2f}); the tenth waiting for an answer through list(None) "
        f"{statistics.median(inbox):.2f} ms ({inbox[0]:.2f}-{inbox[-1]:.2f})"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1000,10000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--postgres")
    a = ap.parse_args()
    for n in [int(x) for x in a.threads.split(",")]:
        if a.postgres:
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver

            with psycopg.connect(a.postgres, autocommit=True, prepare_threshold=0) as conn:
                saver = PostgresSaver(conn)
                saver.setup()
                conn.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
                run(saver, "postgres", n, a.reps)
        else:
            with tempfile.TemporaryDirectory() as d:
                conn = sqlite3.connect(os.path.join(d, "threads.db"), check_same_thread=False)
                run(SqliteSaver(conn), "sqlite", n, a.reps)
                conn.close()


if __name__ == "__main__":
    main()
