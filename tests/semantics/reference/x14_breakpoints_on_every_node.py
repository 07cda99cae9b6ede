from _graphs import CFG, linear
from _common import invoke, main, state

META = {
    "title": "interrupt_before / interrupt_after '*': pause at every superstep; unknown names",
    "area": "interrupts",
    "graph": "START -> a -> b -> c -> END",
    "quirks": {},
}
DOC = """\
Compiled with `interrupt_before="*"`, the first invoke stops before a (nothing runs) and every
`invoke(None)` runs exactly one superstep, up to the end. Per run, `interrupt_after="*"` stops
after each superstep that leaves work to do. A per-run breakpoint naming a node that does not
exist is ignored by the reference: the run goes to the end."""


def run():
    out = {}
    app = linear(interrupt_before="*")
    out["run"] = invoke(app, {"path": []}, CFG)
    out["r1"] = invoke(app, None, CFG)
    out["r2"] = invoke(app, None, CFG)
    out["r3"] = invoke(app, None, CFG)
    out["state"] = state(app, CFG, with_tasks=False)
    app = linear()
    u = {"configurable": {"thread_id": "u"}}
    out["after_all"] = invoke(app, {"path": []}, u, interrupt_after="*")
    out["after_all_state"] = state(app, u, with_tasks=False)
    out["after_r1"] = invoke(app, None, u, interrupt_after="*")
    out["unknown"] = invoke(app, {"path": []}, {"configurable": {"thread_id": "v"}},
                            interrupt_before=["nope"])
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
