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
#
# Needs valgrind (Debian `valgrind`) and python3. Builds the `profiling` profile (release code
# with symbols). The gateway runs under callgrind; the simulator runs natively. Loopback only;
# every process is started and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
WORKLOADS=${WORKLOADS:-status share}
# Concurrent client connections: shares sent together are what a group commit batches.
CLIENTS=${CLIENTS:-16}
TOP=${TOP:-25}

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

for workload in $WORKLOADS; do
  out=$work/callgrind.$workload
  gateway_env "$work/ledger-$workload.sqlite3"
  env "${GATEWAY_ENV[@]}" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$BIN" serve --listen 127.0.0.1:0 --upstream "$sim" >"$work/gateway.out" 2>"$work/gateway.err" &
  gw_pid=$!
  pids+=("$gw_pid")
  gw=$(listening_url gateway 60)
  load "$gw" "$workload" 200 "$CLIENTS"             # warm-up, not counted
  callgrind_control --instr=on "$gw_pid" >/dev/null 2>&1
  load "$gw" "$workload" "$REQUESTS" "$CLIENTS"
  callgrind_control --instr=off "$gw_pid" >/dev/null 2>&1
  kill "$gw_pid"
  wait "$gw_pid" 2>/dev/null || true
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen++ { gsub(",", "", $1); print $1 }')
  echo "### $workload: $REQUESTS requests over $CLIENTS connections"
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
    cp "$out" "$KEEP_IN/callgrind.$workload"
  fi
done
