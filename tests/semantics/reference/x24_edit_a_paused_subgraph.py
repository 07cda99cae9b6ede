from langgraph.types import Command

from _graphs import CFG, asking_subgraph, with_child
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

SUBGRAPH = asking_subgraph()


def sub_snapshot(app):
    st = app.get_state(CFG, subgraphs=True)
    return st.tasks[0].state


def run():
    app = with_child(SUBGRAPH)
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
