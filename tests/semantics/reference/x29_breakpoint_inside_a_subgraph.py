from _graphs import CFG, pair_subgraph, with_child
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

SUBGRAPH = pair_subgraph(interrupt_before=["s2"])


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["state"] = state(app, CFG)
    out["sub_state"] = snap(app.get_state(CFG, subgraphs=True).tasks[0].state)
    out["resume"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
