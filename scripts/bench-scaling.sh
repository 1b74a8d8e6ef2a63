#!/usr/bin/env bash
# Multi-core scaling: shardio-http's hello example with N shards against
# tokio + hyper with N threads, each server on cores 0..N-1 and
# shardio-load on the upper half of the machine's cores (one load shard
# per core there). The peers (benches/peers/hyper-hello):
#   hyper           tokio's multi-thread runtime, N workers, one listener
#                   (how most hyper servers run);
#   hyper-per-core  N current-thread runtimes, one SO_REUSEPORT listener
#                   each (thread-per-core, as shardio runs);
#   hyper-1         (N=1 only) one current-thread runtime, the one-core
#                   peer of bench-compare.sh.
# For each N (1, 2, 4, ... up to half the cores), in alternating rounds,
# runs plaintext `GET /` with 64 and 256 connections and pipelined (16
# requests per write, 64 connections), closed loop; records requests/s and
# requests per second of server CPU (utime+stime of the server process from
# /proc), and prints medians, ratios to `hyper`, how busy the server's
# cores were, and each server's scaling (requests/s at N over N times
# requests/s at 1). With the load on cores of its own, N=1 is also the
# one-core comparison with a load generator that is never the bottleneck.
#
# Needs at least 4 cores (on 2, use bench-compare.sh).
# Usage: scripts/bench-scaling.sh [SECS] [ROUNDS] [N...]   (defaults 5 2)
#   SERVERS="shardio hyper hyper-per-core"  the servers (also hyper-1,
#       shardio-per-wait, shardio-multishot, and fixed-answer-parse: the
#       parsing floor; see bench-compare.sh)
#   BASE=hyper  the server the ratios are taken to
#   PREBUILT=DIR  take hello, fixed_answer, shardio-load and hyper-hello
#       from DIR instead of building them (a machine with no toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
rounds="${2:-2}"
shift $(($# < 2 ? $# : 2))
cores=$(nproc)
[ "$cores" -ge 4 ] || { echo "bench-scaling.sh needs at least 4 cores ($cores here)" >&2; exit 1; }
half=$((cores / 2))
counts=("$@")
if [ ${#counts[@]} -eq 0 ]; then
    for ((n = 1; n <= half; n *= 2)); do counts+=("$n"); done
fi
for n in "${counts[@]}"; do
    if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt "$half" ]; then
        echo "N=$n: a number from 1 to $half on this machine" >&2
        exit 1
    fi
done
read -r -a servers <<< "${SERVERS:-shardio hyper hyper-per-core}"
source scripts/lib.sh
need taskset util-linux
need python3 python3
ulimit -n "$(ulimit -Hn)"
out="target/bench-scaling/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
if [ -n "${PREBUILT:-}" ]; then
    bin="$PREBUILT"
    for b in hello fixed_answer shardio-load hyper-hello; do
        [ -x "$bin/$b" ] || { echo "PREBUILT: no $bin/$b" >&2; exit 1; }
    done
    hello=$bin/hello fixed=$bin/fixed_answer load=$bin/shardio-load hyper=$bin/hyper-hello
else
    cargo build --release -q -p shardio-benches --bin shardio-load -p shardio-http --example hello
    cargo build --release -q -p shardio --example fixed_answer
    CARGO_TARGET_DIR=target/peers cargo build --release -q --manifest-path benches/peers/Cargo.toml -p hyper-hello
    hello=target/release/examples/hello fixed=target/release/examples/fixed_answer
    load=target/release/shardio-load hyper=target/peers/release/hyper-hello
fi
load_cores="$half-$((cores - 1))"
load_shards=$((cores - half))
: > "$out/raw.tsv"

start_server() { # NAME N PORT -> sets $server_pid
    local addr="127.0.0.1:$3" cmd
    case "$1" in
    shardio) cmd=("$hello" --addr "$addr" --shards "$2") ;;
    shardio-per-wait) cmd=("$hello" --addr "$addr" --shards "$2" --per-wait) ;;
    shardio-multishot) cmd=("$hello" --addr "$addr" --shards "$2" --multishot) ;;
    fixed-answer-parse) cmd=("$fixed" --addr "$addr" --shards "$2" --parse) ;;
    hyper) cmd=("$hyper" "$addr" "$2" multi) ;;
    hyper-per-core) cmd=("$hyper" "$addr" "$2" per-core) ;;
    hyper-1) cmd=("$hyper" "$addr") ;;
    *) echo "unknown server $1" >&2; exit 1 ;;
    esac
    taskset -c "0-$(($2 - 1))" "${cmd[@]}" > "$out/$1-$2.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    wait_for_port "$3" 10
}

