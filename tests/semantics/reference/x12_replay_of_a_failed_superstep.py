from _graphs import CFG, good_and_bad, hist
from _common import checkpoint_cfg, invoke, main

META = {
    "title": "Replaying the checkpoint of a failed superstep by id re-runs all its tasks on a fork",
    "area": "checkpoints",
    "graph": "START -> good, bad -> END; bad fails on its first run",
    "quirks": {},
}
DOC = """\
good and bad run in parallel; bad fails, so the superstep does not commit and good's write is
kept as a pending write of c1 (a retry with the thread alone would not re-run good; scenario
43). Naming c1 explicitly (`checkpoint_id`, even though it is the head) is a replay: a `fork`
copy of c1 (c2, step 1) is written without c1's pending writes, and both good and bad run
again (step 2)."""


def run():
    app = good_and_bad()
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["replay_c1"] = invoke(app, None, checkpoint_cfg(app, CFG, "c1"))
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
