from langgraph.types import Command

from _graphs import CFG, asks_between, linear
from _common import main, stream

META = {
    "title": "durability='exit' still streams a checkpoint event for every superstep",
    "area": "streaming",
    "graph": "START -> a -> b -> c -> END; START -> a -> ask -> b -> END (ask interrupts)",
    "quirks": {
        "observations.ask_resume.supersteps[0]": "quirk: not required - a resumed run re-emits the checkpoint it resumes from",
    },
}
DOC = """\
With `stream_mode="checkpoints"` and `durability="exit"`, the stream shows the input checkpoint
and one checkpoint per superstep (steps -1 to 3), although only the last is stored (scenario
x15). A run paused in ask shows its checkpoints up to the one ask runs from; its resume shows
the rest."""


def run():
    out = {}
    app = linear()
    out["linear"] = stream(app, {"path": []}, CFG, modes=("checkpoints",), durability="exit")
    app = asks_between()
    out["ask_run"] = stream(app, {"path": []}, CFG, modes=("checkpoints",), durability="exit")
    out["ask_resume"] = stream(app, Command(resume="y"), CFG, modes=("checkpoints",),
                               durability="exit")
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
