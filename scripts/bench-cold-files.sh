#!/usr/bin/env bash
# What files out of the page cache do to everyone else on the core.
# One server on core 0 serves a cached 4 KiB file (`/hot.bin`) to an open
# loop of 2,000 requests/s on 8 connections (shardio-load, latency from
# each request's scheduled time), while wrk on 4 connections asks for
# random 128 KiB files out of 1,024 (128 MiB) that a loop on core 1 keeps
# evicting from the page cache (posix_fadvise DONTNEED, every 50 ms), so
# most of them must come from the disk. Loaders and the evicting loop run
# on core 1.
#
# A server that reads a cold file on its one thread (sendfile(2), a plain
# read) holds every hot request behind the disk; one that reads it
# elsewhere does not. Servers:
#   shardio   shardio-serve (a cold file is read through the ring,
#             `Strategy::Copy`, until a revalidation finds it cached)
#   nginx     one worker, sendfile on, open_file_cache: reads on the worker
#   nginx-aio the same with `aio threads`: reads in nginx's thread pool
#             (pinned to core 0 with its worker)
#   shardio-base  another shardio-serve build, named by $BASE_SERVE, for
#             an A/B of two builds
#   idle      shardio-serve with no cold load at all: the hot file's
#             latency floor on this machine
# Reports per server the hot file's p50 / p99 / p99.9 latency (µs), the
# cold files served per second, and the ratios of the p99 to nginx's;
# medians of interleaved rounds.
# Usage: scripts/bench-cold-files.sh [SECS] [ROUNDS] [SERVER...]   (defaults 10 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
rounds="${2:-3}"
shift $(($# < 2 ? $# : 2))
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(shardio nginx nginx-aio)
ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
if ! command -v nginx >/dev/null && [ -x /usr/sbin/nginx ]; then PATH="$PATH:/usr/sbin"; fi
need nginx nginx-light
need wrk wrk
for tool in taskset python3 curl; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
cargo build --release -q -p shardio-http --bin shardio-serve -p shardio-benches --bin shardio-load
out="$PWD/target/bench-cold-files"
www="$out/www"
mkdir -p "$www/cold" "$out/nginx"
files=1024
if [ "$(find "$www/cold" -name '*.bin' | wc -l)" -ne "$files" ]; then
    echo "writing $files files of 128 KiB" >&2
    python3 - "$www/cold" "$files" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"{i}.bin"), "wb") as f:
        f.write(os.urandom(128 << 10))
PY
    sync
fi
head -c 4096 /dev/urandom > "$www/hot.bin"
cat > "$out/random.lua" <<LUA
math.randomseed(os.time())
request = function()
    return wrk.format("GET", "/cold/" .. math.random(0, $((files - 1))) .. ".bin")
end
LUA
# Evicts every cold file, every 50 ms, until killed.
cat > "$out/evict.py" <<'PY'
import os, sys, time
fds = [os.open(os.path.join(sys.argv[1], n), os.O_RDONLY) for n in os.listdir(sys.argv[1])]
while True:
    for fd in fds:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    time.sleep(0.05)
PY
: > "$out/raw.tsv"


start_server() { # NAME PORT -> sets $server_pid
    case "$1" in
    shardio | shardio-base | idle)
        local bin=target/release/shardio-serve
        [ "$1" != shardio-base ] || bin="${BASE_SERVE:?BASE_SERVE names the other build}"
        taskset -c 0 "$bin" "$www" --addr "127.0.0.1:$2" --shards 1 > "$out/$1.log" 2>&1 &
        server_pid=$!
        ;;
    nginx | nginx-aio)
        local extra=""
        [ "$1" = nginx ] || extra="aio threads;"
        nginx_conf "$out" "$www" "$2" "$extra" > "$out/nginx/nginx.conf"
        taskset -c 0 nginx -c "$out/nginx/nginx.conf" > "$out/$1.log" 2>&1 &
        server_pid=$!
        ;;
    *) echo "unknown server $1" >&2; exit 2 ;;
    esac
    pids+=("$server_pid")
    for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$2/hot.bin" && return 0
        sleep 0.1
    done
    echo "$1 did not start" >&2
    cat "$out/$1.log" >&2
    exit 1
}

port=9600
for round in $(seq "$rounds"); do
    for server in "${servers[@]}"; do
        port=$((port + 1))
        start_server "$server" "$port"
        taskset -c 1 python3 "$out/evict.py" "$www/cold" &
        evictor=$!
        pids+=("$evictor")
        if [ "$server" = idle ]; then
            (sleep "$((secs + 2))"; echo "Requests/sec: 0" > "$out/wrk.txt") &
        else
            taskset -c 1 wrk -t1 -c4 -d"$((secs + 2))s" -s "$out/random.lua" \
                "http://127.0.0.1:$port/" > "$out/wrk.txt" &
        fi
        cold=$!
        sleep 1
        taskset -c 1 target/release/shardio-load "http://127.0.0.1:$port/hot.bin" \
            -c 8 -R 2000 -d "${secs}s" --json > "$out/hot.json"
        wait "$cold"
        kill "$evictor" 2>/dev/null || true
        wait "$evictor" 2>/dev/null || true
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        python3 - "$out/hot.json" "$out/wrk.txt" "$round" "$server" >> "$out/raw.tsv" <<'PY'
import json, re, sys
hot = json.load(open(sys.argv[1]))
wrk = open(sys.argv[2]).read()
cold = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
bad = sum(n for s, n in hot["statuses"].items() if s != "200")
errors = sum(v for v in hot["errors"].values()) + bad
if "Non-2xx" in wrk or "Socket errors" in wrk or errors:
    print(f"{sys.argv[4]}: errors (hot {errors}): {wrk}", file=sys.stderr)
p = hot["latency_us"]["percentiles"]
print("\t".join(map(str, [sys.argv[3], sys.argv[4], p["p50"], p["p99"], p["p99.9"],
                          hot["requests_per_sec"], cold])))
PY
    done
done

python3 - "$out/raw.tsv" "${servers[@]}" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
servers = sys.argv[2:]
med = {}
for s in servers:
    mine = [r for r in rows if r[1] == s]
    med[s] = [statistics.median(float(r[i]) for r in mine) for i in range(2, 7)]
print(f"hot file at 2,000 req/s while 4 connections fetch evicted 128 KiB files "
      f"(medians of {len(rows) // len(servers)} rounds)")
print(f"{'server':10} {'p50 µs':>8} {'p99 µs':>9} {'p99.9 µs':>9} {'hot req/s':>9} "
      f"{'cold req/s':>10} {'p99 / nginx':>11} {'cold / nginx':>12}")
for s in servers:
    p50, p99, p999, hot, cold = med[s]
    ref = med.get("nginx")
    r99 = f"{p99 / ref[1]:.2f}x" if ref else "-"
    rc = f"{cold / ref[4]:.2f}x" if ref else "-"
    print(f"{s:10} {p50:8.0f} {p99:9.0f} {p999:9.0f} {hot:9.0f} {cold:10.0f} {r99:>11} {rc:>12}")
PY
