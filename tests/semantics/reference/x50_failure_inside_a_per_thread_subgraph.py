from _graphs import CFG, caller, flaky_subgraph, single
from _common import invoke, main

META = {
    "title": "A per-thread subgraph (checkpointer=True) whose node fails once",
    "area": "subgraphs",
    "graph": "START -> call -> END, where call invokes START -> s1 -> flaky -> END with path [in]; flaky fails on its first run",
    "quirks": {},
}
DOC = """\
The first turn fails in flaky. Continuing the parent runs call again, and the subgraph goes on
from its checkpoint: flaky runs again, s1 does not. The next turn goes on from that state."""


def run():
    app = single("call", caller("call", flaky_subgraph(checkpointer=True), "in"))
    out = {}
    out["t1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["t1r"] = invoke(app, None, CFG)
    out["t2"] = invoke(app, {"path": ["t2"]}, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
