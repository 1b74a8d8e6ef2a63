#!/usr/bin/env bash
# shardio-http's hello example against the peer servers of benches/peers
# (tokio + hyper, monoio, glommio, may-minihttp, actix-web; each one
# thread or worker), every server on core 0 and shardio-load on core 1.
# Servers run in alternating rounds (A B C ... A B C ...); each round runs
# plaintext `GET /` with 64 and 256 connections and pipelined (16 requests
# per write, 64 connections), closed loop. Records requests/s, p50/p99 and
# requests per second of server CPU (utime+stime of the server's process
# tree from /proc), then prints the medians with each server's ratio to
# tokio + hyper, the median, lowest and highest ratio of single rounds (each
# server against hyper's run in the same round: how much this machine's
# noise moves a ratio), and draws a chart (SVG, gnuplot; installed if
# missing). Each run also records the host's steal time (/proc/stat: a
# virtual machine's cores waiting on the hypervisor, which marks a busy
# neighbour); the tables give its median and highest share per server,
# and the paired median over the quiet rounds alone (steal under 2 % in
# both runs of the pair). Before each server's round it waits (up to 30 s)
# for a second with under 2 % stolen.
# A seventh server, the runtime's `fixed_answer` example, answers every
# request head with the same bytes as hello's `GET /` and parses nothing:
# the floor for shardio-http (the runtime and the kernel, no HTTP layer).
# An eighth, `fixed-answer-parse` (the same with `--parse`), parses each
# head with httparse as shardio-http does before answering: the floor
# for any HTTP layer built on httparse.
#
# Usage: scripts/bench-compare.sh [SECS] [ROUNDS] [SERVERS...]
#   defaults: 5 s per run, 3 rounds, all of shardio shardio-per-wait hyper
#   monoio glommio may-minihttp actix fixed-answer fixed-answer-parse
#   (`shardio`: the hello example in its default receive mode, adaptive;
#   `shardio-per-wait`: with `--per-wait`, a receive submitted per wait);
#   also `shardio-multishot`, with `--multishot` (one receive kept armed
#   per connection).
#   Takes about ROUNDS × servers × (3 × SECS + 4) s, more while the host
#   is busy, plus building the peers (a few minutes the first time). Stops
#   only the servers it started.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
rounds="${2:-3}"
shift $(($# < 2 ? $# : 2))
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(shardio shardio-per-wait hyper monoio glommio may-minihttp actix fixed-answer fixed-answer-parse)
source scripts/lib.sh
need taskset util-linux
need python3 python3
need gnuplot gnuplot-nox
ulimit -n "$(ulimit -Hn)"
out="target/bench-compare/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
cargo build --release -q -p shardio-benches --bin shardio-load -p shardio-http --example hello
cargo build --release -q -p shardio --example fixed_answer
CARGO_TARGET_DIR=target/peers cargo build --release -q --manifest-path benches/peers/Cargo.toml
load=target/release/shardio-load
: > "$out/raw.tsv"

start_server() { # NAME PORT -> sets $server_pid
    local addr="127.0.0.1:$2" cmd
    case "$1" in
    shardio) cmd=(target/release/examples/hello --addr "$addr" --shards 1) ;;
    shardio-multishot) cmd=(target/release/examples/hello --addr "$addr" --shards 1 --multishot) ;;
    shardio-per-wait) cmd=(target/release/examples/hello --addr "$addr" --shards 1 --per-wait) ;;
    fixed-answer) cmd=(target/release/examples/fixed_answer --addr "$addr" --shards 1) ;;
    fixed-answer-parse) cmd=(target/release/examples/fixed_answer --addr "$addr" --shards 1 --parse) ;;
    may-minihttp) cmd=(target/peers/release/may-hello "$addr") ;;
    *) cmd=("target/peers/release/$1-hello" "$addr") ;;
    esac
    taskset -c 0 "${cmd[@]}" > "$out/$1.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    wait_for_port "$2" 10
}

port=9500
for round in $(seq "$rounds"); do
    for server in "${servers[@]}"; do
        port=$((port + 1))
        wait_for_quiet_host 30
        start_server "$server" "$port"
        url="http://127.0.0.1:$port/"
        timeout 30 taskset -c 1 "$load" "$url" -c 64 -d 1s -q > /dev/null || true   # warm-up
        for scenario in "${hello_scenarios[@]}"; do
            scenario_args "$scenario"
            json="$out/$server-$scenario-$round.json"
            before=$(tree_ticks "$server_pid")
            ticks=$(host_ticks)
            timeout $((secs + 30)) taskset -c 1 "$load" "$url" "${args[@]}" -d "${secs}s" --json \
                --hgrm "${json%.json}.hgrm" > "$json"
            stolen=$(steal_since $ticks)
            after=$(tree_ticks "$server_pid")
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$scenario" "$json" "$((after - before))" \
                "$stolen" >> "$out/raw.tsv"
        done
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    done
done

