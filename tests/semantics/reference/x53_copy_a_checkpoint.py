from langgraph.graph import END

from _graphs import CFG, asks_between, fan_out, hist, linear
from _common import checkpoint_cfg, error_info, invoke, labels, log, main, state

META = {
    "title": "update_state(None, as_node='__copy__'): a copy of a checkpoint to run again from",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END; START -> a -> ask -> b -> END (ask asks)",
    "quirks": {
        "observations.*.message_first_line": "quirk: not required - message text",
    },
}
DOC = """\
`as_node="__copy__"` with no values stores a copy of the checkpoint the config names (the
head when it names none): a `fork` checkpoint with the same values and the same `next`, a
sibling of the original (its parent is the original's parent), at the original's step + 1.
`invoke(None)` on the copy runs its tasks again, as a replay would, on a new branch. The copy of
a checkpoint where a node asked asks again; a copy keeps pending sends with their arguments,
and dropping the tasks drops them. Copying a thread without checkpoints is an error."""


def work(a):
    log("work", item=a["item"])
    return {"path": [f"w{a['item']}"]}


def run():
    out = {}
    app = linear()
    invoke(app, {"path": []}, CFG)
    c2 = checkpoint_cfg(app, CFG, "c2")
    new = app.update_state(c2, None, as_node="__copy__")
    out["copy_label"] = labels(app, CFG).get(new["configurable"]["checkpoint_id"])
    out["copy_state"] = state(app, new)
    out["copy_run"] = invoke(app, None, new)
    out["history"] = hist(app, CFG)

    app = asks_between()
    invoke(app, {"path": []}, CFG)
    new = app.update_state(CFG, None, as_node="__copy__")
    out["asked_copy_state"] = state(app, new)
    out["asked_copy_run"] = invoke(app, None, new)

    app = fan_out(work, interrupt_before=["work"])
    invoke(app, {"items": [1, 2, 3], "path": []}, CFG)
    new = app.update_state(CFG, None, as_node="__copy__")
    out["sends_copy_state"] = state(app, new)
    out["sends_copy_run"] = invoke(app, None, new, log_extra=True)
    app = fan_out(work, interrupt_before=["work"])
    invoke(app, {"items": [1, 2, 3], "path": []}, CFG)
    app.update_state(CFG, None, as_node=END)
    out["sends_cleared_state"] = state(app, CFG)
    out["sends_cleared_run"] = invoke(app, None, CFG)

    app = linear()
    try:
        app.update_state(CFG, None, as_node="__copy__")
        out["fresh"] = "ok"
    except Exception as e:  # noqa: BLE001
        out["fresh"] = error_info(e)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
