from _graphs import CFG, hist, linear
from _common import invoke, main

META = {
    "title": "Multi-turn thread: each invoke continues the same state and step counter",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END",
    "quirks": {},
}
DOC = """\
The second invoke on a finished thread applies its input to the stored state (the append
reducer keeps the first turn), writes an `input` checkpoint at the next step number (4) and runs
a, b, c as steps 6, 7, 8."""


def run():
    app = linear()
    out = {}
    out["turn1"] = invoke(app, {"path": ["u1"]}, CFG)
    out["turn2"] = invoke(app, {"path": ["u2"]}, CFG)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
