from langgraph.types import Command

from _graphs import CFG, asking_subgraph, with_child
from _common import main, stream

META = {
    "title": "The updates stream of a run whose subgraph asks, and of its resume",
    "area": "streaming",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
Without subgraph events, the parent's `updates` stream shows a's update, then the question as
an `__interrupt__` event when the subgraph pauses. The resume's stream shows child's update
(the subgraph's whole result) and b's."""

SUBGRAPH = asking_subgraph()


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = stream(app, {"path": []}, CFG, modes=("updates",))
    out["resume"] = stream(app, Command(resume="yes"), CFG, modes=("updates",))
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
