#!/usr/bin/env bash
# Runs the runtime criterion benches (shardio and its tokio peer in the same
# run) pinned to one core, and prints where criterion left its reports.
# Usage: scripts/bench-runtime.sh [CORE] [criterion filter...]
set -euo pipefail
cd "$(dirname "$0")/.."
core="${1:-0}"
shift || true
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release -p shardio-benches --benches
timeout 900 taskset -c "$core" cargo bench -p shardio-benches --bench runtime -- "$@"
echo "results: $(pwd)/target/criterion (one folder per bench; report/index.html with plots)"
