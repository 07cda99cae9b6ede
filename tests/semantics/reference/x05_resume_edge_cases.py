from langgraph.types import Command

from _graphs import CFG, hist, linear, parallel_askers
from _common import invoke, main, state

META = {
    "title": "Resume with nothing pending, and one bare resume value for two pending interrupts",
    "area": "interrupts",
    "graph": "START -> a -> b -> c -> END; START -> p, q -> END (both interrupt)",
    "quirks": {},
}
DOC = """\
`Command(resume=...)` on a thread that never ran starts it from START (there is nothing to
answer). On a finished thread it runs nothing and returns the final state. With two pending
interrupts, a bare resume value (no interrupt ids) is an error, nothing runs and both
interrupts stay pending."""


def run():
    app = linear()
    out = {}
    out["resume_fresh"] = invoke(app, Command(resume="z"), CFG)
    u = {"configurable": {"thread_id": "u"}}
    out["run_u"] = invoke(app, {"path": []}, u)
    out["resume_done"] = invoke(app, Command(resume="z"), u)
    out["history_u"] = hist(app, u)
    app = parallel_askers()
    out["par_run"] = invoke(app, {"path": []}, CFG)
    out["par_single_value"] = invoke(app, Command(resume="v"), CFG)
    out["par_state"] = state(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
