from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, mk, parallel_askers, two_questions
from _common import invoke, main, state

META = {
    "title": "A resume value given while no interrupt is pending answers the next question asked",
    "area": "interrupts",
    "graph": "START -> a -> two -> b -> END, interrupt_before=[two] (two asks q1, q2); START -> p, q (both ask), interrupt_before=[p, q]",
    "quirks": {
        "observations.par_resume": "quirk: not required - which of two parallel tasks asks first (and gets the answer) depends on scheduling; required: one of them gets it and the other stays pending",
        "observations.par_state": "quirk: not required - see par_resume",
    },
}
DOC = """\
Paused at a static breakpoint before `two`, `Command(resume="A")` has no open question to
answer. The value is kept and handed to the first `interrupt()` that has no answer of its own:
two runs, q1 returns "A", and q2 pauses the run. The answer stays with two: resuming with "B"
re-runs two, q1 returns "A" again and q2 returns "B". With two tasks paused before they asked
anything, one bare value answers only the first task that asks; the other pauses."""


def run():
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("two", two_questions)
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "two")
    g.add_edge("two", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver(), interrupt_before=["two"])
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["resume_at_breakpoint"] = invoke(app, Command(resume="A"), CFG, log_extra=True)
    out["state"] = state(app, CFG)
    out["resume2"] = invoke(app, Command(resume="B"), CFG, log_extra=True)
    app = parallel_askers(interrupt_before=["p", "q"])
    out["par_run"] = invoke(app, {"path": []}, CFG)
    out["par_resume"] = invoke(app, Command(resume="v"), CFG)
    out["par_state"] = state(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
