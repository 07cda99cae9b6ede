from _graphs import CFG, pair_subgraph, with_child
from _common import checkpoint_cfg, find_checkpoint, invoke, main

META = {
    "title": "Replaying a parent checkpoint from before its subgraph ran",
    "area": "checkpoints",
    "graph": "START -> a -> child -> b -> END; child is the subgraph START -> s1 -> s2 -> END, same state",
    "quirks": {},
}
DOC = """\
After a finished run, the parent is replayed from the checkpoint whose next is child. child's
subgraph runs again from its start (s1, s2), not from its finished state, and b follows."""

SUBGRAPH = pair_subgraph()


def run():
    app = with_child(SUBGRAPH)
    out = {}
    out["run"] = invoke(app, {"path": []}, CFG)
    label = find_checkpoint(app, CFG, lambda h: list(h.next) == ["child"])
    out["replay_from"] = label
    out["replay"] = invoke(app, None, checkpoint_cfg(app, CFG, label))
    return out


if __name__ == "__main__":
    main(run, META | {"explanation": DOC})
