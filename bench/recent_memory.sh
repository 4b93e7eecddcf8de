#!/usr/bin/env bash
# Peak memory of the gateway while REST callers read a long `recent` list: the team account's
# list comes from OTS whole (the REST default), so its size, times the callers reading it at
# once, is what the gateway holds.
#
#   bash bench/recent_memory.sh                  # 7 000 receipts; 1 and 4 callers, 5 calls each
#   RECEIPTS=2000 CALLERS="1 8" CALLS=3 bash bench/recent_memory.sh
#   BIN=/path/to/other/ots-gateway bash bench/recent_memory.sh
#
# Needs python3. The receipts are made on the simulator directly, then every caller count gets a
# fresh gateway (and so a fresh peak) in front of it. Reports the gateway's peak and resident
# memory (VmHWM, VmRSS) after the calls. Loopback only; processes started and stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

RECEIPTS=${RECEIPTS:-7000}
CALLERS=${CALLERS:-1 4}
CALLS=${CALLS:-5}

# shellcheck source=bench/lib.sh
source bench/lib.sh
use_built_binary profiling

start simulator "$BIN" simulate --listen 127.0.0.1:0 --account "$ACCOUNT_USER:$ACCOUNT_TOKEN"
simulator=$(listening_url simulator)

# Fills the account over eight keep-alive connections, with a TTL well past the run.
python3 - "$simulator" "$RECEIPTS" "$ACCOUNT_USER:$ACCOUNT_TOKEN" <<'EOF'
import base64, http.client, sys, threading, urllib.parse
url, count, account = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
headers = {"Authorization": "Basic " + base64.b64encode(account.encode()).decode(),
           "Content-Type": "application/x-www-form-urlencoded"}
def fill(n):
    conn = http.client.HTTPConnection(url.hostname, url.port)
    for _ in range(n):
        conn.request("POST", "/api/v1/share", "secret=filler&ttl=86400", headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            sys.exit(f"filling the account failed: {reply.status}")
workers = [threading.Thread(target=fill, args=(count // 8 + (i < count % 8),)) for i in range(8)]
for w in workers: w.start()
for w in workers: w.join()
EOF

echo "| callers | calls each | receipts in the answer | answer bytes | seconds | peak MiB | resident after MiB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for callers in $CALLERS; do
  gateway_env "$work/ledger-$callers.sqlite3"
  start "gateway-$callers" env "${GATEWAY_ENV[@]}" "$BIN" serve --listen 127.0.0.1:0 \
    --upstream "$simulator"
  gateway_pid=${pids[-1]}
  gateway=$(listening_url "gateway-$callers")
  measured=$(python3 - "$gateway" "$callers" "$CALLS" <<'EOF'
import http.client, json, sys, threading, time, urllib.parse
url, callers, calls = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seen, failures = [], []
def read():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    for _ in range(calls):
        conn.request("GET", "/api/v1/receipt/recent")
        reply = conn.getresponse()
        body = reply.read()
        if reply.status != 200:
            failures.append(reply.status)
            return
        seen.append((len(json.loads(body)), len(body)))
started = time.monotonic()
workers = [threading.Thread(target=read) for _ in range(callers)]
for w in workers: w.start()
for w in workers: w.join()
if failures:
    sys.exit(f"recent failed: {failures[0]}")
print(seen[0][0], seen[0][1], f"{time.monotonic() - started:.2f}")
EOF
)
  read -r items bytes seconds <<<"$measured"
  peak=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$gateway_pid/status")
  resident=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$gateway_pid/status")
  echo "| $callers | $CALLS | $items | $bytes | $seconds | $peak | $resident |"
  kill "$gateway_pid"
  wait "$gateway_pid" 2>/dev/null || true
done
