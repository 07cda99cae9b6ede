from _graphs import CFG, hist, linear
from _common import invoke, main, state

META = {
    "title": "Edit the state at a breakpoint with update_state, then resume",
    "area": "interrupts",
    "graph": "START -> a -> b -> c -> END; interrupt_before=[b]",
    "quirks": {},
}
DOC = """\
At the breakpoint before b, `update_state({"path": ["edit"]})` (no as_node) writes an `update`
checkpoint (c3, step 2) that still has `next == ["b"]`; the append reducer merges the edit.
`invoke(None)` then runs b (step 3) and c (step 4), and b sees the edited state."""


def run():
    app = linear(interrupt_before=["b"])
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["edit"]})
    out["state_after_update"] = state(app, CFG)
    out["resume"] = invoke(app, None, CFG)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
