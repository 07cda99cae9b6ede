from _graphs import CFG, asking_subgraph, with_child
from _common import invoke, main, snap, state

META = {
    "title": "A subgraph's question answered by update_state in its namespace, as the asking node",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
The run pauses inside the subgraph, at ask. `update_state` on the subgraph's snapshot config
with as_node ask writes what ask would have written: the subgraph's next is s3. The parent
still shows its task with the subgraph's question. Resuming the parent with no input re-runs
its task: the subgraph goes on from the edit (s3 runs, ask does not), and b follows."""

SUBGRAPH = asking_subgraph()


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    sub = app.get_state(CFG, subgraphs=True).tasks[0].state
    app.update_state(sub.config, {"path": ["ask:by-hand"]}, as_node="ask")
    out["sub_after_edit"] = snap(app.get_state(CFG, subgraphs=True).tasks[0].state)
    out["parent_after_edit"] = state(app, CFG)
    out["resume"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
