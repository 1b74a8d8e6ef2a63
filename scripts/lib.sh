# Helpers shared by the benchmark scripts (sourced, not run).

# Processes started by the script; killed when it exits.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Resident memory of PID, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU time (user + system) of PID, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The host's CPU ticks, all cores: "STEAL TOTAL" (steal is time a virtual
# machine's cores were runnable but the hypervisor ran something else; a
# busy neighbour shows up here, and in every measurement taken meanwhile).
host_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t}' /proc/stat; }

# The share of the host's CPU time stolen since host_ticks gave STEAL
# TOTAL, in per mille.
steal_since() { # STEAL TOTAL
    local steal host
    read -r steal host < <(host_ticks)
    echo $(( (steal - $1) * 1000 / (host - $2 + 1) ))
}

# A run with less steal than this (per mille) ran on a quiet host.
quiet_steal=20

# Waits, for at most SECONDS, until a second passes with a quiet host, so
# that a run starts on one; says so on stderr when it gives up (the run
# goes ahead, and its steal is recorded).
wait_for_quiet_host() { # SECONDS
    local i ticks
    for ((i = 0; i < $1; i++)); do
        ticks=$(host_ticks)
        sleep 1
        (( $(steal_since $ticks) < quiet_steal )) && return 0
    done
    echo "the host stayed busy for $1 s (steal over $((quiet_steal / 10)) %); measuring anyway" >&2
}

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

# Installs Debian PACKAGE if COMMAND is missing (as root), or says what to
# install and fails.
need() { # COMMAND PACKAGE
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing $2" >&2
        apt-get install -y -q "$2" >/dev/null
    fi
    command -v "$1" >/dev/null || { echo "$1 is needed (apt-get install $2)" >&2; exit 1; }
}

# Draws latency-by-percentile lines from .hgrm files (shardio-load --hgrm)
# into an SVG with gnuplot: log-scale percentile axis (90%, 99%, 99.9%...),
# log-scale latency axis, one line per file.
plot_hgrm() { # SVG TITLE FILE LABEL [FILE LABEL]...
    local svg=$1 title=$2 lines=()
    shift 2
    while [ $# -gt 0 ]; do
        lines+=("'$1' skip 2 using 4:1 with lines lw 2 title '$2'")
        shift 2
    done
    local IFS=,
    gnuplot <<GP
set terminal svg size 900,540 dynamic background rgb 'white' font 'sans,12'
set output '$svg'
set title '$title'
set logscale xy
set xrange [1:100000]
set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)
set format y '%g'
set xlabel 'percentile'
set ylabel 'latency (ms)'
set grid xtics ytics mytics
set key top left box opaque
plot ${lines[*]}
GP
}

# A field of the JSON report FILE (shardio-load --json), by a Python
# subscript path such as "['latency_us']['percentiles']['p99']".
json_field() { # FILE PATH
    python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"
}

# The load of each HTTP hello scenario of bench-compare.sh and
# bench-scaling.sh, as shardio-load arguments, into the array `args`:
# plaintext with 64 and 256 connections, and pipelined (16 requests per
# write, 64 connections).
hello_scenarios=(c64 c256 pipe16)
scenario_args() { # SCENARIO -> sets args
    case "$1" in
    c64) args=(-c 64) ;;
    c256) args=(-c 256) ;;
    pipe16) args=(-c 64 --pipeline 16) ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
    esac
}

# Waits until something accepts connections on 127.0.0.1:PORT.
wait_for_port() { # PORT SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1 after $2 s" >&2
    return 1
}

# Writes a wrk script that sends 16 pipelined `GET /` per write to FILE.
wrk_pipeline_script() { # FILE
    cat > "$1" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
LUA
}

idle_rss_row() { # RESULTS LABEL SERVER_PID CONNS CLIENT_LOG CLIENT_CMD...
    # Appends `| LABEL | RSS before | RSS after | bytes per connection |`:
    # the server's RSS before CLIENT_CMD opens CONNS idle connections, and
    # a second (IDLE_SETTLE seconds) after it prints `ready`. Stops the client; the caller stops
    # the server.
    local results="$1" label="$2" server_pid="$3" conns="$4" log="$5"
    shift 5
    local before after client
    before=$(rss_kib "$server_pid")
    "$@" > "$log" 2>&1 &
    client=$!
    pids+=("$client")
    wait_for_line "$log" ready 90
    sleep "${IDLE_SETTLE:-1}"
    after=$(rss_kib "$server_pid")
    printf '| %s | %s | %s | %s |\n' "$label" "$before" "$after" "$(( (after - before) * 1024 / conns ))" \
        >> "$results"
    kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
}

# nginx's best static configuration, as the scripts compare against it:
# one worker, sendfile, tcp_nopush, an open-file cache, no access log,
# unlimited keep-alive requests; its files under $out/nginx.
nginx_conf() { # OUT ROOT PORT [EXTRA-HTTP-DIRECTIVES]
    cat <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $1/nginx/nginx.pid;
error_log $1/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    open_file_cache max=2000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    client_body_temp_path $1/nginx/body;
    proxy_temp_path $1/nginx/proxy;
    fastcgi_temp_path $1/nginx/fastcgi;
    uwsgi_temp_path $1/nginx/uwsgi;
    scgi_temp_path $1/nginx/scgi;
    types { application/octet-stream bin; text/html html; }
    ${4:-}
    server {
        listen 127.0.0.1:$3;
        root $2;
    }
}
CONF
}
