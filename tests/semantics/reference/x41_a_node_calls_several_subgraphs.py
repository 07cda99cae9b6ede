from langgraph.graph import END, START, StateGraph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from _graphs import CFG, S, asking_subgraph, pair_subgraph
from _common import invoke, log, main

META = {
    "title": "One node calls several subgraphs (one of them twice, one that asks)",
    "area": "interrupts",
    "graph": "START -> many -> END; many calls pair (START -> s1 -> s2 -> END), then the asking subgraph (START -> s1 -> ask -> s3 -> END), then pair again with other input",
    "quirks": {},
}
DOC = """\
Each call runs on its own: the two calls of pair do not share checkpoints, so the second
runs its nodes again with its own input. The asking subgraph pauses the run. Resuming re-runs
many: the first call of pair returns its stored result without running, the asking subgraph
goes on from its checkpoint with the answer, and the second call of pair runs."""

PAIR = pair_subgraph()
ASKING = asking_subgraph()


def many(s):
    log("many")
    first = PAIR.invoke({"path": ["p1"]})
    asked = ASKING.invoke({"path": ["q"]})
    second = PAIR.invoke({"path": ["p2"]})
    return {"path": first["path"] + asked["path"] + second["path"]}


def run():
    g = StateGraph(S)
    g.add_node("many", many)
    g.add_edge(START, "many")
    g.add_edge("many", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume"] = invoke(app, Command(resume="yes"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
