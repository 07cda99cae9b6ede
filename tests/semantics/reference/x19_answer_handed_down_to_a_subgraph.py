from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from _graphs import CFG, S, mk, two_questions
from _common import invoke, main

META = {
    "title": "An answer kept at a breakpoint goes down to a subgraph the paused node calls",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END, interrupt_before=[child]; child calls a subgraph START -> two -> END (two asks q1, q2)",
    "quirks": {},
}
DOC = """\
Paused before child, `Command(resume="A")` has no open question. child calls a subgraph whose
node asks q1 and q2: the kept answer goes down to q1, and the subgraph pauses on q2. Resuming
with "B" answers q2; the subgraph's node re-runs with both answers, and b follows."""

SUB = StateGraph(S)
SUB.add_node("two", two_questions)
SUB.add_edge(START, "two")
SUB.add_edge("two", END)
SUBGRAPH = SUB.compile()


def child(s):
    out = SUBGRAPH.invoke({"path": []})
    return {"path": out["path"]}


def run():
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("child", child)
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "child")
    g.add_edge("child", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver(), interrupt_before=["child"])
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["bare_resume"] = invoke(app, Command(resume="A"), CFG, log_extra=True)
    out["second"] = invoke(app, Command(resume="B"), CFG, log_extra=True)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
