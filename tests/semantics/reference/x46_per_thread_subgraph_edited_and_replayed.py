from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking_subgraph, caller, pair_subgraph, single
from _common import invoke, main

META = {
    "title": "A per-thread subgraph (checkpointer=True): the parent edited while it asks, and a turn replayed",
    "area": "subgraphs",
    "graph": "START -> callask -> END, where callask invokes START -> s1 -> ask -> s3 -> END with path [q]; "
             "START -> call -> END, where call invokes pair (START -> s1 -> s2 -> END) with path [in]",
    "quirks": {},
}
DOC = """\
An edit of the parent while its per-thread subgraph asks does not start a new turn of the
subgraph: resuming answers the question it asked (edited twice, too). Replaying the parent
from the checkpoint before a turn's call runs that call again from the subgraph's state as it
was then (its checkpoint before the parent's), so the replayed turn ends as the original did;
replaying from before the first turn's call starts the subgraph from an empty state. The same
holds for a per-thread subgraph inside a subgraph that starts over at every call."""

ASK = asking_subgraph(checkpointer=True)
PAIR = pair_subgraph(checkpointer=True)


callask = caller("callask", ASK, "q")
call = caller("call", PAIR, "in")


def sub_values(app, ns):
    return app.get_state({"configurable": {"thread_id": "t", "checkpoint_ns": ns}}).values


def run():
    out = {}
    app = single("callask", callask)
    out["a1"] = invoke(app, {"path": ["t1"]}, CFG)
    app.update_state(CFG, {"x": 5})
    out["a1r"] = invoke(app, Command(resume="yes"), CFG)
    out["a2"] = invoke(app, {"path": ["t2"]}, CFG)
    app.update_state(CFG, {"x": 6})
    app.update_state(CFG, {"x": 7})
    out["a2r"] = invoke(app, Command(resume="no"), CFG)
    out["ask_sub"] = sub_values(app, "callask")

    app = single("call", call)
    out["t1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["t2"] = invoke(app, {"path": ["t2"]}, CFG)
    calls = [h for h in app.get_state_history(CFG) if h.next == ("call",)]
    out["replay_t2"] = invoke(app, None, calls[0].config)
    out["sub_after_replay_t2"] = sub_values(app, "call")
    out["replay_t1"] = invoke(app, None, calls[-1].config)
    out["sub_after_replay_t1"] = sub_values(app, "call")

    # The same replays with the per-thread subgraph inside a subgraph that starts over at
    # every call.
    mid = StateGraph(S)
    mid.add_node("inner", caller("inner", PAIR, "in"))
    mid.add_edge(START, "inner")
    mid.add_edge("inner", END)
    app = single("outer", caller("outer", mid.compile(), "m"))
    out["n1"] = invoke(app, {"path": ["t1"]}, CFG)
    out["n2"] = invoke(app, {"path": ["t2"]}, CFG)
    calls = [h for h in app.get_state_history(CFG) if h.next == ("outer",)]
    out["replay_n2"] = invoke(app, None, calls[0].config)
    out["nested_after_replay_n2"] = sub_values(app, "outer|inner")
    out["replay_n1"] = invoke(app, None, calls[-1].config)
    out["nested_after_replay_n1"] = sub_values(app, "outer|inner")
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
