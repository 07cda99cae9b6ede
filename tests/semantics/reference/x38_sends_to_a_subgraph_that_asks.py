from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

from _graphs import CFG, S, asking, mk
from _common import invoke, main, state

META = {
    "title": "Sends to a subgraph node whose subgraph asks; both answered at once by id",
    "area": "interrupts",
    "graph": "START -(Send child {path: [w0]}, Send child {path: [w1]})-> child -> b -> END; child is the subgraph START -> ask -> END (ask asks 'sub?'), same state",
    "quirks": {},
}
DOC = """\
Two sends start two runs of the subgraph, each with its own input; both ask, and the parent
shows two child tasks, each with its question. Answering both by id re-runs both subgraphs,
each ask gets its own answer, and b runs once after them."""

SUB = StateGraph(S)
SUB.add_node("ask", asking("ask", "sub?"))
SUB.add_edge(START, "ask")
SUB.add_edge("ask", END)


def run():
    g = StateGraph(S)
    g.add_node("child", SUB.compile())
    g.add_node("b", mk("b"))
    g.add_conditional_edges(START, lambda s: [Send("child", {"path": [f"w{i}"]}) for i in range(2)])
    g.add_edge("child", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["state"] = state(app, CFG)
    st = app.get_state(CFG)
    answers = {t.interrupts[0].id: f"A{i}" for i, t in enumerate(st.tasks)}
    out["resume"] = invoke(app, Command(resume=answers), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
