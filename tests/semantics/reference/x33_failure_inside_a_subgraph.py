from langgraph.graph import END, START, StateGraph

from _graphs import CFG, S, fails_once, mk, with_child
from _common import invoke, main

META = {
    "title": "A node of a subgraph fails; going on resumes the subgraph from its checkpoint",
    "area": "checkpoints",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> flaky -> s3 -> END, flaky fails on its first run, same state",
    "quirks": {},
}
DOC = """\
flaky fails inside the subgraph, and the error ends the parent's run. The parent's task shows
the error. Invoking the parent with no input re-runs its task; the subgraph goes on from its
own checkpoint: flaky runs again (s1 does not), then s3, and b follows."""


def subgraph():
    g = StateGraph(S)
    g.add_node("s1", mk("s1"))
    g.add_node("flaky", fails_once("flaky"))
    g.add_node("s3", mk("s3"))
    g.add_edge(START, "s1")
    g.add_edge("s1", "flaky")
    g.add_edge("flaky", "s3")
    g.add_edge("s3", END)
    return g.compile()


def run():
    app = with_child(subgraph())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    st = app.get_state(CFG)
    out["parent_tasks"] = [[t.name, t.error is not None] for t in st.tasks]
    out["resume"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
