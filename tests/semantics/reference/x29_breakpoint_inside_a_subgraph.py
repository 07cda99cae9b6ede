from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from _graphs import CFG, S, mk
from _common import invoke, main, snap, state

META = {
    "title": "A static breakpoint compiled into a subgraph pauses the parent; going on resumes it",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> s2 -> END compiled with interrupt_before=[s2], same state",
    "quirks": {},
}
DOC = """\
The subgraph stops before s2: the parent's invoke returns with no interrupt values, and the
parent's state shows child due. The subgraph's own snapshot has next [s2]. Invoking the parent
with no input re-runs child, whose subgraph goes on with s2 (s1 does not run again), and b
follows."""

SUB = StateGraph(S)
SUB.add_node("s1", mk("s1"))
SUB.add_node("s2", mk("s2"))
SUB.add_edge(START, "s1")
SUB.add_edge("s1", "s2")
SUB.add_edge("s2", END)
SUBGRAPH = SUB.compile(interrupt_before=["s2"])


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
    out["state"] = state(app, CFG)
    out["sub_state"] = snap(app.get_state(CFG, subgraphs=True).tasks[0].state)
    out["resume"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
