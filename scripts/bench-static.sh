#!/usr/bin/env bash
# shardio-serve against nginx (one worker, sendfile, tcp_nopush,
# open_file_cache, no access log), both on core 0, wrk on core 1, serving
# files of 4 KiB (64 connections), 1 MiB (16) and 64 MiB (4). Reports
# requests/s, MiB/s and server CPU seconds per GiB sent (utime+stime of
# every server process from /proc), medians of interleaved rounds, and the
# ratios. nginx comes from Debian (nginx-light), installed if missing.
# A third server, shardio-http's `from_memory` example, answers the 4 KiB
# run with the same number of bytes from memory (no file at all): the
# floor for a small-file response through shardio-http on this machine
# (the same stack with no file, no cache and no zero-copy path), and so
# about the best ratio to nginx a file server built on it could reach.
# Then compression on the fly: a 128 KiB HTML page (words drawn from a
# small vocabulary, about 4x compressible) asked for with
# `Accept-Encoding: gzip` on 16 connections, shardio-serve `--gzip 1`
# and `--gzip 2` against nginx `gzip on` at `gzip_comp_level 1` (nginx's
# default level), neither with a precompressed sibling: requests per
# server CPU-second, and the size each sends (flate2's level 1 packs less
# tightly than zlib's; its level 2 tighter, so the two shardio runs
# bracket nginx's output size).
# Usage: scripts/bench-static.sh [SECS] [ROUNDS]     (defaults 5 3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
rounds="${2:-3}"
ulimit -n "$(ulimit -Hn)"
if ! command -v nginx >/dev/null && [ -x /usr/sbin/nginx ]; then PATH="$PATH:/usr/sbin"; fi
if ! command -v nginx >/dev/null; then
    echo "installing nginx-light" >&2
    apt-get install -y -q nginx-light >/dev/null
    PATH="$PATH:/usr/sbin"
fi
for tool in taskset wrk python3 curl nginx; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install util-linux wrk python3 curl nginx-light)" >&2; exit 1; }
done
cargo build --release -q -p shardio-http --bin shardio-serve --example from_memory
out="$PWD/target/bench-static"
www="$out/www"
mkdir -p "$www" "$out/nginx"
head -c 4096 /dev/urandom > "$www/4k.bin"
head -c $((1 << 20)) /dev/urandom > "$www/1m.bin"
head -c $((64 << 20)) /dev/urandom > "$www/64m.bin"
python3 - "$www/page.html" <<'PY'
import random, sys
words = ("the of and to in shard ring request answer header body file socket "
         "kernel buffer core thread queue event timer page cache server client").split()
rng = random.Random(7)
out = ["<!doctype html><html><body>\n"]
size = len(out[0])
while size < (128 << 10) - 64:
    line = "<p>" + " ".join(rng.choice(words) for _ in range(12)) + "</p>\n"
    out.append(line)
    size += len(line)
out.append("</body></html>\n")
open(sys.argv[1], "w").write("".join(out))
PY
: > "$out/raw.tsv"
source scripts/lib.sh


start_server() { # NAME PORT -> sets $server_pid
    case "$1" in
    shardio | shardio-gzip | shardio-gzip2)
        local gzip=()
        case "$1" in
        shardio-gzip) gzip=(--gzip 1) ;;
        shardio-gzip2) gzip=(--gzip 2) ;;
        esac
        taskset -c 0 target/release/shardio-serve "$www" --addr "127.0.0.1:$2" --shards 1 \
            "${gzip[@]}" > "$out/$1.log" 2>&1 &
        server_pid=$!
        pids+=("$server_pid")
        wait_for_line "$out/$1.log" serving 5
        ;;
    memory)
        taskset -c 0 target/release/examples/from_memory --addr "127.0.0.1:$2" --size 4096 \
            > "$out/$1.log" 2>&1 &
        server_pid=$!
        pids+=("$server_pid")
        wait_for_line "$out/$1.log" serving 5
        ;;
    nginx | nginx-gzip)
        local extra=""
        [ "$1" = nginx ] || extra="gzip on; gzip_comp_level 1; gzip_types text/html;"
        nginx_conf "$out" "$www" "$2" "$extra" > "$out/nginx/nginx.conf"
        taskset -c 0 nginx -c "$out/nginx/nginx.conf" > "$out/$1.log" 2>&1 &
        server_pid=$!
        pids+=("$server_pid")
        for _ in $(seq 50); do
            curl -sf -o /dev/null "http://127.0.0.1:$2/4k.bin" && break
            sleep 0.1
        done
        ;;
    esac
}

