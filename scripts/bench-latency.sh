#!/usr/bin/env bash
# Latency under load, the open-loop way: starts a server on core 0
# (shardio-http's hello example, or any command given after --), finds its
# peak with a closed-loop shardio-load run on core 1, then runs open loop
# (coordinated omission corrected) at 25/50/75/90 % of that peak and writes
# a latency-by-percentile chart (SVG, gnuplot; installed if missing), a
# markdown table and every raw report into a results folder.
#
# Usage: scripts/bench-latency.sh [options] [-- SERVER COMMAND...]
#   --url URL        what to load (default http://127.0.0.1:9400/, which the
#                    default server listens on; give it with a command)
#   --conns N        connections (default 64)
#   --secs N         seconds per run (default 10)
#   --out DIR        results folder (default target/bench-latency/DATE)
# Takes about 5 × (SECS + 1) seconds plus the build. Stops only the server
# it started.
set -euo pipefail
cd "$(dirname "$0")/.."
url="http://127.0.0.1:9400/"
conns=64
secs=10
out="target/bench-latency/$(date +%Y%m%d-%H%M%S)"
server=()
while [ $# -gt 0 ]; do
    case "$1" in
    --url) url=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --secs) secs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; server=("$@"); break ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
    esac
done
source scripts/lib.sh
need taskset util-linux
need python3 python3
need gnuplot gnuplot-nox
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
cargo build --release -q -p shardio-benches --bin shardio-load
load=target/release/shardio-load
if [ ${#server[@]} -eq 0 ]; then
    cargo build --release -q -p shardio-http --example hello
    server=(target/release/examples/hello --addr 127.0.0.1:9400 --shards 1)
fi
port=$(python3 -c "import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.port or 80)" "$url")

taskset -c 0 "${server[@]}" > "$out/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_for_port "$port" 10
echo "server: ${server[*]} (pid $server_pid, core 0); load: shardio-load on core 1" | tee "$out/setup.txt"

run_load() { # NAME ARGS...
    local name=$1
    shift
    timeout $((secs * 3 + 30)) taskset -c 1 "$load" "$url" -c "$conns" -d "${secs}s" --warmup 1s \
        --json --hgrm "$out/$name.hgrm" "$@" > "$out/$name.json"
}

run_load peak
peak=$(json_field "$out/peak.json" "['requests_per_sec']")
printf 'peak (closed loop, %s connections): %.0f req/s\n' "$conns" "$peak" | tee -a "$out/setup.txt"

plots=()
for pct in 25 50 75 90; do
    rate=$(python3 -c "print(round($peak * $pct / 100))")
    echo "open loop at $pct % of peak: $rate req/s" >&2
    run_load "rate-$pct" --rate "$rate"
    plots+=("$out/rate-$pct.hgrm" "$pct % of peak ($rate req/s)")
done
plot_hgrm "$out/latency.svg" "Latency by percentile, open loop ($conns connections)" "${plots[@]}"

python3 - "$out" "$peak" <<'PY' > "$out/latency.md"
import json, sys
out, peak = sys.argv[1], float(sys.argv[2])
print(f"Peak (closed loop): {peak:,.0f} req/s\n")
print("| load | target req/s | achieved req/s | p50 | p90 | p99 | p99.9 | p99.99 | max | errors | non-2xx/3xx |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
def ms(us): return f"{us / 1000:.3f} ms"
for pct in (25, 50, 75, 90):
    r = json.load(open(f"{out}/rate-{pct}.json"))
    p = r["latency_us"]["percentiles"]
    errors = sum(r["errors"].values())
    bad = sum(n for s, n in r["statuses"].items() if not 200 <= int(s) < 400)
    print(f"| {pct} % | {r['rate']:,.0f} | {r['requests_per_sec']:,.0f} | "
          + " | ".join(ms(p[k]) for k in ("p50", "p90", "p99", "p99.9", "p99.99", "max"))
          + f" | {errors} | {bad} |")
PY
cat "$out/latency.md"
echo
echo "results in $out: latency.svg (chart), latency.md (table), *.json and *.hgrm (raw)"
