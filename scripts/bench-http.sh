#!/usr/bin/env bash
# shardio-http's hello example against tokio + hyper (current-thread
# runtime), server on core 0, wrk on core 1: plaintext `GET /` with 64 and
# 256 connections, and pipelined (16 requests per write, 64 connections).
# Reports requests/s and requests per second of server CPU (utime+stime
# from /proc), medians of interleaved rounds, and the ratios.
# Usage: scripts/bench-http.sh [SECS] [ROUNDS]     (defaults 5 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
rounds="${2:-3}"
ulimit -n "$(ulimit -Hn)"
for tool in taskset wrk python3; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install util-linux wrk python3)" >&2; exit 1; }
done
cargo build --release -q -p shardio-http --example hello
CARGO_TARGET_DIR=target/peers cargo build --release -q --manifest-path benches/peers/Cargo.toml -p hyper-hello
out=target/bench-http
mkdir -p "$out"
: > "$out/raw.tsv"
source scripts/lib.sh
wrk_pipeline_script "$out/pipeline.lua"

start_server() { # NAME PORT -> sets $server_pid
    case "$1" in
    shardio) taskset -c 0 target/release/examples/hello --addr "127.0.0.1:$2" --shards 1 > "$out/$1.log" 2>&1 & ;;
    hyper) taskset -c 0 target/peers/release/hyper-hello "127.0.0.1:$2" > "$out/$1.log" 2>&1 & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    wait_for_line "$out/$1.log" listening 5
}

port=9300
for round in $(seq "$rounds"); do
    for server in shardio hyper; do
        port=$((port + 1))
        start_server "$server" "$port"
        taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/" > /dev/null   # warm-up
        for scenario in c64 c256 pipe16; do
            case "$scenario" in
            c64) args=(-c64) ;;
            c256) args=(-c256) ;;
            pipe16) args=(-c64 -s "$out/pipeline.lua") ;;
            esac
            measure "$out/raw.tsv" "$round" "$server" "$scenario" "$server_pid" \
                "${args[@]}" -d"${secs}s" "http://127.0.0.1:$port/"
        done
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    done
done

python3 - "$out/raw.tsv" "$secs" "$(getconf CLK_TCK)" > "$out/results.md" <<'PY'
import sys, statistics as st
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
secs, tck = float(sys.argv[2]), float(sys.argv[3])
cell = {}
for _, server, scen, rps, ticks in rows:
    rps = float(rps); cpu = float(ticks) / tck
    per_cpu = rps * secs / cpu if cpu > 0 else float('nan')
    cell.setdefault((server, scen), []).append((rps, per_cpu, cpu / secs))
print("| scenario | shardio req/s | hyper req/s | shardio req/s per server CPU-s | hyper req/s per server CPU-s | ratio req/s | ratio per CPU-s | server CPU use (shardio / hyper) |")
print("|---|---|---|---|---|---|---|---|")
for scen in ["c64", "c256", "pipe16"]:
    s = cell[("shardio", scen)]; h = cell[("hyper", scen)]
    m = lambda xs, i: st.median(x[i] for x in xs)
    print(f"| {scen} | {m(s,0):,.0f} | {m(h,0):,.0f} | {m(s,1):,.0f} | {m(h,1):,.0f} | "
          f"{m(s,0)/m(h,0):.2f}x | {m(s,1)/m(h,1):.2f}x | {m(s,2):.2f} / {m(h,2):.2f} |")
PY
cat "$out/results.md"
echo "results: $(pwd)/$out/results.md"