port=9400
for round in $(seq "$rounds"); do
    for server in shardio nginx memory shardio-gzip shardio-gzip2 nginx-gzip; do
        port=$((port + 1))
        start_server "$server" "$port"
        taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/4k.bin" > /dev/null   # warm-up
        case "$server" in
        memory) files=(4k) ;;
        *-gzip*) files=() ;;
        *) files=(4k 1m 64m) ;;
        esac
        if [[ "$server" = *-gzip* ]]; then
            curl -s --compressed -o "$out/$server.page" -w '%{size_download}' \
                -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/page.html" > "$out/$server.size"
            cmp -s "$out/$server.page" "$www/page.html" || { echo "$server: the page decoded differs" >&2; exit 1; }
            measure "$out/raw.tsv" "$round" "$server" page "$server_pid" \
                -c16 -d"${secs}s" -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/page.html"
        fi
        for file in "${files[@]}"; do
            case "$file" in
            4k) conns=64 ;;
            1m) conns=16 ;;
            64m) conns=4 ;;
            esac
            measure "$out/raw.tsv" "$round" "$server" "$file" "$server_pid" \
                -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/$file.bin"
        done
        kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    done
done

python3 - "$out/raw.tsv" "$secs" "$(getconf CLK_TCK)" "$out" > "$out/results.md" <<'PY'
import sys, statistics as st
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
secs, tck = float(sys.argv[2]), float(sys.argv[3])
size = {"4k": 4096, "1m": 1 << 20, "64m": 64 << 20, "page": 128 << 10}
cell = {}
for _, server, f, rps, ticks in rows:
    rps = float(rps); cpu = float(ticks) / tck
    gib = rps * secs * size[f] / (1 << 30)
    cell.setdefault((server, f), []).append((rps, rps * size[f] / (1 << 20), cpu / gib, cpu / secs))
m = lambda xs, i: st.median(x[i] for x in xs)
print("| file | shardio req/s | nginx req/s | shardio MiB/s | nginx MiB/s | shardio CPU-s/GiB | nginx CPU-s/GiB "
      "| ratio req/s | ratio CPU/GiB | server CPU use (shardio / nginx) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for f in ["4k", "1m", "64m"]:
    s = cell[("shardio", f)]; n = cell[("nginx", f)]
    print(f"| {f} | {m(s,0):,.0f} | {m(n,0):,.0f} | {m(s,1):,.0f} | {m(n,1):,.0f} | {m(s,2):.3f} | {m(n,2):.3f} "
          f"| {m(s,0)/m(n,0):.2f}x | {m(s,2)/m(n,2):.2f}x | {m(s,3):.2f} / {m(n,3):.2f} |")
f = cell[("memory", "4k")]; n = cell[("nginx", "4k")]
print()
print(f"4 KiB from memory (shardio-http, no file): {m(f,0):,.0f} req/s, {m(f,0)/m(n,0):.2f}x nginx's 4 KiB file, "
      f"{m(f,2):.3f} CPU-s/GiB ({m(f,2)/m(n,2):.2f}x); shardio-serve reaches {m(cell[('shardio','4k')],0)/m(f,0):.0%} of it.")
print()
print("| 128 KiB page, gzip on the fly | req/s | requests per server CPU-s | bytes sent per page | server CPU use |")
print("|---|---|---|---|---|")
per_cpu = {}
for server in ["shardio-gzip", "shardio-gzip2", "nginx-gzip"]:
    xs = cell[(server, "page")]
    per_cpu[server] = st.median(x[0] / x[3] for x in xs)
    sent = open(f"{sys.argv[4]}/{server}.size").read().strip()
    print(f"| {server} | {m(xs,0):,.0f} | {per_cpu[server]:,.0f} | {int(sent):,} | {m(xs,3):.2f} |")
print()
for server in ["shardio-gzip", "shardio-gzip2"]:
    print(f"ratio, requests per server CPU-s: {server} {per_cpu[server] / per_cpu['nginx-gzip']:.2f}x nginx")
PY
cat "$out/results.md"
echo "results: $out/results.md"
