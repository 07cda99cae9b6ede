from langgraph.types import Command

from _graphs import CFG, asking_subgraph, with_child
from _common import invoke, main, state

META = {
    "title": "The parent's state edited while its subgraph waits for an answer",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
While the subgraph waits at ask, `update_state` on the parent (as a) adds "edited" and makes
child due again, from a new checkpoint: the question is no longer pending. A bare answer is
then kept for the next question: child's subgraph starts over from its start (s1 runs again,
in a new namespace), and its ask takes the kept answer."""

SUBGRAPH = asking_subgraph()


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["edited"]}, as_node="a")
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, Command(resume="yes"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
