#!/usr/bin/env bash
# The gateway against what a user would pick instead: nginx as a reverse proxy that injects the
# team's Authorization header behind a generous limit_req, and against calling the OTS simulator
# directly. Same run, same CPU layout: the load generator is pinned to one core, the simulator and
# the proxy under test to the other. Each (target, workload) pair gets a fresh simulator (so the
# simulator's store starts empty for everyone) and a fresh proxy (for the gateway: a new ledger
# file with its default durability, audit events to a file, quotas on but far above the load).
#
#   bash bench/compare.sh                     # 64 connections, 10 s per run, paced at 3000/s
#   DURATION=5s RATE=2000 bash bench/compare.sh
#   BIN=target/profiling/ots-gateway bash bench/compare.sh   # skip the release build
#   BASELINE_BIN=/path/to/older/ots-gateway bash bench/compare.sh   # adds target "before"
#   TARGETS="direct nginx gateway gateway-v1" bash bench/compare.sh # also the gateway on upstream v1
#   ROUNDS=4 BASELINE_BIN=/path/to/older/ots-gateway bash bench/compare.sh
#                                             # every measurement 4 times, the order reversed in even
#                                             # rounds, and a summary of each figure's spread
#
# Needs: wrk (Debian `wrk`), nginx (Debian `nginx-light`), taskset (Debian `util-linux`), python3,
# and for the paced table oha (`cargo install --locked oha`). Everything listens on 127.0.0.1
# only; every process is started and stopped by its PID; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
RATE=${RATE:-3000}
ROUNDS=${ROUNDS:-1}
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
WORKLOADS=${WORKLOADS:-status share}
if [ -n "${BASELINE_BIN:-}" ]; then
  TARGETS=${TARGETS:-direct nginx before gateway}
else
  TARGETS=${TARGETS:-direct nginx gateway}
fi
NGINX=${NGINX:-/usr/sbin/nginx}
SHARE_BODY="secret=benchmark-secret-value&ttl=60"
LOADAVG_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done
[ -x "$NGINX" ] || { echo "compare.sh needs nginx at $NGINX (Debian nginx-light)" >&2; exit 1; }
HAVE_OHA=0
command -v oha >/dev/null && HAVE_OHA=1

# shellcheck source=bench/lib.sh
source bench/lib.sh
use_built_binary release

# nginx in the foreground (PID known), one worker on the server core, keep-alive to the upstream,
# the team's header injected, a per-client request limit far above the load.
start_nginx() {
  local upstream=$1 port=$2 dir=$work/nginx
  write_nginx_conf "$dir" "$upstream" "$port"
  start nginx "$NGINX" -p "$dir" -c "$dir/nginx.conf"
  wait_for_nginx "$port" "$dir"
}

start_gateway() {
  local upstream=$1 bin=${2:-$BIN} api=${3:-auto}
  gateway_env "$work/ledger.sqlite3"
  start gateway env "${GATEWAY_ENV[@]}" "OTS_GATEWAY__UPSTREAM__API=$api" \
    "$bin" serve --listen 127.0.0.1:0 --upstream "$upstream"
}

