#!/usr/bin/env bash
# Counts the instructions the gateway executes per request, with valgrind's callgrind, and lists
# where they go. Unlike wall-clock benchmarks this barely moves when other processes load the
# machine, so it can compare two builds on a busy box. It counts user-space instructions only
# (system calls show as one instruction each; their kernel time is not seen).
#
#   bash bench/instructions.sh                   # status and share, 2000 requests each
#   REQUESTS=500 WORKLOADS=share bash bench/instructions.sh
#   BIN=/path/to/other/ots-gateway bash bench/instructions.sh   # compare another build
#   BIN=/path/to/old/ots-gateway SIMULATOR_BIN=target/profiling/ots-gateway \
#     bash bench/instructions.sh   # a build older than `simulate --reserve-entries`
#   KEEP_IN=/tmp/cg bash bench/instructions.sh   # keep callgrind.<workload> there, e.g. for
#     callgrind_annotate --inclusive=yes --tree=caller /tmp/cg/callgrind.share
#   CALLGRIND_OPTS=--cache-sim=yes bash bench/instructions.sh   # cache misses too (simulated)
#   TARGETS="nginx gateway" bash bench/instructions.sh   # nginx too, as compare.sh sets it up
#     (one process: `master_process off`); its files are kept as callgrind.nginx-<workload>
#
# Needs valgrind (Debian `valgrind`) and python3; for the nginx target nginx (Debian
# `nginx-light`) and curl. Builds the `profiling` profile (release code
# with symbols). The gateway runs under callgrind; the simulator runs natively. Loopback only;
# every process is started and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
WORKLOADS=${WORKLOADS:-status share}
# Concurrent client connections: shares sent together are what a group commit batches.
CLIENTS=${CLIENTS:-16}
TOP=${TOP:-25}
TARGETS=${TARGETS:-gateway}
NGINX=${NGINX:-/usr/sbin/nginx}

# shellcheck source=bench/lib.sh
source bench/lib.sh
use_built_binary profiling

# Sends `count` requests over `clients` keep-alive connections and fails on any non-200.
load() { # url workload count clients
  python3 - "$@" <<'EOF'
import http.client, sys, threading, urllib.parse
url, workload, count, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parts = urllib.parse.urlsplit(url)
if workload == "share":
    method, body = "POST", "secret=benchmark-secret-value&ttl=60"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
else:
    method, body, headers = "GET", None, {}
failures = []
def client(n):
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    for _ in range(n):
        conn.request(method, "/api/v1/" + workload, body, headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            failures.append(reply.status)
threads = [threading.Thread(target=client, args=(count // clients,)) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
if failures:
    sys.exit(f"{len(failures)} requests failed, e.g. {failures[0]}")
EOF
}

# The simulator runs natively and is not counted, so any build that knows its arguments will do.
"${SIMULATOR_BIN:-$BIN}" "${SIMULATOR_ARGS[@]}" >"$work/simulator.out" 2>"$work/simulator.err" &
pids+=($!)
sim=$(listening_url simulator 60)

# Starts TARGET under callgrind, counting nothing yet; sets `counted_pid` and `url`.
start_counted() { # target workload out-file
  local target=$1 workload=$2 out=$3
  local callgrind=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out"
    ${CALLGRIND_OPTS:-})
  case $target in
    gateway)
      gateway_env "$work/ledger-$workload.sqlite3"
      env "${GATEWAY_ENV[@]}" "${callgrind[@]}" "$BIN" serve --listen 127.0.0.1:0 \
        --upstream "$sim" >"$work/gateway.out" 2>"$work/gateway.err" &
      counted_pid=$!
      pids+=("$counted_pid")
      url=$(listening_url gateway 60)
      ;;
    nginx)
      local port dir=$work/nginx-$workload
      port=$(free_port)
      write_nginx_conf "$dir" "$sim" "$port" "master_process off;"
      "${callgrind[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" >"$work/nginx.out" 2>"$work/nginx.err" &
      counted_pid=$!
      pids+=("$counted_pid")
      wait_for_nginx "$port" "$dir" 60
      url="http://127.0.0.1:$port"
      ;;
    *) echo "unknown target $target (gateway, nginx)" >&2; exit 1 ;;
  esac
}

for target in $TARGETS; do
for workload in $WORKLOADS; do
  name=$workload
  [ "$target" = gateway ] || name=$target-$workload
  out=$work/callgrind.$name
  start_counted "$target" "$workload" "$out"
  load "$url" "$workload" 200 "$CLIENTS"             # warm-up, not counted
  callgrind_control --instr=on "$counted_pid" >/dev/null 2>&1
  load "$url" "$workload" "$REQUESTS" "$CLIENTS"
  callgrind_control --instr=off "$counted_pid" >/dev/null 2>&1
  kill "$counted_pid"
  wait "$counted_pid" 2>/dev/null || true
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen++ { gsub(",", "", $1); print $1 }')
  echo "### $target, $workload: $REQUESTS requests over $CLIENTS connections"
  echo
  echo "instructions per request: $(( total / REQUESTS ))"
  echo
  echo '```'
  callgrind_annotate --threshold=100 "$out" 2>/dev/null \
    | awk '/^-+$/ { dashes++ } dashes >= 3' | sed -n "3,$((TOP + 2))p" | cut -c1-160 || true
  echo '```'
  echo
  if [[ -n ${KEEP_IN:-} ]]; then
    mkdir -p "$KEEP_IN"
    cp "$out" "$KEEP_IN/callgrind.$name"
  fi
done
done
