from langgraph.types import Command

from _graphs import CFG, asks_between, hist
from _common import invoke, main, state

META = {
    "title": "update_state while a node waits at interrupt(): edit then answer, or answer for it",
    "area": "interrupts",
    "graph": "START -> a -> ask -> b -> END; ask = interrupt('ok?')",
    "quirks": {},
}
DOC = """\
Paused in ask, `update_state({"path": ["edit"]})` writes an `update` checkpoint (c3) with
`next == ["ask"]`; the pending interrupt is no longer listed there. `Command(resume="y")` then
runs ask again from its start, its interrupt() returns "y", and b follows: the edit, the answer
and b are all in the final state. Alternatively `update_state(values, as_node="ask")` supplies
ask's output by hand: `next == ["b"]`, and `invoke(None)` runs b only; ask never completes."""


def run():
    out = {}
    app = asks_between()
    out["run"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["edit"]})
    out["state_after_edit"] = state(app, CFG)
    out["resume"] = invoke(app, Command(resume="y"), CFG)
    out["state_final"] = state(app, CFG)
    out["history"] = hist(app, CFG)
    app = asks_between()
    out["run2"] = invoke(app, {"path": []}, CFG)
    app.update_state(CFG, {"path": ["ask:manual"]}, as_node="ask")
    out["state_as_ask"] = state(app, CFG)
    out["continue"] = invoke(app, None, CFG)
    out["history2"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
