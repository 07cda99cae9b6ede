from _graphs import CFG, hist, linear
from _common import invoke, main, state

META = {
    "title": "update_state on a thread that never ran, and on a finished thread",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END",
    "quirks": {},
}
DOC = """\
On a thread with no checkpoint, `update_state(values)` seeds it: one `update` checkpoint (c0,
step 0, no parent) whose `next` is what START leads to (`[a]`); `invoke(None)` then runs a, b,
c as steps 1-3. With `as_node="a"` the seed counts as a's output, so `next == ["b"]` and a never
runs. On a finished thread, `update_state(values)` counts as the last node's output: an
`update` checkpoint at the next step with `next == []`; `invoke(None)` runs nothing."""


def run():
    out = {}
    app = linear()
    app.update_state(CFG, {"path": ["seed"]})
    out["state_fresh"] = state(app, CFG)
    out["run_after"] = invoke(app, None, CFG)
    out["history"] = hist(app, CFG)
    u = {"configurable": {"thread_id": "u"}}
    app.update_state(u, {"path": ["seed"]}, as_node="a")
    out["state_as_a"] = state(app, u)
    out["run_after_as_a"] = invoke(app, None, u)
    out["history_u"] = hist(app, u)
    app = linear()
    out["finished_run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["late"]})
    out["finished_state"] = state(app, CFG)
    out["finished_run_none"] = invoke(app, None, CFG)
    out["finished_history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
