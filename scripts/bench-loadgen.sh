#!/usr/bin/env bash
# What the load generator itself costs: shardio-load and wrk against the
# same server (shardio-http's hello example on core 0), each on core 1, in
# alternating rounds, plaintext with 64 connections and pipelined (16 per
# write). Reports the requests each drove per second and the client CPU
# (user + system, from wait4's rusage) per request; a generator that costs
# less per request can saturate a faster server from one core.
# Usage: scripts/bench-loadgen.sh [SECS] [ROUNDS]     (defaults 5 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
rounds="${2:-3}"
source scripts/lib.sh
need taskset util-linux
need python3 python3
need wrk wrk
ulimit -n "$(ulimit -Hn)"
out="target/bench-loadgen"
mkdir -p "$out"
wrk_pipeline_script "$out/pipeline.lua"
cargo build --release -q -p shardio-benches --bin shardio-load -p shardio-http --example hello
port=9450
taskset -c 0 target/release/examples/hello --addr "127.0.0.1:$port" --shards 1 > "$out/server.log" 2>&1 &
pids+=("$!")
wait_for_port "$port" 10
url="http://127.0.0.1:$port/"

# Runs a client on core 1; prints "requests cpu-seconds".
client() { # NAME SCENARIO
    local cmd
    case "$1-$2" in
    shardio-load-c64) cmd=(target/release/shardio-load "$url" -c 64 -d "${secs}s" --json) ;;
    shardio-load-pipe16) cmd=(target/release/shardio-load "$url" -c 64 --pipeline 16 -d "${secs}s" --json) ;;
    wrk-c64) cmd=(wrk -t1 -c64 -d"${secs}s" "$url") ;;
    wrk-pipe16) cmd=(wrk -t1 -c64 -d"${secs}s" -s "$out/pipeline.lua" "$url") ;;
    esac
    python3 - "$1" "${cmd[@]}" <<'PY'
import json, os, re, subprocess, sys
name, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(["taskset", "-c", "1", *cmd], stdout=subprocess.PIPE, text=True)
text = p.stdout.read()
_, status, ru = os.wait4(p.pid, 0)
if name == "wrk":
    requests = int(re.search(r"(\d+) requests in", text).group(1))
else:
    requests = json.loads(text)["responses"]
print(requests, ru.ru_utime + ru.ru_stime)
PY
}

: > "$out/raw.tsv"
for round in $(seq "$rounds"); do
    for scenario in c64 pipe16; do
        for name in shardio-load wrk; do
            read -r requests cpu < <(client "$name" "$scenario")
            printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$scenario" "$requests" "$cpu" >> "$out/raw.tsv"
        done
    done
done

python3 - "$out/raw.tsv" "$secs" > "$out/results.md" <<'PY'
import sys, statistics as st
secs = float(sys.argv[2])
cells = {}
for line in open(sys.argv[1]):
    _, name, scen, requests, cpu = line.split("\t")
    cells.setdefault((name, scen), []).append((int(requests) / secs, float(cpu) * 1e6 / int(requests)))
print("| scenario | shardio-load req/s | wrk req/s | shardio-load client µs CPU/request | wrk client µs CPU/request | CPU/request ratio |")
print("|---|---|---|---|---|---|")
for scen in ("c64", "pipe16"):
    s = [st.median(x[i] for x in cells[("shardio-load", scen)]) for i in (0, 1)]
    w = [st.median(x[i] for x in cells[("wrk", scen)]) for i in (0, 1)]
    print(f"| {scen} | {s[0]:,.0f} | {w[0]:,.0f} | {s[1]:.2f} | {w[1]:.2f} | {s[1]/w[1]:.2f}x |")
PY
cat "$out/results.md"
echo "results: $out/results.md"
