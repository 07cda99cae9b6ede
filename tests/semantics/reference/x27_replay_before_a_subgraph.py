from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from _graphs import CFG, S, mk
from _common import checkpoint_cfg, find_checkpoint, invoke, main

META = {
    "title": "Replaying a parent checkpoint from before its subgraph ran",
    "area": "checkpoints",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> s2 -> END, same state",
    "quirks": {},
}
DOC = """\
After a finished run, the parent is replayed from the checkpoint whose next is child. child's
subgraph runs again from its start (s1, s2), not from its finished state, and b follows."""

SUB = StateGraph(S)
SUB.add_node("s1", mk("s1"))
SUB.add_node("s2", mk("s2"))
SUB.add_edge(START, "s1")
SUB.add_edge("s1", "s2")
SUB.add_edge("s2", END)
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
    label = find_checkpoint(app, CFG, lambda h: list(h.next) == ["child"])
    out["replay_from"] = label
    out["replay"] = invoke(app, None, checkpoint_cfg(app, CFG, label))
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
