#!/usr/bin/env bash
# Builds ots-gateway with profile-guided optimisation (PGO), the build BENCHMARKS.md measures
# beside the plain one:
#
#   bash bench/pgo_build.sh                      # → target/pgo/release/ots-gateway
#   PROFILE=profiling bash bench/pgo_build.sh    # → target/pgo/profiling/ots-gateway (symbols)
#
# Three steps: a build that records which code runs (rustc's -Cprofile-generate), a training
# run of that build (bench/pgo_train.py: every REST endpoint, bursts of status and share, the MCP
# tools on both transports, all against the simulator), and a build that lays code out and
# inlines by what the training recorded (-Cprofile-use). Each build has its own target directory,
# since different RUSTFLAGS rebuild every crate: about 7 minutes per build from scratch on 2 cores.
#
# Needs llvm-profdata of the same LLVM as rustc: rustup's `llvm-tools` component
# (`rustup component add llvm-tools`), or LLVM_PROFDATA=/path/to/llvm-profdata. And python3.
# Loopback only; every process is started and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-release}
TRAIN_TARGET=${TRAIN_TARGET:-target/pgo-train}
OUT_TARGET=${OUT_TARGET:-target/pgo}

host=$(rustc -vV | sed -n 's/^host: //p')
PROFDATA=${LLVM_PROFDATA:-$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata}
if [ ! -x "$PROFDATA" ]; then
  echo "pgo_build.sh needs llvm-profdata: rustup component add llvm-tools" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "pgo_build.sh needs python3" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source bench/lib.sh

# RUSTFLAGS replaces any rustflags from cargo configuration; this workspace sets none. The
# counts go to a fixed place, so that the flags, and with them the instrumented build, stay the
# same from one run to the next.
profiles=$(realpath -m "$TRAIN_TARGET/pgo-profiles")
rm -rf "$profiles"
RUSTFLAGS="-Cprofile-generate=$profiles" \
  cargo build --profile "$PROFILE" --locked -p ots-gateway --target-dir "$TRAIN_TARGET" >&2
trainee=$TRAIN_TARGET/$PROFILE/ots-gateway

# The simulator runs the instrumented binary too, but its counts would describe the simulator's
# code, not the gateway's: they go elsewhere and are dropped.
start_simulator_and_gateway "$trainee" "$work/ledger.sqlite3" \
  LLVM_PROFILE_FILE="$work/discarded/%p.profraw"
gateway_env "$work/mcp-ledger.sqlite3"
echo "training on $GATEWAY_URL" >&2
if ! python3 bench/pgo_train.py "$GATEWAY_URL" env "${GATEWAY_ENV[@]}" "$trainee" mcp \
  --upstream "$SIMULATOR_URL" >&2 2>"$work/training.err"; then
  cat "$work/training.err" >&2
  exit 1
fi
# SIGTERM: the gateway shuts down cleanly and writes its counts on the way out.
stop_all
shopt -s nullglob
recorded=("$profiles"/*.profraw)
if [ "${#recorded[@]}" -lt 2 ]; then
  echo "the training run left ${#recorded[@]} profiles (expected serve's and mcp's)" >&2
  exit 1
fi
"$PROFDATA" merge -o "$work/merged.profdata" "${recorded[@]}"

# The merged counts' path is new on every run, so this build always starts over with them.

RUSTFLAGS="-Cprofile-use=$work/merged.profdata" \
  cargo build --profile "$PROFILE" --locked -p ots-gateway --target-dir "$OUT_TARGET" >&2
echo "$OUT_TARGET/$PROFILE/ots-gateway"
