#!/usr/bin/env bash
# Alternated rounds of this crate and adk-graph on one workload variant: a noisy machine moves
# both sides alike within a round, so the per-round ratio is steadier than separate windows.
#
#   bench/rounds.sh W5 sqlite/sync [ROUNDS=8] [REPS=3]
#
# Per round: this crate, adk-graph, and (when LG_ROUNDS_ALT is set, e.g.
# LG_ROUNDS_ALT=LG_BENCH_SQLITE_PREALLOC=0) this crate again under that environment. Prints
# µs per superstep (or per the first `us_per_*` metric) per run, then min–max and medians of
# each column and of adk ÷ ours; the fsync floor and ours ÷ floor when the variant reports it,
# and the bare SQLite commit (ours ÷ it, adk ÷ it) for the SQLite variants.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:?workload}; V=${2:?variant}; N=${3:-8}; REPS=${4:-3}
PEER_TARGET=${PEER_TARGET:-$HOME/.cache/peer-target}
RS=$ROOT/target/release/langgraph-bench
ADK=$PEER_TARGET/release/peer-adk
(cd "$ROOT" && cargo build --release -q -p langgraph-bench)
[[ -x $ADK ]] || { echo "build the peer first: see bench/compare.sh" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for i in $(seq 1 "$N"); do
  "$RS" "$W" --variant "$V" --reps "$REPS" --json "$TMP/rs-$i.json" >/dev/null 2>&1
  "$ADK" "$W" --variant "$V" --reps "$REPS" --warmup 1 --json "$TMP/adk-$i.json" >/dev/null 2>&1
  if [[ -n ${LG_ROUNDS_ALT:-} ]]; then
    env "$LG_ROUNDS_ALT" "$RS" "$W" --variant "$V" --reps "$REPS" --json "$TMP/alt-$i.json" >/dev/null 2>&1
  fi
done
python3 - "$TMP" "$N" <<'PY'
import json, os, statistics as st, sys
tmp, n = sys.argv[1], int(sys.argv[2])
def read(kind, i):
    path = f"{tmp}/{kind}-{i}.json"
    if not os.path.exists(path):
        return None, None, None
    r = json.load(open(path))["results"][0]
    m = r["metrics"]
    key = "us_per_superstep" if "us_per_superstep" in m else sorted(k for k in m if k.startswith("us_per"))[0]
    info = r.get("info", {})
    return m[key]["median"], info.get("fsync_floor_us"), info.get("sqlite_commit_floor_us")
cols = {"ours": [], "adk": [], "alt": [], "floor": [], "commit": []}
for i in range(1, n + 1):
    ours, floor, commit = read("rs", i)
    adk, _, _ = read("adk", i)
    alt, _, _ = read("alt", i)
    cols["ours"].append(ours); cols["adk"].append(adk); cols["alt"].append(alt)
    cols["floor"].append(floor); cols["commit"].append(commit)
    line = f"round {i}: ours {ours:.3f}  adk {adk:.3f}  adk/ours {adk / ours:.2f}x"
    if alt is not None: line += f"  alt {alt:.3f}"
    if floor is not None: line += f"  floor {floor:.1f}  ours/floor {ours / floor:.2f}x"
    if commit is not None: line += f"  commit {commit:.1f}  ours/commit {ours / commit:.2f}x  adk/commit {adk / commit:.2f}x"
    print(line)
def summary(name, xs):
    xs = [x for x in xs if x is not None]
    if xs: print(f"{name}: {min(xs):.3f}-{max(xs):.3f}, median {st.median(xs):.3f}")
for k in ("ours", "adk", "alt", "floor", "commit"): summary(k, cols[k])
summary("adk/ours", [a / o for a, o in zip(cols["adk"], cols["ours"])])
if cols["floor"][0] is not None:
    summary("ours/floor", [o / f for o, f in zip(cols["ours"], cols["floor"])])
if cols["commit"][0] is not None:
    summary("ours/commit", [o / c for o, c in zip(cols["ours"], cols["commit"])])
    summary("adk/commit", [a / c for a, c in zip(cols["adk"], cols["commit"])])
PY
