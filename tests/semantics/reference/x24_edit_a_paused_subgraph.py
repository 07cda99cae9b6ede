from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking, mk
from _common import invoke, main, snap

META = {
    "title": "Editing the state of a subgraph paused at a question, then resuming the parent",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
The run pauses inside the subgraph, at ask. The subgraph's own snapshot (its namespace, read
through the parent's task) shows next [ask] and the path so far. `update_state` on that
snapshot's config (as_node s1, the node that wrote last) adds "edited" to the subgraph's path
and leaves ask due. Resuming the parent with "yes" re-runs ask, which gets the answer: the
subgraph finishes with the edit in its path, hands it back to the parent, and b follows."""

SUB = StateGraph(S)
SUB.add_node("s1", mk("s1"))
SUB.add_node("ask", asking("ask", "sub approve?"))
SUB.add_node("s3", mk("s3"))
SUB.add_edge(START, "s1")
SUB.add_edge("s1", "ask")
SUB.add_edge("ask", "s3")
SUB.add_edge("s3", END)
SUBGRAPH = SUB.compile()


def sub_snapshot(app):
    st = app.get_state(CFG, subgraphs=True)
    return st.tasks[0].state


def run():
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("child", SUBGRAPH)
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "child")
    g.add_edge("child", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    sub = sub_snapshot(app)
    out["sub_before"] = snap(sub)
    app.update_state(sub.config, {"path": ["edited"]})
    out["sub_after_edit"] = snap(sub_snapshot(app))
    out["resume"] = invoke(app, Command(resume="yes"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
