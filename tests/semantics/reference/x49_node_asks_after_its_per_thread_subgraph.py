from langgraph.types import Command, interrupt

from _graphs import CFG, pair_subgraph, single
from _common import invoke, log, main

META = {
    "title": "A node asks after the per-thread subgraph (checkpointer=True) it called",
    "area": "subgraphs",
    "graph": "START -> wrapper -> END, where wrapper invokes pair (START -> s1 -> s2 -> END) with path [in], then asks 'after?'",
    "quirks": {},
}
DOC = """\
Resuming runs wrapper again: its call of the subgraph, made before the question, returns the
stored result without running the subgraph again (no second turn). The next turn's call goes on
from that state."""

PAIR = pair_subgraph(checkpointer=True)


def wrapper(s):
    log("wrapper")
    out = PAIR.invoke({"path": ["in"]})
    ok = interrupt("after?")
    return {"path": ["wrapper:" + ",".join(out["path"]) + ":" + ok]}


def run():
    app = single("wrapper", wrapper)
    out = {}
    out["t1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["t1r"] = invoke(app, Command(resume="y"), CFG)
    out["t2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["t2r"] = invoke(app, Command(resume="z"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
