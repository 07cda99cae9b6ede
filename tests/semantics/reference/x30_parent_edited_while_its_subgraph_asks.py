from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking, mk
from _common import invoke, main, state

META = {
    "title": "The parent's state edited while its subgraph waits for an answer",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
While the subgraph waits at ask, `update_state` on the parent (as a) adds "edited" and makes
child due again, from a new checkpoint: the question is no longer pending. A bare answer is
then kept for the next question: child's subgraph starts over from its start (s1 runs again,
in a new namespace), and its ask takes the kept answer."""

SUB = StateGraph(S)
SUB.add_node("s1", mk("s1"))
SUB.add_node("ask", asking("ask", "sub approve?"))
SUB.add_node("s3", mk("s3"))
SUB.add_edge(START, "s1")
SUB.add_edge("s1", "ask")
SUB.add_edge("ask", "s3")
SUB.add_edge("s3", END)
SUBGRAPH = SUB.compile()


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
    app.update_state(CFG, {"path": ["edited"]}, as_node="a")
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, Command(resume="yes"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
