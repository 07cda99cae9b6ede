from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asking, good_and_bad, hist, linear, mk
from _common import invoke, main

META = {
    "title": "Naming the head checkpoint: invoke(None) replays it on a fork, a resume answers it",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END, interrupt_before=[b]; START -> a -> ask -> END; START -> good, bad -> END (bad fails once)",
    "quirks": {},
}
DOC = """\
`invoke(None, config)` with the `checkpoint_id` of the thread's head (as `get_state` returns it)
is time travel like any named checkpoint: a `fork` copy of the head (c3, step 2) is written and
the run goes on from it (b at step 3). Without the id it would go on from the head itself. A
`Command(resume=...)` naming the head answers its interrupt in place: no fork is written. A
checkpoint written by `update_state` that is still the head is not copied when named (see
scenario 41), but its tasks still run again: after a run from it failed with a finished
sibling (good), naming it re-runs good too, where a retry without the id would reuse good's
write (scenario 43)."""


def run():
    out = {}
    app = linear(interrupt_before=["b"])
    out["run"] = invoke(app, {"path": []}, CFG)
    out["continue_with_head_id"] = invoke(app, None, app.get_state(CFG).config)
    out["history"] = hist(app, CFG)
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("ask", asking("ask", "ok?"))
    g.add_edge(START, "a")
    g.add_edge("a", "ask")
    g.add_edge("ask", END)
    app = g.compile(checkpointer=InMemorySaver())
    out["ask_run"] = invoke(app, {"path": []}, CFG)
    out["resume_with_head_id"] = invoke(app, Command(resume="y"), app.get_state(CFG).config)
    out["ask_history"] = hist(app, CFG)
    app = good_and_bad()
    seeded = app.update_state(CFG, {"path": ["seed"]})
    out["update_head_run"] = invoke(app, None, seeded)
    out["update_head_named_again"] = invoke(app, None, seeded)
    out["update_head_history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
