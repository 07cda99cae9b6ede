from _graphs import CFG, fan_out, hist
from _common import checkpoint_cfg, invoke, log, main, state

META = {
    "title": "Send tasks pending at a breakpoint are stored with the checkpoint, resumed and replayed",
    "area": "checkpoints",
    "graph": "START -> plan -(Send work per item)-> work -> END; interrupt_before=[work]",
    "quirks": {},
}
DOC = """\
plan fans out one Send per item; the breakpoint before work stops the run with three pending
`work` tasks (c2). Resuming runs them with their own arguments. Replaying c2 writes a fork (c4)
that still holds the three sends, and runs them again (step 3) with the same arguments."""


def work(a):
    log("work", item=a["item"])
    return {"path": [f"w{a['item']}"]}


def run():
    app = fan_out(work, interrupt_before=["work"])
    out = {}
    out["run"] = invoke(app, {"items": [1, 2, 3], "path": []}, CFG)
    out["state"] = state(app, CFG)
    out["resume"] = invoke(app, None, CFG, log_extra=True)
    out["history"] = hist(app, CFG)
    out["replay_c2"] = invoke(app, None, checkpoint_cfg(app, CFG, "c2"), log_extra=True)
    out["history2"] = hist(app, CFG)
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
