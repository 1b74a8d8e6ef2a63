#!/usr/bin/env bash
# Every criterion bench of the workspace (runtime, pools, mesh, http), in
# one command, pinned to one core, and where criterion left its reports.
# Usage: scripts/bench-criterion.sh [CORE] [criterion filter...]
#   e.g. scripts/bench-criterion.sh 0 router      (only benches matching)
set -euo pipefail
cd "$(dirname "$0")/.."
core="${1:-0}"
shift || true
source scripts/lib.sh
need taskset util-linux
cargo bench --workspace --benches --no-run -q
timeout 1800 taskset -c "$core" cargo bench --workspace --benches -- "$@"
echo "results: $(pwd)/target/criterion (one folder per bench; report/index.html with plots)"
