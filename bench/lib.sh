# Shared by the bench scripts (sourced, not run): the binary under test, and processes started
# and stopped by their PIDs with their output in a scratch directory that is removed on exit.

# Sets BIN to a fresh build of PROFILE unless BIN is already given.
use_built_binary() { # profile
  if [ -z "${BIN:-}" ]; then
    cargo build --profile "$1" --locked -p ots-gateway >&2
    BIN=${CARGO_TARGET_DIR:-target}/$1/ots-gateway
  fi
}

work=$(mktemp -d)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
# KEEP=1 keeps the scratch directory (callgrind output, logs) for a closer look.
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# start NAME CMD...: runs CMD in the background, on SERVER_CPU if that is set, with its output in
# $work/NAME.out and .err, and records its PID.
start() {
  local name=$1; shift
  if [ -n "${SERVER_CPU:-}" ]; then
    taskset -c "$SERVER_CPU" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  else
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
  fi
  pids+=($!)
}

# The URL from a server's "listening on" line, waiting up to SECONDS (default 5) for it.
listening_url() { # name [seconds]
  local tries=$(( ${2:-5} * 20 ))
  for _ in $(seq 1 "$tries"); do
    if grep -q '^listening on ' "$work/$1.out" 2>/dev/null; then
      sed -n 's/^listening on //p' "$work/$1.out" | head -n1
      return
    fi
    sleep 0.05
  done
  echo "$1 did not start" >&2; cat "$work/$1.err" >&2; exit 1
}
