from _graphs import CFG, asking_subgraph, hist, with_child
from _common import invoke, main, state

META = {
    "title": "update_state on the parent as the subgraph's node, while the subgraph asks",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
While the subgraph waits at ask, `update_state` on the parent with as_node child writes what
child would have handed back: child's edge fires and b is next; the subgraph's question is
gone. Going on with no input runs b only (the subgraph does not run again)."""


def run():
    app = with_child(asking_subgraph())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["child:by-hand"]}, as_node="child")
    out["state"] = state(app, CFG)
    out["go_on"] = invoke(app, None, CFG)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
