from langgraph.types import Command

from _graphs import CFG, asks_between, hist, linear
from _common import invoke, main, state

META = {
    "title": "durability='exit': one checkpoint per invoke, where the run ended or paused",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END; START -> a -> ask -> b -> END (ask interrupts)",
    "quirks": {},
}
DOC = """\
With `sync` and `async` every superstep leaves a checkpoint (c0..c4). With `exit` a run stores
only the checkpoint it ends on: a finished run leaves one (step 3, no parent); a run paused in
ask leaves the checkpoint ask runs from (step 1, `next == ["ask"]`, the interrupt pending). The
resume stores the end (step 3) as the child of that one, and a second turn's pause is stored as
a child of the end (step 6): the steps in between exist only in the counter."""


def run():
    out = {}
    for d in ["exit", "async", "sync"]:
        app = linear()
        out[d + "_run"] = invoke(app, {"path": []}, CFG, durability=d)
        out[d + "_history"] = hist(app, CFG)
    app = asks_between()
    out["ask_run"] = invoke(app, {"path": []}, CFG, durability="exit")
    out["ask_state"] = state(app, CFG)
    out["ask_history"] = hist(app, CFG)
    out["ask_resume"] = invoke(app, Command(resume="y"), CFG, durability="exit")
    out["ask_history2"] = hist(app, CFG)
    out["turn2"] = invoke(app, {"path": ["t2"]}, CFG, durability="exit")
    out["turn2_history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
