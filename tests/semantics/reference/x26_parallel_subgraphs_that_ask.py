from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking
from _common import invoke, log, main, state

META = {
    "title": "Two subgraphs in one superstep ask; answered by id one at a time",
    "area": "interrupts",
    "graph": "START -> left, right -> join -> END; left and right are the same subgraph START -> ask -> END (ask asks 'sub?'), same state",
    "quirks": {},
}
DOC = """\
Both subgraphs pause at their question; the parent shows two tasks, each with its subgraph's
question. Answering left's question by id re-runs only left's subgraph, which finishes; right
still waits, and join does not run. Answering right's question finishes the superstep, and
join runs once."""

SUB = StateGraph(S)
SUB.add_node("ask", asking("ask", "sub?"))
SUB.add_edge(START, "ask")
SUB.add_edge("ask", END)
SUBGRAPH = SUB.compile()


def join(s):
    log("join")
    return {"path": ["join"]}


def run():
    g = StateGraph(S)
    g.add_node("left", SUBGRAPH)
    g.add_node("right", SUBGRAPH)
    g.add_node("join", join)
    g.add_edge(START, "left")
    g.add_edge(START, "right")
    g.add_edge(["left", "right"], "join")
    g.add_edge("join", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["state"] = state(app, CFG)
    st = app.get_state(CFG)
    by_node = {t.name: t.interrupts[0].id for t in st.tasks}
    out["left_answered"] = invoke(app, Command(resume={by_node["left"]: "L"}), CFG)
    out["state_after_left"] = state(app, CFG)
    st = app.get_state(CFG)
    ids = [i.id for i in st.interrupts]
    out["right_answered"] = invoke(app, Command(resume={ids[0]: "R"}), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
