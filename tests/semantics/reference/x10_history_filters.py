from _graphs import CFG, linear
from _common import invoke, labels, main

META = {
    "title": "get_state_history filters on the step, on run metadata and with a limit",
    "area": "checkpoints",
    "graph": "START -> a -> b -> c -> END; invoked with metadata {user: ann}",
    "quirks": {},
}
DOC = """\
Metadata given with the run config is stored in every checkpoint the run writes, next to
`source`, `step` and `parents`. The history filter matches any of them by equality: `{step: 2}`
gives c3 only, `{user: "ann"}` all five checkpoints, and `{user: "ann", source: "loop"}` with
`limit=2` the two newest loop checkpoints."""


def run():
    app = linear()
    out = {}
    cfg = {**CFG, "metadata": {"user": "ann"}}
    out["run"] = invoke(app, {"path": []}, cfg)
    lab = labels(app, CFG)

    def ids(**kw):
        return [lab[h.config["configurable"]["checkpoint_id"]]
                for h in app.get_state_history(CFG, **kw)]

    out["filter_step_2"] = ids(filter={"step": 2})
    out["filter_user"] = ids(filter={"user": "ann"})
    out["filter_user_loop_limit_2"] = ids(filter={"user": "ann", "source": "loop"}, limit=2)
    out["filter_other_user"] = ids(filter={"user": "bob"})
    out["head_metadata_user"] = app.get_state(CFG).metadata.get("user")
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
