from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from _graphs import CFG, S
from _common import invoke, log, main, state

META = {
    "title": "update_state as a node whose route sends: the sends follow the edited state",
    "area": "checkpoints",
    "graph": "START -> plan -> (Send w {i} for i in range(x)) -> w -> END; plan sets x = 2",
    "quirks": {},
}
DOC = """\
A finished run sent w twice. `update_state({x: 3}, as_node=plan)` writes as plan, and plan's
route runs on the edited state: three sends of w are due. Going on with no input runs them."""


def plan(s):
    log("plan")
    return {"x": 2}


def w(arg):
    log("w")
    return {"path": [f"w{arg['i']}"]}


def run():
    g = StateGraph(S)
    g.add_node("plan", plan)
    g.add_node("w", w)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: [Send("w", {"i": i}) for i in range(s["x"])])
    g.add_edge("w", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"x": 3}, as_node="plan")
    out["state"] = state(app, CFG)
    out["go_on"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
