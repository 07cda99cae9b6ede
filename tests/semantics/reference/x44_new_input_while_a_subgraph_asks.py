from _graphs import CFG, asking_subgraph, hist, with_child
from _common import invoke, main, state

META = {
    "title": "New input on a thread paused inside a subgraph",
    "area": "interrupts",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> ask -> s3 -> END (ask asks 'sub approve?'), same state",
    "quirks": {},
}
DOC = """\
While the subgraph waits at ask, new input starts a new turn of the parent: a runs again and
child's subgraph starts over (a new task, a new namespace) and asks again; the unanswered
question of the first turn is dropped."""


def run():
    app = with_child(asking_subgraph())
    out = {}
    out["run"] = invoke(app, {"path": ["in"]}, CFG)
    out["new_input"] = invoke(app, {"path": ["in2"]}, CFG)
    out["state"] = state(app, CFG)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
