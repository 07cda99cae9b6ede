from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from _graphs import CFG, S, caller, pair_subgraph
from _common import invoke, main

META = {
    "title": "A breakpoint before the node that calls a per-thread subgraph (checkpointer=True)",
    "area": "subgraphs",
    "graph": "START -> call -> END, interrupt_before=[call], where call invokes pair (START -> s1 -> s2 -> END) with path [in]",
    "quirks": {
        "observations.t2r": "quirk: not required - the second turn's call, resumed past the breakpoint, returns the first turn's result without running the subgraph; required: the call is a new turn of the subgraph",
    },
}
DOC = """\
The first turn pauses before call; continuing runs it and the subgraph. The second turn pauses
before call again; continuing runs call, but the subgraph, told the parent is resuming, goes on
from its finished head: it returns the first turn's state and its nodes do not run."""

PAIR = pair_subgraph(checkpointer=True)


def run():
    g = StateGraph(S)
    g.add_node("call", caller("call", PAIR, "in"))
    g.add_edge(START, "call")
    g.add_edge("call", END)
    app = g.compile(checkpointer=InMemorySaver(), interrupt_before=["call"])
    out = {}
    out["t1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["t1r"] = invoke(app, None, CFG)
    out["t2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["t2r"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
