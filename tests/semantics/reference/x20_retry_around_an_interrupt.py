from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt

from _graphs import CFG, S
from _common import invoke, log, main, state

META = {
    "title": "A retry policy around a node that asks: failures retry, the question pauses",
    "area": "fault tolerance",
    "graph": "START -> ask -> END; ask fails on attempts 1, 2 and 4, asks 'ok?'; RetryPolicy(max_attempts=3)",
    "quirks": {},
}
DOC = """\
Attempts 1 and 2 fail and are retried; attempt 3 asks and the run pauses (an interrupt is not a
failure). The resume runs the node again with a fresh retry budget: attempt 4 gets the answer and
fails, attempt 5 gets the same answer again and succeeds."""

CALLS = {"n": 0}


def ask(s):
    CALLS["n"] += 1
    log("ask", attempt=CALLS["n"])
    if CALLS["n"] in (1, 2):
        raise ConnectionError("net")
    v = interrupt("ok?")
    if CALLS["n"] == 4:
        raise ConnectionError("net again")
    return {"path": [f"ask:{v}"]}


def run():
    g = StateGraph(S)
    g.add_node("ask", ask, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.001,
                                                      jitter=False))
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume"] = invoke(app, Command(resume="y"), CFG)
    out["state"] = state(app, CFG, with_tasks=False)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
