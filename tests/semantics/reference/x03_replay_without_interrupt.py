from _graphs import CFG, hist, linear
from _common import checkpoint_cfg, invoke, main, state

META = {
    "title": "Replaying an old checkpoint re-executes the later nodes on a fork",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END",
    "quirks": {},
}
DOC = """\
After a full run (c0..c4), `invoke(None, c2)` (c2: after a, `next == ["b"]`) writes a
`source == "fork"` copy of c2 (c5, parent c2, step 2), then runs b (step 3) and c (step 4)
again: their side effects repeat. The new branch's end (c7) becomes the thread's head; the old
branch stays in the history."""


def run():
    app = linear()
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["replay_c2"] = invoke(app, None, checkpoint_cfg(app, CFG, "c2"))
    out["history"] = hist(app, CFG)
    out["state"] = state(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
