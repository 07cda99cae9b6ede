from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking, asking_subgraph, caller, pair_subgraph, single
from _common import invoke, main, strip_ns

META = {
    "title": "A subgraph compiled with a history per thread (checkpointer=True), over turns",
    "area": "subgraphs",
    "graph": "START -> call -> END, where call invokes pair (START -> s1 -> s2 -> END) with path [in]; "
             "START -> callask -> END, where callask invokes START -> s1 -> ask -> s3 -> END with path [q]; "
             "START -> twice -> END, where twice invokes pair with [x], then with [y]; "
             "START -> ask -> call -> END; "
             "START -> outer -> END, where outer invokes START -> inner -> END (per call), whose inner invokes pair",
    "quirks": {},
}
DOC = """\
Each call of a per-thread subgraph goes on from the state its previous call in the thread left:
the input is applied as a new turn (an input checkpoint, then the steps go on from the last
one). Its checkpoints are under the calling node's name (sub_hist). A question it asks pauses
the parent; resuming goes on from the subgraph's checkpoint with the answer, and the next turn
starts from the answered state. Two calls in one node keep two histories (twice, twice|1). A
call made after the parent resumed from a question of another node is a new turn too. Inside a
subgraph that starts over at every call (outer), the per-thread one (outer|inner) still keeps
its history; its checkpoints name the checkpoints of both enclosing graphs (parents)."""

PAIR = pair_subgraph(checkpointer=True)
ASK = asking_subgraph(checkpointer=True)
call = caller("call", PAIR, "in")
callask = caller("callask", ASK, "q")
twice = caller("twice", PAIR, "x", "y")


def per_call_graph():
    """START -> inner -> END, compiled without a saver (a subgraph that starts over at every
    call), where inner calls PAIR."""
    g = StateGraph(S)
    g.add_node("inner", caller("inner", PAIR, "in"))
    g.add_edge(START, "inner")
    g.add_edge("inner", END)
    return g.compile()


outer = caller("outer", per_call_graph(), "m")


def sub_history(app, ns):
    cfg = {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
    return [[h.metadata["step"], h.metadata["source"], h.values.get("path"),
             sorted(strip_ns(k) for k in h.metadata.get("parents", {}))]
            for h in app.get_state_history(cfg)]


def run():
    out = {}
    app = single("call", call)
    out["t1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["t2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["sub_hist"] = sub_history(app, "call")

    app = single("callask", callask)
    out["a1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["a1r"] = invoke(app, Command(resume="yes"), CFG)
    out["a2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["a2r"] = invoke(app, Command(resume="no"), CFG)

    app = single("twice", twice)
    out["w1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["w2"] = invoke(app, {"path": ["t2"]}, CFG)

    g = StateGraph(S)
    g.add_node("ask", asking("ask", "go?"))
    g.add_node("call", call)
    g.add_edge(START, "ask")
    g.add_edge("ask", "call")
    g.add_edge("call", END)
    app = g.compile(checkpointer=InMemorySaver())
    out["q1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["q1r"] = invoke(app, Command(resume="y"), CFG)
    out["q2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["q2r"] = invoke(app, Command(resume="y"), CFG)

    app = single("outer", outer)
    out["n1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["n2"] = invoke(app, {"path": ["t2"]}, CFG)
    out["nested_hist"] = sub_history(app, "outer|inner")[:2]
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
