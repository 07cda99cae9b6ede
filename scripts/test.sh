#!/usr/bin/env bash
# Runs every check of the project on this machine: formatting, lints, the tests of every crate
# (unit, integration, doc and compile-fail UI tests) and every example.
# Usage: scripts/test.sh            (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "disk (a cold run of everything below peaks at about 4.5 GB under target/)"
df -h . | tail -1
# A one-off build keeps no incremental cache (it would add gigabytes that no later build reads).
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi

step "PostgreSQL (for the server-grade checkpointer tests)"
. scripts/postgres.sh
echo "DATABASE_URL=$DATABASE_URL"

step "a real small LLM (for the end-to-end tests of the LLM layer)"
LG_LOCAL_LLM_URL=$(scripts/local-llm.sh)
export LG_LOCAL_LLM_URL
echo "LG_LOCAL_LLM_URL=$LG_LOCAL_LLM_URL"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (workspace, all features: SQLite and PostgreSQL)"
cargo test --workspace --all-features

step "examples"
for ex in quickstart map-reduce human-in-the-loop react-agent structured-extraction retention; do
  echo "--- $ex"
  cargo run -q -p "$ex" </dev/null >/dev/null
done

step "all checks passed"
