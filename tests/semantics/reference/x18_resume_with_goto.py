from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asks_between, hist, linear, mk, two_questions
from _common import invoke, main, state

META = {
    "title": "Command(resume=..., goto=...): the destinations run beside the resumed tasks",
    "area": "interrupts",
    "graph": "START -> a -> ask -> b -> END (ask interrupts); START -> two -> END, z -> END; a -> b -> c",
    "quirks": {
        "observations.two_history": "quirk: not required - the reference lists the paused checkpoint (c1) with the update already applied to its values; required: the other entries",
    },
}
DOC = """\
Resuming ask with `goto="b"` runs b in the resumed superstep, beside ask (step 2); ask's edge
then runs b again (step 3). When the resumed task pauses again (two asks a second question), the
destination (z) has run and its write is kept: the next resume does not run it again, and the
update given with the first resume is applied once. On a finished thread, the destination runs
in a new superstep."""


def run():
    out = {}
    app = asks_between()
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume_goto_b"] = invoke(app, Command(resume="y", goto="b"), CFG)
    out["history"] = hist(app, CFG)
    g = StateGraph(S)
    g.add_node("two", two_questions)
    g.add_node("z", mk("z"))
    g.add_edge(START, "two")
    g.add_edge("two", END)
    g.add_edge("z", END)
    app = g.compile(checkpointer=InMemorySaver())
    out["two_run"] = invoke(app, {"path": []}, CFG)
    out["two_goto_z"] = invoke(app, Command(resume="A", goto="z", update={"path": ["u"]}), CFG,
                               log_extra=True)
    out["two_state"] = state(app, CFG)
    out["two_resume"] = invoke(app, Command(resume="B"), CFG, log_extra=True)
    out["two_history"] = hist(app, CFG)
    app = linear()
    out["finished_run"] = invoke(app, {"path": []}, CFG)
    out["finished_goto"] = invoke(app, Command(resume="x", goto="c"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
