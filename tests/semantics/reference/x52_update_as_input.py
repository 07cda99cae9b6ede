from _graphs import CFG, asks_between, hist, linear
from _common import checkpoint_cfg, error_info, invoke, main, state

META = {
    "title": "update_state(values, as_node='__input__'): values stored as a run's input, not yet applied",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END; START -> a -> ask -> b -> END (ask asks)",
    "quirks": {
        "observations.*.message_first_line": "quirk: not required - message text",
    },
}
DOC = """\
With `as_node="__input__"` the values become the input of a run that has not started: an
`input` checkpoint whose `next` is `[__start__]` and whose values are those of its base (the
input is applied when the run goes on). On a fresh thread it is step -1, on a thread with
checkpoints the base's step + 1. `invoke(None)` then runs the graph from START with that input,
as `invoke(values)` would have. On a thread paused at a question, the tasks due stay due and run in the superstep of START
(the node asks again). An empty input is an input too.
An edit as a node on top of a staged input replaces it: START is no longer due. A run on the
configuration the call returns (which names the new checkpoint) goes on from a
`fork` copy of it, as a replay does. A replay of an input checkpoint (here the thread's first) runs START again with its input, on a
`fork` copy."""


def run():
    out = {}
    app = linear()
    app.update_state(CFG, {"path": ["in"]}, as_node="__input__")
    out["fresh_state"] = state(app, CFG)
    out["fresh_run"] = invoke(app, None, CFG)
    out["fresh_history"] = hist(app, CFG)

    app.update_state(CFG, {"path": ["again"], "x": 2}, as_node="__input__")
    out["finished_state"] = state(app, CFG)
    out["finished_run"] = invoke(app, None, CFG)

    app = asks_between()
    invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["new"]}, as_node="__input__")
    out["paused_state"] = state(app, CFG)
    out["paused_run"] = invoke(app, None, CFG)

    app = linear()
    try:
        app.update_state(CFG, {}, as_node="__input__")
        out["empty"] = "ok"
    except Exception as e:  # noqa: BLE001
        out["empty"] = error_info(e)
    out["empty_history"] = hist(app, CFG)

    app = linear()
    app.update_state(CFG, {"path": ["in"]}, as_node="__input__")
    app.update_state(CFG, {"path": ["edit"]}, as_node="a")
    out["edited_state"] = state(app, CFG)
    out["edited_run"] = invoke(app, None, CFG)

    app = linear()
    named = app.update_state(CFG, {"path": ["in"]}, as_node="__input__")
    out["named_run"] = invoke(app, None, named)
    out["named_history"] = hist(app, CFG)

    app = linear()
    invoke(app, {"path": ["in"]}, CFG)
    c0 = checkpoint_cfg(app, CFG, "c0")
    out["replay_input"] = invoke(app, None, c0)
    out["replay_history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
