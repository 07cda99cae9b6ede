from langgraph.types import Command

from _graphs import CFG, asking_subgraph, hist, with_child
from _common import invoke, main

META = {
    "title": "Resuming a subgraph's question with an update for the parent",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {
        "observations.history": "quirk: not required - the paused checkpoint c2 shows the resume's update already applied (as in x16)",
    },
}
DOC = """\
While the subgraph waits at ask, `Command(resume="yes", update={path: [u]})` answers the
question and updates the parent: the update joins the parent's paused superstep (the one that
runs child) and is applied when it commits, with child's result; b follows."""


def run():
    app = with_child(asking_subgraph())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume"] = invoke(app, Command(resume="yes", update={"path": ["u"]}), CFG)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
