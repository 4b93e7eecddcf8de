# Shared by the bench scripts (sourced, not run): the binary under test, and processes started
# and stopped by their PIDs with their output in a scratch directory that is removed on exit.

# Sets BIN to a fresh build of PROFILE unless BIN is already given.
use_built_binary() { # profile
  if [ -z "${BIN:-}" ]; then
    cargo build --profile "$1" --locked -p ots-gateway >&2
    BIN=${CARGO_TARGET_DIR:-target}/$1/ots-gateway
  fi
}

# The account the simulator is given and the gateway uses as its team's.
ACCOUNT_USER=bench@example.com
ACCOUNT_TOKEN=bench-token-not-secret
# The simulator every bench calls: that account, and room for every share a run makes, set
# aside from the start (600 000 covers ten seconds of direct closed-loop shares): otherwise its
# tables double as they fill, each time holding the core it shares with the target for up to
# tens of milliseconds, which showed as bursts of slow requests in every target's tail.
SIMULATOR_ARGS=(simulate --listen 127.0.0.1:0 --max-entries 5000000 --reserve-entries 600000
  --account "$ACCOUNT_USER:$ACCOUNT_TOKEN")

# Sets GATEWAY_ENV to the environment every bench runs `ots-gateway serve` in, as `env`
# arguments: the team's credentials, every quota on but far above any load, a ledger file with
# its default durability, audit events to a file.
gateway_env() { # ledger-file
  local huge='{ per_minute = 1000000000, burst = 1000000 }'
  GATEWAY_ENV=(
    "OTS_GATEWAY_USERNAME=$ACCOUNT_USER" "OTS_GATEWAY_API_KEY=$ACCOUNT_TOKEN"
    OTS_GATEWAY__SERVER__MAX_CONCURRENT_REQUESTS=1024
    "OTS_GATEWAY__UPSTREAM__BUDGET=$huge" "OTS_GATEWAY__REST__QUOTA_CREATE=$huge"
    "OTS_GATEWAY__REST__QUOTA_MANAGE=$huge"
    "OTS_GATEWAY__LEDGER__PATH=$1" "OTS_GATEWAY__AUDIT__FILE=$work/audit.jsonl"
  )
}

# The team's header as nginx injects it (and as the load generator sends it going direct).
basic="Basic $(printf '%s' "$ACCOUNT_USER:$ACCOUNT_TOKEN" | base64 -w0)"

# What a user would put in front of OTS instead of the gateway: nginx as a reverse proxy with one
# worker, keep-alive to the upstream, the team's header injected, a per-client request limit far
# above any load, an access log. Writes DIR/nginx.conf; extra main-context lines (e.g.
# "master_process off;") may follow.
write_nginx_conf() { # dir upstream-url port [line...]
  local dir=$1 upstream=$2 port=$3; shift 3
  mkdir -p "$dir"
  local user_line=""
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
$(printf '%s\n' "$@")
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  limit_req_zone \$binary_remote_addr zone=callers:1m rate=1000000r/s;
  upstream ots { server ${upstream#http://}; keepalive 128; }
  server {
    listen 127.0.0.1:$port;
    location / {
      limit_req zone=callers burst=100000 nodelay;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "$basic";
      proxy_pass http://ots;
    }
  }
}
EOF
}

# A loopback port nothing listens on now, for a server that cannot be told to pick its own.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to SECONDS (default 5) for nginx on PORT to answer a status through to the upstream.
wait_for_nginx() { # port dir [seconds]
  local tries=$(( ${3:-5} * 20 ))
  for _ in $(seq 1 "$tries"); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/api/v1/status" 2>/dev/null && return
    sleep 0.05
  done
  echo "nginx did not start" >&2; cat "$2/error.log" >&2; exit 1
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

# Starts the simulator and, in front of it, `serve` with GATEWAY_ENV for LEDGER, both run from
# BINARY, the simulator with the given extra environment; sets SIMULATOR_URL and GATEWAY_URL.
start_simulator_and_gateway() { # binary ledger-file [NAME=VALUE for the simulator...]
  local binary=$1 ledger=$2; shift 2
  start simulator env "$@" "$binary" "${SIMULATOR_ARGS[@]}"
  SIMULATOR_URL=$(listening_url simulator)
  gateway_env "$ledger"
  start gateway env "${GATEWAY_ENV[@]}" "$binary" serve --listen 127.0.0.1:0 \
    --upstream "$SIMULATOR_URL"
  GATEWAY_URL=$(listening_url gateway)
}
