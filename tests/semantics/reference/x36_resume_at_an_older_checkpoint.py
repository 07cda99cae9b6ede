from langgraph.types import Command

from _graphs import CFG, asks_between, hist
from _common import checkpoint_cfg, find_checkpoint, invoke, main

META = {
    "title": "Command(resume) naming an older checkpoint whose question was answered",
    "area": "checkpoints",
    "graph": "START -> a -> ask -> b -> END (ask asks 'ok?')",
    "quirks": {
        "observations.old_resume": "quirk: not required - the reference ignores the new answer and replays with the one stored at that checkpoint",
        "observations.history": "quirk: not required - see old_resume",
    },
}
DOC = """\
The run asks, is answered "first" and finishes. Resuming with "second" while naming the
checkpoint where ask was pending re-runs ask from there on a new branch; ask gets the answer
already stored at that checkpoint ("first"), not "second", and b follows."""


def run():
    app = asks_between()
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume"] = invoke(app, Command(resume="first"), CFG)
    label = find_checkpoint(app, CFG, lambda h: list(h.next) == ["ask"])
    out["asked_at"] = label
    out["old_resume"] = invoke(app, Command(resume="second"), checkpoint_cfg(app, CFG, label))
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
