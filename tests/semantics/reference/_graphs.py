"""Graphs shared by the scenarios of this folder (reference: langgraph 1.2.22)."""
import operator
from typing import Annotated, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from _common import history, log


class S(TypedDict, total=False):
    x: int
    path: Annotated[list, operator.add]


def mk(name):
    def f(s):
        log(name)
        return {"path": [name]}
    return f


def asking(name, question):
    def f(s):
        log(name)
        v = interrupt(question)
        return {"path": [f"{name}:{v}"]}
    return f


def linear(**kw):
    """START -> a -> b -> c -> END."""
    g = StateGraph(S)
    for n in "abc":
        g.add_node(n, mk(n))
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile(checkpointer=InMemorySaver(), **kw)


def hist(app, cfg):
    return [[h["id"], h["parent"], h["step"], h["source"], h["next"], h["values"].get("path")]
            for h in history(app, cfg, with_tasks=False)]


CFG = {"configurable": {"thread_id": "t"}}
