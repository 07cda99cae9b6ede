from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from _graphs import CFG, S, flaky_subgraph, mk
from _common import invoke, main

META = {
    "title": "A retry policy around a node whose subgraph fails once",
    "area": "fault_tolerance",
    "graph": "START -> a -> child -> b -> END, child (retry on ValueError, 3 attempts) is the subgraph START -> s1 -> flaky -> END; flaky fails on its first run; same state",
    "quirks": {
        "observations.run.exec": "quirk: not required - the reference's retry runs the subgraph again from its start, in a new namespace ('child|1'), so s1 runs twice",
    },
}
DOC = """\
flaky fails inside the subgraph on its first run; child's retry policy runs child again within
the same invoke. The reference starts the subgraph over in a new namespace (s1 runs again),
and the run finishes."""


def run():
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    policy = RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False, retry_on=ValueError)
    g.add_node("child", flaky_subgraph(), retry_policy=policy)
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "child")
    g.add_edge("child", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver())
    return {"run": invoke(app, {"path": []}, CFG)}


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
