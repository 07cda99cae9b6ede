from langgraph.types import Command

from _graphs import CFG, asking_subgraph, with_child
from _common import invoke, main, snap

META = {
    "title": "Durability exit with a subgraph that asks: what is stored at the pause, and the resume",
    "area": "checkpoints",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
Under durability exit, the run pauses inside the subgraph. The parent stores one checkpoint
(the pause), and the subgraph's namespace holds its own paused state, with s1's write. The
resume with an answer re-runs ask only; s3 and b follow."""

SUBGRAPH = asking_subgraph()


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG, durability="exit")
    out["parent_checkpoints"] = len(list(app.get_state_history(CFG)))
    sub = app.get_state(CFG, subgraphs=True).tasks[0].state
    out["sub_state"] = snap(sub)
    out["resume"] = invoke(app, Command(resume="yes"), CFG, durability="exit")
    out["parent_checkpoints_after"] = len(list(app.get_state_history(CFG)))
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
