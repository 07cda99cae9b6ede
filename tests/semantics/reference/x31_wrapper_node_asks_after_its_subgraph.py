from langgraph.types import Command, interrupt

from _graphs import CFG, S, asking_subgraph, mk
from _common import invoke, log, main
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

META = {
    "title": "A node calls a subgraph that asks, then asks a question of its own",
    "area": "interrupts",
    "graph": "START -> wrap -> b -> END; wrap invokes the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), then asks 'wrap ok?'",
    "quirks": {},
}
DOC = """\
The first pause is the subgraph's question. Answering it re-runs wrap: the subgraph goes on
from its checkpoint (ask gets the answer, s3 runs), and wrap then asks its own question, which
pauses the run again. Answering that re-runs wrap once more: the subgraph has finished and is
not run again, and wrap's own question gets the second answer."""

SUBGRAPH = asking_subgraph()


def wrap(s):
    log("wrap", phase="enter")
    out = SUBGRAPH.invoke({"path": []})
    log("wrap", phase="after-sub")
    ok = interrupt("wrap ok?")
    return {"path": out["path"] + [f"wrap:{ok}"]}


def run():
    g = StateGraph(S)
    g.add_node("wrap", wrap)
    g.add_node("b", mk("b"))
    g.add_edge(START, "wrap")
    g.add_edge("wrap", "b")
    g.add_edge("b", END)
    app = g.compile(checkpointer=InMemorySaver())
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG, log_extra=True)
    out["first"] = invoke(app, Command(resume="sub-yes"), CFG, log_extra=True)
    out["second"] = invoke(app, Command(resume="wrap-yes"), CFG, log_extra=True)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
