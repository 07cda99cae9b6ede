from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, hist, two_questions
from _common import invoke, main, state

META = {
    "title": "Two interrupt() calls in one node are answered in order, one resume each",
    "area": "interrupts",
    "graph": "START -> two -> END; two asks q1 then q2",
    "quirks": {},
}
DOC = """\
The first run stops at q1. Resuming with "A" re-runs the node from its start: q1 now returns
"A" and q2 interrupts; the head checkpoint is still c1 (no superstep finished) and its task
shows only the pending q2. Resuming with "B" re-runs the node again; both calls return their
answers by position, and the superstep completes (c2)."""


def run():
    g = StateGraph(S)
    g.add_node("two", two_questions)
    g.add_edge(START, "two")
    g.add_edge("two", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG, log_extra=True)
    out["state1"] = state(app, CFG)
    out["resume1"] = invoke(app, Command(resume="A"), CFG, log_extra=True)
    out["state2"] = state(app, CFG)
    out["resume2"] = invoke(app, Command(resume="B"), CFG, log_extra=True)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
