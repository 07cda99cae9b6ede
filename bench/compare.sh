#!/usr/bin/env bash
# Measures this crate, Python LangGraph (the reference) and adk-graph (a Rust peer) on the same
# workloads in one time window, and prints one Markdown table (also written to the output dir).
#
#   bench/compare.sh [W1 W2 ...] [--reps N]
#
# Per workload: Python, then this crate, then adk-graph, then Python again (a noisy machine is
# measured before and after). Needs the reference runner and peers (default: ../shared/bench,
# override with LG_REFERENCE_DIR). Creates the Python venv (~/.cache/lg-bench-venv) if missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${LG_REFERENCE_DIR:-$ROOT/../shared/bench}
VENV=${LG_BENCH_VENV:-$HOME/.cache/lg-bench-venv}
PEER_TARGET=${PEER_TARGET:-$HOME/.cache/peer-target}
REPS=5
WLS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    *) WLS+=("$1"); shift ;;
  esac
done
[[ ${#WLS[@]} -gt 0 ]] || WLS=(W1 W2 W3 W4 W5 W6 W7 W8 W9 W10)
OUT=${OUT:-$ROOT/bench/out/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)   # the Python runner runs from another directory

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q langgraph==1.2.22 langgraph-checkpoint-sqlite==3.1.2 \
    langgraph-checkpoint-postgres==3.2.0 "psycopg[binary]"
fi
# PostgreSQL variants: the server of the tests, and the benchmark database both runners use.
. "$ROOT/scripts/postgres.sh"
export LG_BENCH_PG_DSN=${LG_BENCH_PG_DSN:-postgresql://bench:bench@127.0.0.1:5432/bench}
if ! psql -q "$LG_BENCH_PG_DSN" -c 'SELECT 1' >/dev/null 2>&1; then
  psql -q "$DATABASE_URL" -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" >/dev/null 2>&1 || true
  psql -q "$DATABASE_URL" -c "CREATE DATABASE bench OWNER bench" >/dev/null 2>&1 || true
fi
(cd "$ROOT" && cargo build --release -q -p langgraph-bench)
RS=$ROOT/target/release/langgraph-bench
ADK=""
if [[ -d "$REF/peers" ]]; then
  (cd "$REF/peers" && CARGO_TARGET_DIR=$PEER_TARGET cargo build --release -q -p peer-adk) \
    && ADK=$PEER_TARGET/release/peer-adk || echo "adk-graph peer not built; column left empty" >&2
fi

# Variants this crate runs for workload $1.
variants() { "$RS" --list "$1"; }
# Those the Python runner knows (ours adds `async+tracing` and `messages/async`).
py_variants() { variants "$1" | grep -v -e '+' -e '^messages/'; }

for w in "${WLS[@]}"; do
  echo "== $w" >&2
  pyargs=()
  for v in $(py_variants "$w"); do pyargs+=(--variant "$v"); done
  (cd "$REF/.." && "$VENV/bin/python" bench/python/run.py "$w" "${pyargs[@]}" --reps "$REPS" \
     --json "$OUT/py-before-$w.json") >/dev/null 2>&1 || echo "python $w failed" >&2
  # W8 `messages` is not in the reference runner: our Python equivalent.
  if [[ $w == W8 ]]; then
    "$VENV/bin/python" "$ROOT/bench/python/w8_messages.py" --reps "$REPS" \
      --json "$OUT/py-before-W8-messages.json" || echo "python W8 messages failed" >&2
  fi
  "$RS" "$w" --reps "$REPS" --json "$OUT/rs-$w.json" >&2
  if [[ -n "$ADK" ]]; then
    for v in $(variants "$w"); do
      f="$OUT/adk-$w-$(echo "$v" | tr '/=' '_-').json"
      timeout 600 "$ADK" "$w" --variant "$v" --json "$f" --reps "$REPS" --warmup 1 >/dev/null 2>&1 \
        || rm -f "$f"
    done
  fi
  (cd "$REF/.." && "$VENV/bin/python" bench/python/run.py "$w" "${pyargs[@]}" --reps "$REPS" \
     --json "$OUT/py-after-$w.json") >/dev/null 2>&1 || echo "python $w (after) failed" >&2
  if [[ $w == W8 ]]; then
    "$VENV/bin/python" "$ROOT/bench/python/w8_messages.py" --reps "$REPS" \
      --json "$OUT/py-after-W8-messages.json" || echo "python W8 messages failed" >&2
  fi
done
python3 "$ROOT/bench/compare.py" --py "$OUT"/py-*.json --rs "$OUT"/rs-*.json \
  --adk $(ls "$OUT"/adk-*.json 2>/dev/null) | tee "$OUT/table.md"
echo "results in $OUT" >&2
