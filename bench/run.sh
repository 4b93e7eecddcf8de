#!/usr/bin/env bash
# Measures what the gateway adds on top of an OTS server: status and share, sent through the
# gateway to the simulator served over HTTP, versus sent straight to that simulator, in one run
# on this machine. Also reports the gateway's peak resident memory.
#
#   bash bench/run.sh                      # defaults: 64 connections, 2 wrk threads, 10 s each
#   CONNECTIONS=16 DURATION=5s bash bench/run.sh
#
# Needs wrk (Debian package `wrk`; installed here if missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
ACCOUNT_USER=bench@example.com
ACCOUNT_TOKEN=bench-token-not-secret

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq wrk
fi
cargo build --release --locked -p ots-gateway >&2
BIN=${CARGO_TARGET_DIR:-target}/release/ots-gateway
work=$(mktemp -d)
# `start` runs in a command substitution (a subshell), so it records each server's pid in a file
# that cleanup reads, rather than in a variable the parent would never see.
cleanup() {
  for pidfile in "$work"/*.pid; do
    [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background and prints the URL from its "listening on" line.
start() {
  local log=$1; shift
  "$@" >"$work/$log.out" 2>"$work/$log.err" &
  echo $! >"$work/$log.pid"
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$work/$log.out" 2>/dev/null; then
      sed -n 's/^listening on //p' "$work/$log.out" | head -n1
      return
    fi
    sleep 0.1
  done
  echo "$log did not start" >&2; cat "$work/$log.err" >&2; exit 1
}

sim_url=$(start simulator "$BIN" simulate --listen 127.0.0.1:0 --max-entries 2000000 --account "$ACCOUNT_USER:$ACCOUNT_TOKEN")
# Quotas stay on, so their cost is measured, but set far above what the load can reach: the
# benchmark measures the gateway's overhead, not its refusals. The ledger is a real file.
huge='{ per_minute = 1000000000, burst = 1000000 }'
gw_url=$(OTS_GATEWAY_USERNAME=$ACCOUNT_USER OTS_GATEWAY_API_KEY=$ACCOUNT_TOKEN \
  OTS_GATEWAY__LOG__LEVEL=warn OTS_GATEWAY__SERVER__MAX_CONCURRENT_REQUESTS=1024 \
  OTS_GATEWAY__UPSTREAM__BUDGET="$huge" OTS_GATEWAY__REST__QUOTA_CREATE="$huge" \
  OTS_GATEWAY__REST__QUOTA_MANAGE="$huge" OTS_GATEWAY__LEDGER__PATH="$work/ledger.sqlite3" \
  start gateway "$BIN" serve --listen 127.0.0.1:0 --upstream "$sim_url")
gw_pid=$(cat "$work/gateway.pid")
basic="Authorization: Basic $(printf '%s' "$ACCOUNT_USER:$ACCOUNT_TOKEN" | base64 -w0)"

# Prints "requests/s p50_ms p99_ms non2xx" for one wrk run.
measure() {
  local url=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
  echo "$out" >>"$work/wrk.log"
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }
  ' <<<"$out"
}

# Warm up connection pools and caches so the first measured run is not penalised.
wrk -t1 -c8 -d2s "$gw_url/api/v1/status" >/dev/null

table() {
echo "| operation | path | requests/s | p50 ms | p99 ms | non-2xx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for op in status share; do
  args=()
  [ "$op" = share ] && args=(-s bench/share.lua)
  read -r rps p50 p99 bad < <(measure "$sim_url/api/v1/$op" -H "$basic" "${args[@]}")
  direct_p50=$p50; direct_p99=$p99
  echo "| $op | simulator directly | $rps | $p50 | $p99 | $bad |"
  read -r rps p50 p99 bad < <(measure "$gw_url/api/v1/$op" "${args[@]}")
  echo "| $op | through the gateway | $rps | $p50 | $p99 | $bad |"
  awk -v a="$p50" -v b="$direct_p50" -v c="$p99" -v d="$direct_p99" -v op="$op" \
    'BEGIN { printf "| %s | gateway adds | | %.3f | %.3f | |\n", op, a - b, c - d }'
done
}

echo "### $CONNECTIONS connections (closed loop: latency includes queueing at saturation)"
echo
table
echo
echo "### 1 connection (no queueing: the latency one request pays)"
echo
CONNECTIONS=1 THREADS=1 table
echo
# Open loop: a fixed request rate over the same connections, so latency is what a request pays
# below saturation rather than queueing (oha from crates.io: `cargo install --locked oha`).
if command -v oha >/dev/null 2>&1; then
  open_loop() { # url rate [oha args...]
    local url=$1 rate=$2; shift 2
    oha -z "$DURATION" -c "$CONNECTIONS" -q "$rate" --latency-correction --no-tui \
      --output-format json "$@" "$url" | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["latencyPercentiles"]
print("%.0f %.3f %.3f %.4f" % (d["summary"]["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000, d["summary"]["successRate"]))'
  }
  share_args=(-m POST -T application/x-www-form-urlencoded -d "secret=benchmark-secret-value&ttl=60")
  echo
  echo "### $CONNECTIONS connections, open loop at fixed rates (oha, latency-corrected)"
  echo
  echo "| operation | rate/s | direct p50 ms | gateway p50 ms | direct p99 ms | gateway p99 ms | adds p50 | adds p99 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for rate in ${RATES:-1000 2000}; do
    for op in status share; do
      args=()
      [ "$op" = share ] && args=("${share_args[@]}")
      read -r _ d50 d99 _ < <(open_loop "$sim_url/api/v1/$op" "$rate" -H "$basic" "${args[@]}")
      read -r _ g50 g99 _ < <(open_loop "$gw_url/api/v1/$op" "$rate" "${args[@]}")
      awk -v op="$op" -v r="$rate" -v d50="$d50" -v g50="$g50" -v d99="$d99" -v g99="$g99" \
        'BEGIN { printf "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", op, r, d50, g50, d99, g99, g50 - d50, g99 - d99 }'
    done
  done
else
  echo
  echo "(open-loop table skipped: install oha with 'cargo install --locked oha')"
fi
echo
peak_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$gw_pid/status")
echo "gateway peak RSS: $((peak_kib / 1024)) MiB ($peak_kib KiB, VmHWM)"
echo "settings: $CONNECTIONS connections, $THREADS wrk threads, $DURATION per run, $(nproc) cores"
