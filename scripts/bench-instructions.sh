#!/usr/bin/env bash
# User-space instructions per request of the hello example, counted by
# valgrind's callgrind while shardio-load drives it: a figure that does not
# move with the machine's timing noise (run to run within 0.1 %), for
# telling apart changes of a few percent that wall-clock runs cannot.
# The kernel's share is not counted; bench-compare.sh measures the whole.
#
# Server on core 0 under callgrind, shardio-load on core 1: a warm-up,
# then the counters are zeroed, SECS of load are counted, and the
# instructions are divided by the responses shardio-load received. Prints
# the total and the functions costing most per request (self cost).
#
# Usage: scripts/bench-instructions.sh [SECS] [LOAD ARGS...]
#   defaults: 5 s, `-c 64 --pipeline 16`. HELLO=PATH measures another
#   build of the example (a copy of an earlier one, to compare);
#   HELLO_ARGS="--per-wait" passes flags to it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
shift || true
load=("$@")
[ "${#load[@]}" -gt 0 ] || load=(-c 64 --pipeline 16)
ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
need taskset util-linux
need valgrind valgrind
need python3 python3
cargo build --release -q -p shardio-http --example hello
cargo build --release -q -p shardio-benches --bin shardio-load
hello="${HELLO:-target/release/examples/hello}"
out=target/bench-instructions
mkdir -p "$out"
rm -f "$out"/callgrind.out*

port=$((9700 + RANDOM % 200))
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$hello" --addr "127.0.0.1:$port" --shards 1 ${HELLO_ARGS:-} > "$out/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_for_line "$out/server.log" listening 30
url="http://127.0.0.1:$port/"
taskset -c 1 target/release/shardio-load "$url" "${load[@]}" -d 2s -q > /dev/null
callgrind_control -z "$server_pid" > /dev/null 2>&1
taskset -c 1 target/release/shardio-load "$url" "${load[@]}" -d "${secs}s" --json > "$out/load.json"
callgrind_control -d "$server_pid" > /dev/null 2>&1
kill -KILL "$server_pid" # counted already; no need to shut down gracefully
wait "$server_pid" 2>/dev/null || true
dump=$(ls -t "$out"/callgrind.out* | head -1)
callgrind_annotate --threshold=100 --auto=no "$dump" > "$out/annotate.txt"

python3 - "$out/load.json" "$out/annotate.txt" "${load[*]}" > "$out/results.md" <<'PY'
import json, re, sys
responses = json.load(open(sys.argv[1]))["responses"]
total, rows = 0, []
for line in open(sys.argv[2]):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S.*)", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    if "PROGRAM TOTALS" in line:
        total = n
    elif "clone.S" not in line and "start_thread" not in line:
        rows.append((n, re.sub(r" \[[^\]]*\]$", "", m.group(2))))
print(f"load: `{sys.argv[3]}`, {responses:,} responses counted\n")
print(f"**{total / responses:,.0f} user-space instructions per request**\n")
print("| instructions per request (self) | function |\n|---|---|")
seen = 0
for n, name in sorted(rows, reverse=True):
    # Skip the enclosing frames (inclusive totals of the thread itself).
    if n >= total * 0.99:
        continue
    print(f"| {n / responses:,.1f} | `{name[-110:]}` |")
    seen += 1
    if seen == 25:
        break
PY
cat "$out/results.md"
echo
echo "results in $out: results.md, annotate.txt, the callgrind dump (callgrind_annotate --inclusive=yes ...)"
