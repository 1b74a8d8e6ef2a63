# Helpers shared by the benchmark scripts (sourced, not run).

# Processes started by the script; killed when it exits.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Resident memory of PID, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU time (user + system) of PID, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Waits until FILE contains PATTERN, for at most SECONDS.
wait_for_line() { # FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    return 1
}

# CPU ticks of PID and its children (nginx's worker, for one).
tree_ticks() { # PID
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(cpu_ticks "$p")))
    done
    echo "$total"
}

# Runs wrk on core 1 against the server PID and appends
# "ROUND SERVER SCENARIO req/s server-ticks" to TSV; errors wrk reports are
# printed to stderr.
measure() { # TSV ROUND SERVER SCENARIO PID WRK-ARGS...
    local tsv=$1 round=$2 server=$3 scenario=$4 pid=$5 before after report rps errors
    shift 5
    before=$(tree_ticks "$pid")
    report=$(taskset -c 1 wrk -t1 "$@")
    after=$(tree_ticks "$pid")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$report")
    errors=$(awk '/Non-2xx|Socket errors/' <<< "$report" | tr '\n' ' ')
    [ -z "$errors" ] || echo "$server $scenario: $errors" >&2
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$scenario" "$rps" "$((after - before))" >> "$tsv"
}
