from _graphs import CFG, asks_between, hist, linear
from _common import invoke, main, state

META = {
    "title": "New input on a paused thread starts a new turn; the paused task is dropped",
    "area": "interrupts",
    "graph": "START -> a -> ask -> b -> END (ask = interrupt('ok?')); and a -> b -> c with interrupt_before=[b]",
    "quirks": {},
}
DOC = """\
A thread paused at a dynamic interrupt (ask) or at a static breakpoint (before b) is given new
input instead of a resume. The input is applied on top of the paused state as a new turn (an
`input` checkpoint at the next step number) and the graph starts again from START: the task
that was pending is not run with it, and the run pauses again at the same place."""


def run():
    app = asks_between()
    out = {}
    out["run"] = invoke(app, {"path": ["in"]}, CFG)
    out["new_input"] = invoke(app, {"path": ["in2"]}, CFG)
    out["state"] = state(app, CFG)
    out["history"] = hist(app, CFG)
    app = linear(interrupt_before=["b"])
    out["static_run"] = invoke(app, {"path": ["in"]}, CFG)
    out["static_new_input"] = invoke(app, {"path": ["in2"]}, CFG)
    out["static_state"] = state(app, CFG)
    out["static_history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
