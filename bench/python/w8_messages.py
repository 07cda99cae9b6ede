"""W8 `messages/async` for Python LangGraph: the W2 loop whose node calls a chat model that
streams one token per call (`GenericFakeChatModel`), consumed with `stream_mode="messages"`.

    python w8_messages.py --json out.json [--reps 5] [--warmup 1] [--n 100]

Writes the reference runner's JSON shape, so `compare.py` joins it with the Rust result.
"""
import argparse
import asyncio
import itertools
import json
import statistics
import time
from typing import TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph

STEPS = 100


class S(TypedDict):
    counter: int


def build():
    model = GenericFakeChatModel(messages=itertools.repeat(AIMessage(content="tok")))

    async def step(s):
        await model.ainvoke("next")
        return {"counter": s["counter"] + 1}

    g = StateGraph(S)
    g.add_node("step", step)
    g.add_edge(START, "step")
    g.add_conditional_edges("step", lambda s: "step" if s["counter"] < STEPS else END)
    return g.compile()


async def one_rep(app, n):
    events = 0
    for _ in range(n):
        async for _ev in app.astream({"counter": 0}, {"recursion_limit": 10_000}, stream_mode="messages"):
            events += 1
    return events


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json", required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--n", type=int, default=100)
    a = p.parse_args()
    app = build()
    walls = []
    for rep in range(a.warmup + a.reps):
        t0 = time.perf_counter()
        events = asyncio.run(one_rep(app, a.n))
        wall = time.perf_counter() - t0
        assert events == a.n * STEPS, f"{events} events, expected {a.n * STEPS}"
        if rep >= a.warmup:
            walls.append(wall)
    per_event = [w * 1e6 / (a.n * STEPS) for w in walls]
    metric = lambda xs: {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "values": xs}
    case = {
        "workload": "W8",
        "variant": "messages/async",
        "params": {"N": a.n, "stream_mode": "messages", "reps": a.reps, "warmup": a.warmup},
        "metrics": {"us_per_event": metric(per_event), "wall_ms_per_rep": metric([w * 1e3 for w in walls])},
        "info": {"events_per_invoke": STEPS, "model": "GenericFakeChatModel, one token per call"},
    }
    with open(a.json, "w") as f:
        json.dump({"meta": {"runner": "w8_messages.py"}, "results": [case]}, f, indent=1)


if __name__ == "__main__":
    main()
