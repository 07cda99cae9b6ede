import operator
from typing import Annotated, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from _graphs import CFG, hist
from _common import checkpoint_cfg, invoke, log, main, state

META = {
    "title": "Send tasks pending at a breakpoint are stored with the checkpoint, resumed and replayed",
    "area": "checkpoints",
    "graph": "START -> plan -(Send work per item)-> work -> END; interrupt_before=[work]",
    "quirks": {},
}
DOC = """\
plan fans out one Send per item; the breakpoint before work stops the run with three pending
`work` tasks (c2). Resuming runs them with their own arguments. Replaying c2 writes a fork (c4)
that still holds the three sends, and runs them again (step 3) with the same arguments."""


class S(TypedDict, total=False):
    items: list
    path: Annotated[list, operator.add]


def plan(s):
    log("plan")
    return {"path": ["plan"]}


def work(a):
    log("work", item=a["item"])
    return {"path": [f"w{a['item']}"]}


def fan(s):
    return [Send("work", {"item": i}) for i in s["items"]]


def run():
    g = StateGraph(S)
    g.add_node("plan", plan)
    g.add_node("work", work)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan, ["work"])
    g.add_edge("work", END)
    app = g.compile(checkpointer=InMemorySaver(), interrupt_before=["work"])
    out = {}
    out["run"] = invoke(app, {"items": [1, 2, 3], "path": []}, CFG)
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, None, CFG, log_extra=True)
    out["history"] = hist(app, CFG)
    out["replay_c2"] = invoke(app, None, checkpoint_cfg(app, CFG, "c2"), log_extra=True)
    out["history2"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
