from langgraph.types import Command, interrupt

from _graphs import CFG, fan_out, hist
from _common import invoke, log, main, state

META = {
    "title": "Send workers that ask: each question answered by id, one at a time",
    "area": "interrupts",
    "graph": "START -> plan -(Send work per item)-> work -> END; work asks 'ok <item>?'",
    "quirks": {},
}
DOC = """\
Both workers ask in the same superstep; the run pauses with two interrupts. Answering the first
by id runs both workers again (the partial-map rule of scenario 35): worker 1 finishes, worker 2
asks again. Its write is kept with the checkpoint, so answering the second runs worker 2 only."""


def work(a):
    log("work", item=a["item"])
    v = interrupt(f"ok {a['item']}?")
    return {"path": [f"w{a['item']}:{v}"]}


def run():
    app = fan_out(work)
    out = {}
    out["run"] = invoke(app, {"items": [1, 2], "path": []}, CFG, log_extra=True)
    ids = {i.value: i.id for i in app.get_state(CFG).interrupts}
    out["state"] = state(app, CFG)
    out["resume_one"] = invoke(app, Command(resume={ids["ok 1?"]: "A"}), CFG, log_extra=True)
    out["state2"] = state(app, CFG)
    out["resume_two"] = invoke(app, Command(resume={ids["ok 2?"]: "B"}), CFG, log_extra=True)
    out["history"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
