#!/usr/bin/env bash
# Server memory (RSS) per idle keep-alive HTTP connection: CONNS clients
# each make one `GET /` to the hello example, then hold the connection
# open. The example runs in its default mode (`Receive::Adaptive`) once
# with one request per connection and once with four (`shardio-4`: such a
# connection moves to a multishot receive from its third request, if the
# shard has one of its 256 left, and stops it once it idles for a tick of
# the deadline sweep, a second with the default timeouts, so the RSS is
# read 3 s after the last connection is ready); then with `--per-wait` (a
# receive submitted per wait), with `--multishot` (a receive kept armed
# per connection for its life), and the tokio + hyper peer. Server on
# core 0, client on core 1.
# Usage: scripts/bench-http-idle-rss.sh [CONNS]     (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
conns="${1:-10000}"
ulimit -n "$(ulimit -Hn)"
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release -q -p shardio-http --example hello
cargo build --release -q -p shardio-benches --bin idle-conns --bin shardio-load
CARGO_TARGET_DIR=target/peers cargo build --release -q --manifest-path benches/peers/Cargo.toml -p hyper-hello
out=target/bench-http-idle-rss
mkdir -p "$out"
source scripts/lib.sh

printf '| server | RSS before (KiB) | RSS with %s idle conns (KiB) | bytes per connection |\n|---|---|---|---|\n' "$conns" \
    > "$out/results.md"
port=9500
for server in shardio shardio-4 shardio-per-wait shardio-multishot hyper; do
    port=$((port + 1))
    requests=1 settle=1
    case "$server" in
    shardio | shardio-4)
        [ "$server" = shardio ] || requests=4 settle=3
        taskset -c 0 target/release/examples/hello --addr "127.0.0.1:$port" \
            > "$out/server-$server.log" 2>&1 & ;;
    shardio-per-wait) taskset -c 0 target/release/examples/hello --addr "127.0.0.1:$port" --per-wait \
        > "$out/server-$server.log" 2>&1 & ;;
    shardio-multishot) taskset -c 0 target/release/examples/hello --addr "127.0.0.1:$port" --multishot \
        > "$out/server-$server.log" 2>&1 & ;;
    hyper) taskset -c 0 target/peers/release/hyper-hello "127.0.0.1:$port" > "$out/server-$server.log" 2>&1 & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    wait_for_line "$out/server-$server.log" listening 10
    # Warm the server up: a second of load touches its shard-wide buffers
    # (shardio's receive ring cycles through all of its 512 buffers), so
    # that what the idle connections add is their own cost only.
    taskset -c 1 timeout 20 target/release/shardio-load "http://127.0.0.1:$port/" -c 64 -d 1s -q \
        > "$out/load-$server.log" 2>&1
    taskset -c 1 target/release/idle-conns client --http --addr "127.0.0.1:$port" --conns 64 \
        > "$out/warm-$server.log" 2>&1 &
    warm=$!
    wait_for_line "$out/warm-$server.log" ready 30
    kill "$warm"; wait "$warm" 2>/dev/null || true
    sleep 0.5
    IDLE_SETTLE=$settle idle_rss_row "$out/results.md" "$server" "$server_pid" "$conns" "$out/client-$server.log" \
        taskset -c 1 target/release/idle-conns client --http --requests "$requests" \
        --addr "127.0.0.1:$port" --conns "$conns"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
done
cat "$out/results.md"
echo "results: $(pwd)/$out/results.md"
