#!/usr/bin/env bash
# What compressing big bodies costs a shard's other requests: shardio-http's
# compress example against actix-web's Compress middleware (benches/peers/
# actix-compress), both at compression level 1 (actix's), each on core 0
# with its load on core 1.
#
# For each server, two runs of SECS seconds, open loop (coordinated
# omission corrected) on `GET /` (`Hello, World!`) at RATE requests/s:
#   alone:      nothing else;
#   compressing: while 2 connections fetch `GET /report` (a 3.4 MB JSON
#               array) with `Accept-Encoding: gzip`, back to back.
# Reports the latency of `/` in each (p50, p99, p99.9, max), the reports
# compressed per second, the server's CPU per report (input MB
# compressed per server CPU-second), and the size of a gzipped report.
#
# shardio-http runs twice, at level 1 and at level 2: its backend
# (zlib-rs) makes level 1 a quick mode whose output is about a third
# larger than miniz_oxide's level 1 (actix's), and level 2 is its first
# level that compresses at least as tightly.
#
# Usage: scripts/bench-compress.sh [SECS] [RATE]   (default 10 s, 1000/s)
# Takes about 6 × (SECS + 2) seconds plus the builds. Stops only the
# servers it started.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rate=${2:-1000}
source scripts/lib.sh
need taskset util-linux
need python3 python3
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p shardio-benches --bin shardio-load
cargo build --release -q -p shardio-http --example compress
CARGO_TARGET_DIR=target/peers cargo build --release -q \
    --manifest-path benches/peers/Cargo.toml -p actix-compress
load=target/release/shardio-load
out=$(mktemp -d)
port=9410
addr=127.0.0.1:$port

run() { # NAME COMMAND...
    local name=$1 pid before after
    shift
    taskset -c 0 "$@" > "$out/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for_port "$port" 10
    check_compresses "$name"
    taskset -c 1 "$load" "http://$addr/" -c 8 -R "$rate" -d "${secs}s" --warmup 1s \
        --json > "$out/$name-alone.json"
    taskset -c 1 "$load" "http://$addr/report" -c 2 -H "Accept-Encoding: gzip" \
        -d "$((secs + 2))s" --timeout 10s --json > "$out/$name-report.json" &
    local reports=$!
    sleep 1
    before=$(tree_ticks "$pid")
    taskset -c 1 "$load" "http://$addr/" -c 8 -R "$rate" -d "${secs}s" \
        --json > "$out/$name-busy.json"
    after=$(tree_ticks "$pid")
    wait "$reports"
    echo "$((after - before))" > "$out/$name-ticks"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

# Each server must compress. Writes the report's decoded and gzipped
# lengths to $out/NAME-report-bytes, for the megabytes per CPU-second.
check_compresses() { # NAME
    python3 - "$addr" "$1" "$out/$1-report-bytes" <<'PY'
import gzip, http.client, sys
c = http.client.HTTPConnection(sys.argv[1], timeout=30)
c.request("GET", "/report", headers={"Accept-Encoding": "gzip"})
r = c.getresponse()
body = r.read()
assert r.getheader("content-encoding") == "gzip", f"{sys.argv[2]}: not compressed"
plain = len(gzip.decompress(body))
open(sys.argv[3], "w").write(f"{plain} {len(body)}")
print(f"{sys.argv[2]}: /report {plain:,} bytes, {len(body):,} gzipped", file=sys.stderr)
PY
}

run shardio target/release/examples/compress --addr "$addr" --level 1
run shardio-level-2 target/release/examples/compress --addr "$addr" --level 2
run actix target/peers/release/actix-compress "$addr"

python3 - "$out" "$secs" "$(getconf CLK_TCK)" <<'PY'
import json, sys
out, secs, hz = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
print(f"| server | / alone p50 / p99 / p99.9 / max (µs) | / while compressing p50 / p99 / p99.9 / max (µs) | /report per s | MB compressed per server CPU-s | gzipped /report (bytes) |")
print("|---|---|---|---|---|---|")
for name in ["shardio", "shardio-level-2", "actix"]:
    lat = lambda run: json.load(open(f"{out}/{name}-{run}.json"))["latency_us"]["percentiles"]
    fmt = lambda p: " / ".join(f"{p[k]:,.0f}" for k in ["p50", "p99", "p99.9", "max"])
    rep = json.load(open(f"{out}/{name}-report.json"))
    busy = json.load(open(f"{out}/{name}-busy.json"))
    ticks = int(open(f"{out}/{name}-ticks").read())
    reports = rep["requests_per_sec"]
    cpu = ticks / hz
    # The server's CPU in the busy window also answered `/`; a hello
    # answer costs microseconds, so nearly all of it is compression.
    report_bytes, gzipped = map(int, open(f"{out}/{name}-report-bytes").read().split())
    mb = reports * secs * report_bytes / 1e6 / cpu if cpu else 0
    errors = sum(busy["errors"].values()) + sum(rep["errors"].values())
    print(f"| {name} | {fmt(lat('alone'))} | {fmt(lat('busy'))} | {reports:.1f} | {mb:.0f} | {gzipped:,} |"
          + (f" ({errors} errors)" if errors else ""))
PY
rm -rf "$out"
