from langgraph.types import StateUpdate

from _graphs import CFG, hist, linear
from _common import error_info, invoke, main, state

META = {
    "title": "bulk_update_state: supersteps of edits, one update checkpoint each",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END",
    "quirks": {
        "observations.conflict.message_first_line": "quirk: not required - message text",
    },
}
DOC = """\
Two supersteps of edits on a fresh thread: `{path: [s1]}` as a, then `{path: [s2]}` as b with
`{x: 5}` as a side by side. Each superstep is one `update` checkpoint (steps 0 and 1); the second
one's `next` is where both b's and a's edges lead (`[b, c]`). `invoke(None)` runs b and c, then c
again. Two edits of one superstep that write the same last-value key are an error, and nothing is
stored. An empty list of supersteps is an error."""


def run():
    out = {}
    app = linear()
    app.bulk_update_state(CFG, [[StateUpdate({"path": ["s1"]}, "a")],
                                [StateUpdate({"path": ["s2"]}, "b"), StateUpdate({"x": 5}, "a")]])
    out["state"] = state(app, CFG)
    out["history"] = hist(app, CFG)
    out["run"] = invoke(app, None, CFG)
    app = linear()
    try:
        app.bulk_update_state(CFG, [[StateUpdate({"x": 1}, "a"), StateUpdate({"x": 2}, "b")]])
        out["conflict"] = "ok"
    except Exception as e:  # noqa: BLE001
        out["conflict"] = error_info(e)
    out["conflict_state"] = state(app, CFG)
    try:
        app.bulk_update_state(CFG, [])
        out["empty"] = "ok"
    except Exception as e:  # noqa: BLE001
        out["empty"] = error_info(e)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
