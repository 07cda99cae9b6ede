import operator
from typing import Annotated, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from _graphs import CFG, asking, asks_between, hist, linear, mk
from _common import error_info, invoke, main, state

META = {
    "title": "update_state(None, as_node=END): the pending tasks are dropped, the thread ends",
    "area": "checkpoints",
    "graph": "START -> a -> ask -> b -> END (ask asks); START -> a -> b -> c with a breakpoint; START -> p (asks), q -> r",
    "quirks": {
        "observations.*.message_first_line": "quirk: not required - message text",
    },
}
DOC = """\
With no values and `as_node=END`, `update_state` stores an `update` checkpoint (step + 1) in
which every task due at the base checkpoint counts as run with no writes: `next` is empty, the
question of a node that asked is dropped, and `invoke(None)` then runs nothing. Tasks that had
finished in that superstep keep their writes, which are applied (with their edges: a node they
lead to is due). On a fresh thread the call stores an empty `update` checkpoint at step 0.
`as_node=END` with values is an error (END is not a node)."""


def fork_graph():
    """START -> p (asks), START -> q -> r -> END; p -> END."""
    g = StateGraph(dict_state())
    g.add_node("p", asking("p", "p?"))
    g.add_node("q", mk("q"))
    g.add_node("r", mk("r"))
    g.add_edge(START, "p")
    g.add_edge(START, "q")
    g.add_edge("q", "r")
    g.add_edge("p", END)
    g.add_edge("r", END)
    return g.compile(checkpointer=InMemorySaver())


def dict_state():
    class S(TypedDict, total=False):
        x: int
        path: Annotated[list, operator.add]
    return S


def run():
    out = {}
    app = asks_between()
    out["asked"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, None, as_node=END)
    out["after_end"] = state(app, CFG)
    out["resumed"] = invoke(app, None, CFG)
    out["history"] = hist(app, CFG)

    app = linear(interrupt_before=["b"])
    out["paused"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, None, as_node=END)
    out["breakpoint_after_end"] = state(app, CFG)
    out["breakpoint_resumed"] = invoke(app, None, CFG)

    app = fork_graph()
    out["parallel_asked"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, None, as_node=END)
    out["parallel_after_end"] = state(app, CFG)
    out["parallel_resumed"] = invoke(app, None, CFG)

    app = linear()
    app.update_state(CFG, None, as_node=END)
    out["fresh_after_end"] = state(app, CFG)
    out["fresh_history"] = hist(app, CFG)

    app = asks_between()
    invoke(app, {"path": []}, CFG)
    try:
        app.update_state(CFG, {"path": ["x"]}, as_node=END)
        out["with_values"] = "ok"
    except Exception as e:  # noqa: BLE001
        out["with_values"] = error_info(e)
    out["with_values_state"] = state(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