python3 - "$out" "$secs" "$(getconf CLK_TCK)" "$quiet_steal" <<'PY'
import json, sys, statistics as st
out, secs, tck = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
QUIET = int(sys.argv[4])  # ‰: a run with less steal than this is a quiet one
cells = {}
per_round = {}  # (server, scenario, round) -> requests per server CPU-s
steal = {}  # (server, scenario, round) -> the host's steal during the run, ‰
for line in open(f"{out}/raw.tsv"):
    rnd, server, scen, path, ticks, stolen = line.rstrip("\n").split("\t")
    steal[(server, scen, rnd)] = int(stolen)
    r = json.load(open(path))
    cpu = float(ticks) / tck
    p = r["latency_us"]["percentiles"]
    errors = sum(r["errors"].values()) + sum(n for s, n in r["statuses"].items() if s != "200")
    cells.setdefault((server, scen), []).append(
        (r["requests_per_sec"], r["responses"] / cpu if cpu else float("nan"), p["p50"], p["p99"], errors))
    per_round[(server, scen, rnd)] = cells[(server, scen)][-1][1]
servers = list(dict.fromkeys(s for s, _ in cells))
scens = ["c64", "c256", "pipe16"]
med = {k: [st.median(x[i] for x in v) for i in range(4)] + [sum(x[4] for x in v)] for k, v in cells.items()}
base = "hyper" if "hyper" in servers else servers[0]

def paired(s, scen, quiet=False):
    """Each round's server against the base's run in the same round; with
    `quiet`, only the rounds where neither run saw the host steal time."""
    return [v / per_round[(base, scen, r)] for (s2, c, r), v in per_round.items()
            if s2 == s and c == scen and per_round.get((base, scen, r))
            and not (quiet and max(steal[(s, scen, r)], steal[(base, scen, r)]) >= QUIET)]

def spread(s, scen):
    """The median, lowest and highest ratio of the paired rounds."""
    ratios = paired(s, scen)
    if not ratios:
        return "—"
    return f"{st.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f}x)"

def quiet(s, scen):
    """The paired rounds' median over the quiet rounds, and how many."""
    ratios = paired(s, scen, quiet=True)
    if not ratios:
        return "— (0)"
    return f"{st.median(ratios):.2f}x ({len(ratios)})"

def stolen(s, scen):
    """The median and highest share of the host's CPU time stolen."""
    v = [n for (s2, c, _), n in steal.items() if s2 == s and c == scen]
    return f"{st.median(v) / 10:.1f} % ({max(v) / 10:.1f} %)"

with open(f"{out}/results.md", "w") as f:
    for scen in scens:
        f.write(f"\n**{scen}** (ratios to {base})\n\n")
        f.write("| server | req/s | req/s per server CPU-s | p50 | p99 | errors | ratio req/s "
                "| ratio per CPU-s | paired rounds' ratios per CPU-s: median (range) "
                f"| quiet rounds' paired median (rounds; steal under {QUIET / 10:.0f} %) "
                "| host steal: median (highest) |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
        b = med[(base, scen)]
        for s in servers:
            m = med[(s, scen)]
            f.write(f"| {s} | {m[0]:,.0f} | {m[1]:,.0f} | {m[2]/1000:.3f} ms | {m[3]/1000:.3f} ms | {m[4]} | "
                    f"{m[0]/b[0]:.2f}x | {m[1]/b[1]:.2f}x | {spread(s, scen)} | {quiet(s, scen)} "
                    f"| {stolen(s, scen)} |\n")
with open(f"{out}/base.txt", "w") as f:
    f.write(base)
with open(f"{out}/chart.dat", "w") as f:
    f.write("server " + " ".join(scens) + "\n")
    for s in servers:
        f.write(s + " " + " ".join(f"{med[(s, c)][1] / med[(base, c)][1]:.3f}" for c in scens) + "\n")
PY
base=$(cat "$out/base.txt")
gnuplot <<GP
set terminal svg size 900,540 dynamic background rgb 'white' font 'sans,12'
set output '$out/compare.svg'
set title "Requests per second of server CPU, as a ratio to $base (one core each; medians of $rounds rounds)"
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set key top left autotitle columnheader
set ylabel 'ratio to $base'
set grid ytics
set yrange [0:*]
plot '$out/chart.dat' using 2:xtic(1), '' using 3, '' using 4, 1 with lines dt 2 lc rgb 'black' notitle
GP
cat "$out/results.md"
echo
echo "results in $out: results.md (medians, ratios), compare.svg (chart), raw.tsv and *.json/*.hgrm (every run)"
