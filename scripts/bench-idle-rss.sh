#!/usr/bin/env bash
# Server memory (RSS) per idle keep-alive connection: 10,000 connections,
# each after one 64-byte echo round trip, waiting either in a read with its
# own 4 KiB buffer ("owned") or in a multishot receive on the shard's
# provided buffer ring ("multishot"). Server on core 0, client on core 1.
# Usage: scripts/bench-idle-rss.sh [CONNS]
set -euo pipefail
cd "$(dirname "$0")/.."
conns="${1:-10000}"
ulimit -n "$(ulimit -Hn)"
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release -q -p shardio-benches --bin idle-conns
bin=target/release/idle-conns
out="target/bench-idle-rss"
mkdir -p "$out"
port=9100
source scripts/lib.sh

printf '| mode | RSS before (KiB) | RSS with %s idle conns (KiB) | bytes per connection |\n|---|---|---|---|\n' "$conns" \
    > "$out/results.md"
for mode in owned multishot; do
    port=$((port + 1))
    timeout 120 taskset -c 0 "$bin" server --mode "$mode" --addr "127.0.0.1:$port" > "$out/server-$mode.log" 2>&1 &
    server=$!
    pids+=("$server")
    wait_for_line "$out/server-$mode.log" listening 10
    # `timeout` is the parent; the server is its child.
    server_pid=$(pgrep -P "$server" | head -1)
    idle_rss_row "$out/results.md" "$mode" "$server_pid" "$conns" "$out/client-$mode.log" \
        timeout 120 taskset -c 1 "$bin" client --addr "127.0.0.1:$port" --conns "$conns"
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
done
cat "$out/results.md"
echo "results: $(pwd)/$out/results.md"
