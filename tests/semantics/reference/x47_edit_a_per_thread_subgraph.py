from langgraph.types import Command

from _graphs import CFG, asking_subgraph, caller, single
from _common import invoke, main, strip_ns

META = {
    "title": "A per-thread subgraph (checkpointer=True) edited while it asks",
    "area": "subgraphs",
    "graph": "START -> callask -> END, where callask invokes START -> s1 -> ask -> s3 -> END with path [q]",
    "quirks": {},
}
DOC = """\
An edit of the subgraph's own state (update_state with its namespace, callask) keeps the
enclosing checkpoints of the call it edits, so resuming the parent goes on with that call: the
question is asked again and answered, on the edited state. An edit as the asking node answers
the question: resuming runs the rest of the subgraph only."""

ASK = asking_subgraph(checkpointer=True)


callask = caller("callask", ASK, "q")


def run():
    app = single("callask", callask)
    sub = {"configurable": {"thread_id": "t", "checkpoint_ns": "callask"}}
    out = {}
    out["a1"] = invoke(app, {"path": ["t1"]}, CFG)
    app.update_state(sub, {"path": ["edited"]})
    st = app.get_state(sub)
    out["sub_after_edit"] = {
        "values": st.values,
        "next": list(st.next),
        "source": st.metadata["source"],
        "parents": sorted(strip_ns(k) for k in st.metadata.get("parents", {})),
    }
    out["a1r"] = invoke(app, Command(resume="yes"), CFG)
    out["a2"] = invoke(app, {"path": ["t2"]}, CFG)
    app.update_state(sub, {"path": ["edited2"]}, as_node="ask")
    out["a2r"] = invoke(app, Command(resume="no"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
