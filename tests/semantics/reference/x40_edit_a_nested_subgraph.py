from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking_subgraph, mk, with_child
from _common import invoke, main, snap

META = {
    "title": "Editing a subgraph two levels down while it asks, then resuming the root",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is START -> m -> inner -> END, inner is START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'); same state",
    "quirks": {},
}
DOC = """\
The run pauses two levels down, at ask. The innermost subgraph's snapshot is reached through
the tasks of each level. `update_state` on it adds "edited"; resuming the root with "yes"
re-runs ask with the answer, and every level finishes."""


def middle():
    g = StateGraph(S)
    g.add_node("m", mk("m"))
    g.add_node("inner", asking_subgraph())
    g.add_edge(START, "m")
    g.add_edge("m", "inner")
    g.add_edge("inner", END)
    return g.compile()


def innermost(app):
    st = app.get_state(CFG, subgraphs=True)
    return st.tasks[0].state.tasks[0].state


def run():
    app = with_child(middle())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    inner = innermost(app)
    out["inner_before"] = snap(inner)
    app.update_state(inner.config, {"path": ["edited"]})
    out["inner_after_edit"] = snap(innermost(app))
    out["resume"] = invoke(app, Command(resume="yes"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
