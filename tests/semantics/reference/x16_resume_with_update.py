from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, asks_between, hist, two_questions
from _common import invoke, main, state

META = {
    "title": "Command(resume=..., update=...): the update joins the resumed superstep's writes",
    "area": "interrupts",
    "graph": "START -> a -> ask -> b -> END (ask interrupts); START -> two -> END (two asks twice)",
    "quirks": {
        "observations.history": "quirk: not required - the reference lists the paused checkpoint (c2) with the update already applied to its values; required: the other entries",
    },
}
DOC = """\
Resuming ask with `Command(resume="y", update={"path": ["u"]})`: ask re-runs and returns
"ask:y"; the update is written in the same superstep, before the task's own write, so the
state reads `[a, u, ask:y, b]`. When the resumed task pauses again (two asks a second
question), the update waits with the superstep and is applied once, when it completes."""


def run():
    app = asks_between()
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume_and_update"] = invoke(app, Command(resume="y", update={"path": ["u"]}), CFG)
    out["history"] = hist(app, CFG)
    g = StateGraph(S)
    g.add_node("two", two_questions)
    g.add_edge(START, "two")
    g.add_edge("two", END)
    app = g.compile(checkpointer=InMemorySaver())
    out["two_run"] = invoke(app, {"path": []}, CFG)
    out["two_resume1"] = invoke(app, Command(resume="A", update={"path": ["u1"]}), CFG)
    out["two_state"] = state(app, CFG, with_tasks=False)
    out["two_resume2"] = invoke(app, Command(resume="B"), CFG)
    out["two_state_final"] = state(app, CFG, with_tasks=False)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
