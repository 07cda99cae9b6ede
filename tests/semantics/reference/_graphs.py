"""Graphs shared by the scenarios of this folder (reference: langgraph 1.2.22)."""
import operator
from typing import Annotated, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt

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


def two_questions(s):
    """Asks q1, logs the answer (got), asks q2."""
    log("two")
    a = interrupt("q1")
    log("two", got=a)
    b = interrupt("q2")
    return {"path": [f"two:{a}:{b}"]}


def asks_between(**kw):
    """START -> a -> ask -> b -> END, where ask asks 'ok?'."""
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("ask", asking("ask", "ok?"))
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "ask")
    g.add_edge("ask", "b")
    g.add_edge("b", END)
    return g.compile(checkpointer=InMemorySaver(), **kw)


def parallel_askers(**kw):
    """START -> p, q -> END, where p asks 'p?' and q asks 'q?'."""
    g = StateGraph(S)
    g.add_node("p", asking("p", "p?"))
    g.add_node("q", asking("q", "q?"))
    g.add_edge(START, "p")
    g.add_edge(START, "q")
    g.add_edge("p", END)
    g.add_edge("q", END)
    return g.compile(checkpointer=InMemorySaver(), **kw)


def good_and_bad():
    """START -> good, bad -> END; bad fails on its first run."""
    fails = {"n": 0}

    def good(s):
        log("good")
        return {"path": ["good"]}

    def bad(s):
        log("bad")
        fails["n"] += 1
        if fails["n"] == 1:
            raise ValueError("boom")
        return {"path": ["bad"]}

    g = StateGraph(S)
    g.add_node("good", good)
    g.add_node("bad", bad)
    g.add_edge(START, "good")
    g.add_edge(START, "bad")
    g.add_edge("good", END)
    g.add_edge("bad", END)
    return g.compile(checkpointer=InMemorySaver())


class Items(TypedDict, total=False):
    """State of the fan-out graphs: the items to send, and the path."""
    items: list
    path: Annotated[list, operator.add]


def plan(s):
    log("plan")
    return {"path": ["plan"]}


def fan(s):
    """One Send to work per item."""
    return [Send("work", {"item": i}) for i in s["items"]]


def fan_out(work, **kw):
    """START -> plan -(Send work per item)-> work -> END."""
    g = StateGraph(Items)
    g.add_node("plan", plan)
    g.add_node("work", work)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan, ["work"])
    g.add_edge("work", END)
    return g.compile(checkpointer=InMemorySaver(), **kw)


def asking_subgraph(**kw):
    """START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), compiled without a saver."""
    g = StateGraph(S)
    g.add_node("s1", mk("s1"))
    g.add_node("ask", asking("ask", "sub approve?"))
    g.add_node("s3", mk("s3"))
    g.add_edge(START, "s1")
    g.add_edge("s1", "ask")
    g.add_edge("ask", "s3")
    g.add_edge("s3", END)
    return g.compile(**kw)


def pair_subgraph(**kw):
    """START -> s1 -> s2 -> END, compiled without a saver."""
    g = StateGraph(S)
    g.add_node("s1", mk("s1"))
    g.add_node("s2", mk("s2"))
    g.add_edge(START, "s1")
    g.add_edge("s1", "s2")
    g.add_edge("s2", END)
    return g.compile(**kw)


def with_child(sub, **kw):
    """START -> a -> child -> b -> END, where child is the subgraph `sub` (same state)."""
    g = StateGraph(S)
    g.add_node("a", mk("a"))
    g.add_node("child", sub)
    g.add_node("b", mk("b"))
    g.add_edge(START, "a")
    g.add_edge("a", "child")
    g.add_edge("child", "b")
    g.add_edge("b", END)
    return g.compile(checkpointer=InMemorySaver(), **kw)


def fails_once(name):
    """A node that logs its run, raises ValueError('boom') on its first run only, then appends
    its name."""
    runs = {"n": 0}

    def f(s):
        log(name)
        runs["n"] += 1
        if runs["n"] == 1:
            raise ValueError("boom")
        return {"path": [name]}
    return f


def caller(name, sub, *inputs):
    """A node that logs its run, invokes `sub` with path [input] for each of `inputs` in turn
    and appends `name:<the first output's path>/<the second's>...` (paths joined with ',')."""
    def f(s):
        log(name)
        outs = [",".join(sub.invoke({"path": [i]})["path"]) for i in inputs]
        return {"path": [f"{name}:" + "/".join(outs)]}
    return f


def single(name, fn):
    """START -> name -> END, on a saver of its own."""
    g = StateGraph(S)
    g.add_node(name, fn)
    g.add_edge(START, name)
    g.add_edge(name, END)
    return g.compile(checkpointer=InMemorySaver())


def flaky_subgraph(**kw):
    """START -> s1 -> flaky -> END, where flaky fails on its first run (fails_once)."""
    g = StateGraph(S)
    g.add_node("s1", mk("s1"))
    g.add_node("flaky", fails_once("flaky"))
    g.add_edge(START, "s1")
    g.add_edge("s1", "flaky")
    g.add_edge("flaky", END)
    return g.compile(**kw)
