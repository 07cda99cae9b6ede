from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from _graphs import CFG, S, mk
from _common import invoke, log, main, state

META = {
    "title": "A subgraph's question decides where the parent goes (Command to the parent)",
    "area": "interrupts",
    "graph": "START -> child -> END; child is the subgraph START -> decide -> END, where decide asks 'route?' and sends Command(graph=PARENT, goto=<answer>, update={path: [decide:<answer>]}); the parent has nodes b and c -> END",
    "quirks": {},
}
DOC = """\
The subgraph pauses at its question. Answering "c" re-runs decide, which sends a command to the
parent: the parent applies the update and goes to c (not b), and the run ends."""


def decide(s):
    log("decide")
    where = interrupt("route?")
    return Command(graph=Command.PARENT, goto=where, update={"path": [f"decide:{where}"]})


def run():
    sub = StateGraph(S)
    sub.add_node("decide", decide)
    sub.add_edge(START, "decide")
    sub.add_edge("decide", END)
    g = StateGraph(S)
    g.add_node("child", sub.compile())
    g.add_node("b", mk("b"))
    g.add_node("c", mk("c"))
    g.add_edge(START, "child")
    g.add_edge("b", END)
    g.add_edge("c", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, Command(resume="c"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
