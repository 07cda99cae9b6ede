from langgraph.types import Command

from _graphs import CFG, asking_subgraph, with_child
from _common import invoke, main

META = {
    "title": "An answer kept at a breakpoint reaches a subgraph question asked a superstep later",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END, interrupt_before=[child]; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
Paused before child, `Command(resume="A")` has no open question. child's subgraph runs s1
first and asks only in its second superstep: the kept answer is still there (the subgraph
runs within one superstep of the parent), ask takes it, and the run finishes."""

SUBGRAPH = asking_subgraph()


def run():
    app = with_child(SUBGRAPH, interrupt_before=["child"])
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    out["bare_resume"] = invoke(app, Command(resume="A"), CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
