#!/usr/bin/env bash
# Shares through the gateway on a large ledger file with 1 KiB pages (what some earlier builds
# made) against one with 4 KiB pages (SQLite's default, and what the gateway makes), both grown
# the same way through the gateway. Settles whether the smaller pages pay off once the ledger
# is large.
#
#   bash bench/ledger_pages.sh                         # 300 000 entries, 3 rounds
#   ENTRIES=50000 ROUNDS=1 DURATION=3s bash bench/ledger_pages.sh
#   BIN=target/profiling/ots-gateway bash bench/ledger_pages.sh
#
# Fills both ledgers through the gateway (secrets with a one-week TTL, so nothing is pruned),
# then, in each round and for each copy in turn, starts a
# fresh simulator and gateway on a fresh copy of that file and measures paced shares (oha, RATE
# per second over 16 connections, latency-corrected) and closed-loop shares (wrk, 64
# connections) with CPU per share. CPU layout as in compare.sh: load on CPU 0, simulator and
# gateway on CPU 1. Needs wrk, oha, taskset, python3. Loopback only; processes stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

ENTRIES=${ENTRIES:-300000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
RATE=${RATE:-3000}
LOAD_CPU=${LOAD_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
for tool in wrk oha taskset python3; do
  command -v "$tool" >/dev/null || { echo "ledger_pages.sh needs $tool" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
source bench/lib.sh
use_built_binary release

start_pair() { # ledger-file; sets url and gateway_pid
  rm -f "$work"/*.out
  start simulator "$BIN" "${SIMULATOR_ARGS[@]}"
  local sim
  sim=$(listening_url simulator)
  gateway_env "$1"
  start gateway env "${GATEWAY_ENV[@]}" "$BIN" serve --listen 127.0.0.1:0 --upstream "$sim"
  gateway_pid=${pids[-1]}
  url=$(listening_url gateway)
}

share_args=(-m POST -T application/x-www-form-urlencoded)
entries_in() { # ledger-file
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM receipts").fetchone()[0])' "$1"
}

# Both files grow through the gateway, the same way: a copy rebuilt by VACUUM would start with
# every page full and in order, which a ledger in use never is. Each file is made here with its
# page size, which SQLite keeps when the gateway opens it, whatever the gateway's own default.
python3 - "$work/filled-1k.sqlite3" "$work/filled-4k.sqlite3" <<'EOF'
import os, sqlite3, sys
for path, page_size in zip(sys.argv[1:], (1024, 4096)):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("PRAGMA journal_mode=WAL").fetchall()
EOF
for pages in 1k 4k; do
  echo "filling the $pages-page ledger with $ENTRIES entries..." >&2
  start_pair "$work/filled-$pages.sqlite3"
  taskset -c "$LOAD_CPU" oha -n "$ENTRIES" -c 64 --no-tui --output-format json "${share_args[@]}" \
    -d "secret=ledger-pages-fill&ttl=604800" "$url/api/v1/share" >/dev/null
  stop_all
  python3 -c 'import sqlite3, sys; print(sys.argv[1], sqlite3.connect(sys.argv[1]).execute("PRAGMA page_size").fetchone()[0], "bytes per page", file=sys.stderr)' \
    "$work/filled-$pages.sqlite3"
done
echo "ledger entries: $(entries_in "$work/filled-1k.sqlite3") (1 KiB) and $(entries_in "$work/filled-4k.sqlite3") (4 KiB)" >&2

echo "| round | pages | paced p50 ms | p90 ms | p99 ms | closed loop shares/s | CPU µs/share |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq 1 "$ROUNDS"); do
  for pages in 1k 4k; do
    ledger=$work/run.sqlite3
    rm -f "$ledger"*
    cp "$work/filled-$pages.sqlite3" "$ledger"
    start_pair "$ledger"
    paced=$(taskset -c "$LOAD_CPU" oha -z "$DURATION" -c 16 -q "$RATE" --latency-correction --no-tui \
      --output-format json "${share_args[@]}" -d "secret=benchmark-secret-value&ttl=60" \
      "$url/api/v1/share" | python3 -c '
import json, sys
p = json.load(sys.stdin)["latencyPercentiles"]
print("%.3f %.3f %.3f" % (p["p50"] * 1000, p["p90"] * 1000, p["p99"] * 1000))')
    before=$(awk '{ print $14 + $15 }' "/proc/$gateway_pid/stat")
    closed=$(taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$DURATION" -s bench/share.lua "$url/api/v1/share")
    after=$(awk '{ print $14 + $15 }' "/proc/$gateway_pid/stat")
    stop_all
    requests=$(echo "$closed" | awk '/requests in/ { print $1 }')
    rps=$(echo "$closed" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
    cpu=$(python3 -c "import os, sys; print(round((int(sys.argv[1]) - int(sys.argv[2])) * 1e6 / os.sysconf('SC_CLK_TCK') / int(sys.argv[3])))" "$after" "$before" "$requests")
    read -r p50 p90 p99 <<<"$paced"
    echo "| $round | $pages | $p50 | $p90 | $p99 | $rps | $cpu |"
  done
done