# Starts a fresh simulator and the target in front of it. Sets `url` (where to send the load),
# `auth` (the header the load generator must send itself: only when calling the simulator
# directly), `target_pid` and `simulator_pid`. Runs in this shell, not a subshell, so `pids` keeps every PID.
setup() {
  local target=$1
  rm -rf "$work/ledger.sqlite3"* "$work/audit.jsonl" "$work/nginx"
  rm -f "$work"/*.out
  start simulator "$BIN" "${SIMULATOR_ARGS[@]}"
  simulator_pid=${pids[-1]}
  local sim
  sim=$(listening_url simulator)
  auth=()
  case $target in
    direct)
      url=$sim
      auth=(-H "Authorization: $basic")
      ;;
    nginx)
      local port
      port=$(free_port)
      start_nginx "$sim" "$port"
      url="http://127.0.0.1:$port"
      ;;
    gateway)
      start_gateway "$sim"
      url=$(listening_url gateway)
      ;;
    before)
      start_gateway "$sim" "$BASELINE_BIN"
      url=$(listening_url gateway)
      ;;
    gateway-v1)
      # The same gateway told to speak v1 upstream, as nginx does: shows what the v2
      # translation (and the simulator's larger v2 answers) cost.
      start_gateway "$sim" "$BIN" v1
      url=$(listening_url gateway)
      ;;
  esac
  target_pid=${pids[-1]}
}

# CPU time (user + system, in clock ticks) used so far by a process and its children (nginx's
# worker is a child of its master). Divided by the requests served, this is the cost of a
# request, which stays meaningful when other processes compete for the cores and throughput
# does not. Measured in the paced run too: there requests mostly arrive one at a time, so
# nothing is batched and caches are cold, and a request costs far more than under saturation.
# With "user", user time alone: the kernel's share of a proxied request (the same system calls
# for nginx and the gateway) is then left out.
cpu_ticks() { # pid [user]
  local total=0 pid fields='$14 + $15'
  [ "${2:-}" = user ] && fields='$14'
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk "{ print $fields }" "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# Microseconds of CPU per request from two cpu_ticks readings.
per_request_us() { # ticks requests
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" \
    'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "?" }'
}

peak_rss_mib() { # pid
  awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# Prints "requests/s p50_ms p99_ms non2xx" for one closed-loop wrk run.
closed_loop() { # workload; uses url and auth
  local workload=$1 args=("${auth[@]}")
  [ "$workload" = share ] && args+=(-s bench/share.lua)
  local out
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${args[@]}" \
    "$url/api/v1/$workload")
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
    / requests in / { total = $1 }
    END { printf "%.0f %.3f %.3f %d %d\n", rps, p50, p99, bad + 0, total }
  ' <<<"$out"
}

# Prints "requests/s p50_ms p99_ms success_rate answered" for one paced (open-loop) oha run,
# with latency correction so a stalled request is charged for the requests it held up.
paced() { # workload; uses url and auth
  local workload=$1 args=("${auth[@]}")
  [ "$workload" = share ] && args+=(-m POST -T application/x-www-form-urlencoded -d "$SHARE_BODY")
  taskset -c "$LOAD_CPU" oha -z "$DURATION" -c "$CONNECTIONS" -q "$RATE" --latency-correction \
    --no-tui --output-format json "${args[@]}" "$url/api/v1/$workload" | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["latencyPercentiles"]
answered = sum(d.get("statusCodeDistribution", {}).values())
print("%.0f %.3f %.3f %.4f %d" % (d["summary"]["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000,
                                  d["summary"]["successRate"], answered))'
}

# Odd rounds take the targets in the order given, even rounds in reverse: in one run the target
# measured last came out slower on a path that had not changed (BENCHMARKS.md, fourth round).
round_order() { # round
  local reversed=() target
  if (($1 % 2 == 1)); then
    echo "$TARGETS"
    return
  fi
  for target in $TARGETS; do reversed=("$target" "${reversed[@]}"); done
  echo "${reversed[*]}"
}

declare -A result
measure_round() { # round
  local round=$1 workload target ticks_before ticks_after user_before user_after served
  local simulator_ticks
  for workload in $WORKLOADS; do
    for target in $(round_order "$round"); do
      setup "$target"
      # Warm up connection pools so the first measured second does not pay for them.
      taskset -c "$LOAD_CPU" wrk -t1 -c8 -d1s "${auth[@]}" "$url/api/v1/status" >/dev/null
      ticks_before=$(cpu_ticks "$target_pid")
      user_before=$(cpu_ticks "$target_pid" user)
      result[$round.$workload.$target.closed]=$(closed_loop "$workload")
      ticks_after=$(cpu_ticks "$target_pid")
      user_after=$(cpu_ticks "$target_pid" user)
      read -r _ _ _ _ served <<<"${result[$round.$workload.$target.closed]}"
      result[$round.$workload.$target.cpu]=$(per_request_us $((ticks_after - ticks_before)) "$served")
      result[$round.$workload.$target.cpu_user]=$(per_request_us $((user_after - user_before)) "$served")
      if [ "$target" != direct ] && [ "$target" != nginx ]; then
        result[$round.$workload.$target.rss]=$(peak_rss_mib "$target_pid")
        result[$round.$workload.$target.ledger]=$(python3 -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from receipts").fetchone()[0])' \
          "$work/ledger.sqlite3" 2>/dev/null || echo "?")
      fi
      stop_all
      if [ "$HAVE_OHA" = 1 ]; then
        # A fresh simulator and target again: after a closed-loop share run the simulator holds
        # hundreds of thousands of secrets, and its store's growth then stalls every target
        # alike for tens of milliseconds, which would swamp the tail this run is meant to compare.
        setup "$target"
        taskset -c "$LOAD_CPU" wrk -t1 -c8 -d1s "${auth[@]}" "$url/api/v1/status" >/dev/null
        ticks_before=$(cpu_ticks "$target_pid")
        simulator_ticks=$(cpu_ticks "$simulator_pid")
        result[$round.$workload.$target.paced]=$(paced "$workload")
        ticks_after=$(cpu_ticks "$target_pid")
        simulator_ticks=$(($(cpu_ticks "$simulator_pid") - simulator_ticks))
        read -r _ _ _ _ served <<<"${result[$round.$workload.$target.paced]}"
        result[$round.$workload.$target.paced_cpu]=$(per_request_us $((ticks_after - ticks_before)) "$served")
        if [ "$target" != direct ]; then
          result[$round.$workload.$target.paced_cpu_simulator]=$(per_request_us "$simulator_ticks" "$served")
        fi
        stop_all
      fi
    done
  done
}

# Fills result[round.workload.target.ratio|add50|add99]: throughput against nginx's, and the
# latency added to direct calls at p50 and p99, all within the same round.
derive_round() { # round
  local round=$1 workload target nginx_rps d50 d99 rps p50 p99
  for workload in $WORKLOADS; do
    read -r nginx_rps _ <<<"${result[$round.$workload.nginx.closed]:-0 0 0 0}"
    read -r _ d50 d99 _ <<<"${result[$round.$workload.direct.paced]:-0 0 0 0}"
    for target in $TARGETS; do
      read -r rps _ <<<"${result[$round.$workload.$target.closed]}"
      result[$round.$workload.$target.ratio]=$(awk -v a="$rps" -v b="$nginx_rps" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "" }')
      if [ "$HAVE_OHA" = 1 ] && [ "$target" != direct ]; then
        read -r _ p50 p99 _ <<<"${result[$round.$workload.$target.paced]}"
        result[$round.$workload.$target.add50]=$(awk -v a="$p50" -v b="$d50" 'BEGIN { printf "%+.3f", a - b }')
        result[$round.$workload.$target.add99]=$(awk -v a="$p99" -v b="$d99" 'BEGIN { printf "%+.3f", a - b }')
      fi
    done
  done
}

print_round() { # round
  local round=$1 workload target rps p50 p99 bad ok ratio added
  echo "### Round $round of $ROUNDS, targets in the order: $(round_order "$round")"
  echo
  echo "Closed loop: $CONNECTIONS connections, $DURATION per run (wrk)"
  echo
  echo "| workload | target | requests/s | vs nginx | p50 ms | p99 ms | non-2xx | CPU µs/request | of it user |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for workload in $WORKLOADS; do
    for target in $TARGETS; do
      read -r rps p50 p99 bad _ <<<"${result[$round.$workload.$target.closed]}"
      ratio=${result[$round.$workload.$target.ratio]}
      echo "| $workload | $target | $rps | ${ratio:+$ratio×} | $p50 | $p99 | $bad | ${result[$round.$workload.$target.cpu]} | ${result[$round.$workload.$target.cpu_user]} |"
    done
  done
  echo
  if [ "$HAVE_OHA" = 1 ]; then
    echo "Paced: $RATE requests/s over $CONNECTIONS connections, $DURATION per run (oha, latency-corrected)"
    echo
    echo "| workload | target | achieved/s | p50 ms | p99 ms | adds p50 ms | adds p99 ms | success | CPU µs/request (+ simulator) |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for workload in $WORKLOADS; do
      for target in $TARGETS; do
        read -r rps p50 p99 ok _ <<<"${result[$round.$workload.$target.paced]}"
        added="${result[$round.$workload.$target.add50]:-} | ${result[$round.$workload.$target.add99]:-}"
        cpu=${result[$round.$workload.$target.paced_cpu]:-}
        simulator_cpu=${result[$round.$workload.$target.paced_cpu_simulator]:-}
        echo "| $workload | $target | $rps | $p50 | $p99 | $added | $ok | $cpu${simulator_cpu:+ (+$simulator_cpu)} |"
      done
    done
  else
    echo "(paced table skipped: install oha with 'cargo install --locked oha')"
  fi
  echo
  for workload in $WORKLOADS; do
    for target in $TARGETS; do
      case $target in direct|nginx) continue ;; esac
      echo "$target after the $workload runs: peak RSS ${result[$round.$workload.$target.rss]:-?} MiB" \
        "(VmHWM), ${result[$round.$workload.$target.ledger]:-?} receipts in its ledger file"
    done
  done
  echo
}

# "lowest–highest" of one derived figure over every round.
spread() { # workload target field
  local round values=()
  for round in $(seq 1 "$ROUNDS"); do
    values+=("${result[$round.$1.$2.$3]:-}")
  done
  printf '%s\n' "${values[@]}" | awk 'NF {
      v = $1 + 0
      if (!seen++ || v < lo) { lo = v; los = $1 }
      if (seen == 1 || v > hi) { hi = v; his = $1 }
    }
    END { if (!seen) print ""; else if (los == his) print los; else print los "–" his }'
}

print_summary() {
  local workload target
  echo "### Over all $ROUNDS rounds (lowest–highest)"
  echo
  echo "| workload | target | × nginx's requests/s | CPU µs/request | of it user | adds p50 ms | adds p99 ms | paced CPU µs/request (+ simulator) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  local simulator_cpu
  for workload in $WORKLOADS; do
    for target in $TARGETS; do
      simulator_cpu=$(spread "$workload" "$target" paced_cpu_simulator)
      echo "| $workload | $target | $(spread "$workload" "$target" ratio)" \
        "| $(spread "$workload" "$target" cpu) | $(spread "$workload" "$target" cpu_user)" \
        "| $(spread "$workload" "$target" add50)" \
        "| $(spread "$workload" "$target" add99)" \
        "| $(spread "$workload" "$target" paced_cpu)${simulator_cpu:+ (+$simulator_cpu)} |"
    done
  done
  echo
}

for round in $(seq 1 "$ROUNDS"); do
  measure_round "$round"
  derive_round "$round"
done
for round in $(seq 1 "$ROUNDS"); do
  print_round "$round"
done
((ROUNDS > 1)) && print_summary
echo "machine: $(nproc) cores, load average before the run: $LOADAVG_AT_START, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU µs/request: user + system time of the target's processes during the closed-loop run"
echo "(for direct: the simulator), divided by the requests wrk completed; paced: the same during"
echo "the paced run, divided by the requests answered, and in brackets the simulator's behind it."
echo "Of it user: the user-space part alone (the system calls per request are the same for nginx"
echo "and the gateway)."
