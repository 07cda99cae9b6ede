from _graphs import CFG, hist, linear
from _common import invoke, main, state

META = {
    "title": "Static breakpoint interrupt_after: stop once the node ran, resume with no input",
    "area": "interrupts",
    "graph": "START -> a -> b -> c -> END; interrupt_after=[a] at compile time, [b] per run",
    "quirks": {},
}
DOC = """\
`interrupt_after=["a"]`: the run stops after a's superstep; the checkpoint written after it (c2,
step 1) is the head with `next == ["b"]` and no interrupt values. `invoke(None)` runs b and c.
Per run (`invoke(..., interrupt_after=["b"])` on a graph compiled without breakpoints): a and b
run, the run stops with `next == ["c"]`, and the resume runs c only."""


def run():
    out = {}
    app = linear(interrupt_after=["a"])
    out["run"] = invoke(app, {"path": []}, CFG)
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, None, CFG)
    out["history"] = hist(app, CFG)
    app = linear()
    out["per_run"] = invoke(app, {"path": []}, CFG, interrupt_after=["b"])
    out["per_run_state"] = state(app, CFG)
    out["per_run_resume"] = invoke(app, None, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