port=9700
# A machine fresh from idle runs its first seconds of load slower: warm it
# up once, unmeasured.
start_server "${servers[0]}" "${counts[0]}" "$port"
timeout 30 taskset -c "$load_cores" "$load" "http://127.0.0.1:$port/" -c 256 --shards "$load_shards" \
    -d 5s -q > /dev/null || true
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
for round in $(seq "$rounds"); do
    for n in "${counts[@]}"; do
        for server in "${servers[@]}"; do
            [ "$server" != hyper-1 ] || [ "$n" = 1 ] || continue
            port=$((port + 1))
            start_server "$server" "$n" "$port"
            url="http://127.0.0.1:$port/"
            timeout 30 taskset -c "$load_cores" "$load" "$url" -c 256 --shards "$load_shards" -d 1s -q \
                > /dev/null || true   # warm-up
            for scenario in "${hello_scenarios[@]}"; do
                scenario_args "$scenario"
                json="$out/$server-$n-$scenario-$round.json"
                before=$(cpu_ticks "$server_pid")
                timeout $((secs + 30)) taskset -c "$load_cores" "$load" "$url" "${args[@]}" \
                    --shards "$load_shards" -d "${secs}s" --json > "$json"
                after=$(cpu_ticks "$server_pid")
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$n" "$server" "$scenario" "$json" \
                    "$((after - before))" >> "$out/raw.tsv"
            done
            kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
        done
    done
done

python3 - "$out" "$secs" "$(getconf CLK_TCK)" "$load_shards" "${BASE:-hyper}" <<'PY'
import json, sys, statistics as st
out, secs, tck, load_shards, base = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
cells = {}  # (n, server, scenario) -> [(req/s, per CPU-s, busy, p99, errors)]
per_round = {}  # (n, server, scenario, round) -> requests per server CPU-s
for line in open(f"{out}/raw.tsv"):
    rnd, n, server, scen, path, ticks = line.rstrip("\n").split("\t")
    r = json.load(open(path))
    cpu = float(ticks) / tck
    errors = sum(r["errors"].values()) + sum(c for s, c in r["statuses"].items() if s != "200")
    cells.setdefault((int(n), server, scen), []).append((
        r["requests_per_sec"], r["responses"] / cpu if cpu else float("nan"),
        cpu / (secs * int(n)), r["latency_us"]["percentiles"]["p99"], errors))
    per_round[(int(n), server, scen, rnd)] = cells[(int(n), server, scen)][-1][1]
med = {k: [st.median(x[i] for x in v) for i in range(4)] + [sum(x[4] for x in v)]
       for k, v in cells.items()}
counts = sorted({k[0] for k in cells})
servers = list(dict.fromkeys(k[1] for k in cells))
base = base if base in servers else servers[0]

def spread(n, s, scen):
    """The lowest and highest ratio per CPU-s to the base of one round's pair."""
    ratios = [v / per_round[(n, base, scen, r)] for (n2, s2, c, r), v in per_round.items()
              if (n2, s2, c) == (n, s, scen) and per_round.get((n, base, scen, r))]
    return f"{min(ratios):.2f}–{max(ratios):.2f}x" if ratios else "—"
with open(f"{out}/results.md", "w") as f:
    f.write(f"Server on cores 0..N-1, shardio-load with {load_shards} shards on the other half; "
            f"medians; ratios to {base} at the same N; scaling = req/s at N / (N × req/s at 1)\n")
    for scen in ["c64", "c256", "pipe16"]:
        f.write(f"\n**{scen}**\n\n| N | server | req/s | req/s per server CPU-s | server cores busy "
                f"| p99 | errors | ratio req/s | ratio per CPU-s | single rounds | scaling |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n")
        for n in counts:
            for s in servers:
                m, b = med.get((n, s, scen)), med.get((n, base, scen))
                if not m:
                    continue
                one = med.get((1, s, scen))
                scaling = f"{m[0] / (n * one[0]):.2f}" if one else "—"
                ratios = f"{m[0]/b[0]:.2f}x | {m[1]/b[1]:.2f}x" if b else "— | —"
                f.write(f"| {n} | {s} | {m[0]:,.0f} | {m[1]:,.0f} | {m[2]:.0%} | {m[3]/1000:.3f} ms "
                        f"| {m[4]} | {ratios} | {spread(n, s, scen)} | {scaling} |\n")
PY
cat "$out/results.md"
echo
echo "results in $out: results.md, raw.tsv and *.json (every run)"
