#!/usr/bin/env bash
# Records the expected observations of the scenarios in this folder with Python LangGraph
# 1.2.22 (the reference), into ../expected/ (the
# observations; the title and explanation stay in the scripts). Needs the shared scenario helpers (_common.py of
# ../shared/semantics/scenarios, or LG_SEMANTICS_DIR) and a venv with langgraph==1.2.22
# (LG_BENCH_VENV, default ~/.cache/lg-bench-venv, as bench/compare.sh makes it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
COMMON=${LG_SEMANTICS_DIR:-$HERE/../../../../shared/semantics/scenarios}
PY=${LG_BENCH_VENV:-$HOME/.cache/lg-bench-venv}/bin/python
for f in "$HERE"/x*.py; do
  name=$(basename "$f" .py)
  # The tests read the observations only, as in the other files of ../expected/.
  PYTHONPATH="$HERE:$COMMON" "$PY" "$f" | "$PY" -c \
    'import json, sys; json.dump(json.load(sys.stdin)["observations"], sys.stdout, indent=1)' \
    >"$HERE/../expected/$name.json"
  echo "$name"
done
