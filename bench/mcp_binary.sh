#!/usr/bin/env bash
# MCP round trips (`secret_status`, `share_secret`) through a real `ots-gateway` binary, on stdio
# (`ots-gateway mcp`) and on Streamable HTTP (`serve`'s /mcp), against the simulator:
#
#   bash bench/mcp_binary.sh                                  # 1000 calls each, this build
#   BIN=target/pgo/release/ots-gateway BASELINE_BIN=target/release/ots-gateway ROUNDS=2 \
#     bash bench/mcp_binary.sh                                # two builds, alternating
#
# Each round starts a fresh simulator and gateway per build (the order reversed in even rounds),
# the client (bench/mcp_binary.py) on CPU LOAD_CPU, the simulator and both servers on
# SERVER_CPU, as compare.sh lays them out. Needs python3 and taskset. Loopback only; processes
# started and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS=${CALLS:-1000}
ROUNDS=${ROUNDS:-1}
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
for tool in python3 taskset; do
  command -v "$tool" >/dev/null || { echo "mcp_binary.sh needs $tool" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
source bench/lib.sh
use_built_binary release

builds=("gateway=$BIN")
[ -n "${BASELINE_BIN:-}" ] && builds=("before=$BASELINE_BIN" "${builds[@]}")

measure() { # label binary
  local label=$1 binary=$2
  start_simulator_and_gateway "$binary" "$work/$label-ledger.sqlite3"
  gateway_env "$work/$label-mcp-ledger.sqlite3"
  taskset -c "$LOAD_CPU" python3 bench/mcp_binary.py "$CALLS" "$GATEWAY_URL" \
    taskset -c "$SERVER_CPU" env "${GATEWAY_ENV[@]}" "$binary" mcp --upstream "$SIMULATOR_URL" \
    2>"$work/$label-mcp.err" | sed "s/^/$label /"
  stop_all
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round"
  order=("${builds[@]}")
  if (( round % 2 == 0 )); then
    order=(); for (( i=${#builds[@]}-1; i>=0; i-- )); do order+=("${builds[i]}"); done
  fi
  for build in "${order[@]}"; do
    measure "${build%%=*}" "${build#*=}"
  done
done
