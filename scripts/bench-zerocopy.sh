#!/usr/bin/env bash
# How file bodies should go into sockets: serves files of 4 KiB, 64 KiB,
# 1 MiB and 64 MiB from the page cache over loopback, by each strategy
# (pread + send, sendfile, splice through the ring, SEND_ZC from a buffer,
# and a plain send of that buffer for reference), server on core 0 and the
# reading client on core 1. Reports requests/s, MiB/s and the server's CPU
# seconds per GiB (user + system, io_uring workers included), with ratios
# against pread + send measured in the same run. A second table repeats
# the small sizes with a 200-byte response head in front of each body.
# Each cell is the median of ROUNDS runs, interleaved across strategies.
# Usage: scripts/bench-zerocopy.sh [SECONDS_PER_RUN] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-2}"
rounds="${2:-3}"
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release -q -p shardio-benches --bin zerocopy-strategies
bin=target/release/zerocopy-strategies
out="target/bench-zerocopy"
mkdir -p "$out"
port=9210
tck=$(getconf CLK_TCK)
server=
cleanup() { [[ -n "$server" ]] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 0 "$bin" server --addr "127.0.0.1:$port" --dir "${TMPDIR:-/tmp}" > "$out/server.log" 2>&1 &
server=$!
for ((i = 0; i < 100; i++)); do
    grep -q listening "$out/server.log" 2>/dev/null && break
    sleep 0.1
done
grep -q listening "$out/server.log" || { cat "$out/server.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# run SIZE HEAD STRATEGY -> "req_per_s mib_per_s cpu_s_per_gib"
run() {
    local size=$1 head=$2 strategy=$3 conns=4
    ((size >= 64 << 20)) && conns=2
    taskset -c 1 "$bin" client --addr "127.0.0.1:$port" --strategy "$strategy" --size "$size" \
        --head "$head" --conns "$conns" --secs 0.5 > /dev/null
    local before after line
    before=$(cpu_ticks)
    line=$(taskset -c 1 "$bin" client --addr "127.0.0.1:$port" --strategy "$strategy" --size "$size" \
        --head "$head" --conns "$conns" --secs "$secs")
    after=$(cpu_ticks)
    echo "$line" | awk -v t0="$before" -v t1="$after" -v tck="$tck" -v size="$size" -v head="$head" '{
        req = $2; secs = $6; gib = req * (size + head) / 1073741824;
        cpu = (t1 - t0) / tck;
        printf "%.0f %.1f %.3f\n", req / secs, req * (size + head) / 1048576 / secs, (gib > 0 ? cpu / gib : 0)
    }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

table() { # TITLE HEAD SIZES...
    local title=$1 head=$2
    shift 2
    printf '\n%s\n\n| size | strategy | requests/s | MiB/s | server CPU s/GiB | MiB/s vs copy | CPU/GiB vs copy |\n|---|---|---|---|---|---|---|\n' "$title"
    local size strategy rep
    local strategies=(copy sendfile splice send-zc send-buf)
    ((head > 0)) && strategies=(copy sendfile splice)
    for size in "$@"; do
        declare -A cells=()
        # Rounds interleave the strategies, so slow spells of the machine
        # spread over all of them; each cell is the median of its rounds.
        for ((rep = 0; rep < rounds; rep++)); do
            for strategy in "${strategies[@]}"; do
                cells[$strategy]+="$(run "$size" "$head" "$strategy")"$'\n'
            done
        done
        local base_mibs= base_cpu=
        for strategy in "${strategies[@]}"; do
            local rps mibs cpu
            rps=$(printf '%s' "${cells[$strategy]}" | awk 'NF { print $1 }' | median)
            mibs=$(printf '%s' "${cells[$strategy]}" | awk 'NF { print $2 }' | median)
            cpu=$(printf '%s' "${cells[$strategy]}" | awk 'NF { print $3 }' | median)
            [[ -z "$base_mibs" ]] && base_mibs=$mibs base_cpu=$cpu
            awk -v s="$size" -v st="$strategy" -v r="$rps" -v m="$mibs" -v c="$cpu" \
                -v bm="$base_mibs" -v bc="$base_cpu" 'BEGIN {
                label = s >= 1048576 ? s / 1048576 " MiB" : s / 1024 " KiB";
                printf "| %s | %s | %d | %.1f | %.3f | %.2f | %.2f |\n", label, st, r, m, c, m / bm, (bc > 0 ? c / bc : 0)
            }'
        done
        unset cells
    done
}

{
    echo "# Zero-copy strategies ($(date -u +%F), $(nproc) cores, kernel $(uname -r), median of ${rounds} runs of ${secs}s per cell)"
    table "## Bodies alone" 0 4096 65536 1048576 67108864
    table "## With a 200-byte head (send_with_head)" 200 4096 65536 1048576
} | tee "$out/results.md"
