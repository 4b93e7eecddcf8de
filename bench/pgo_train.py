"""The training run of bench/pgo_build.sh: drives an instrumented gateway through the code a
user's requests take, so that the profile it leaves says which code is hot.

    python3 bench/pgo_train.py GATEWAY_URL MCP_COMMAND...

GATEWAY_URL is a running `ots-gateway serve` (team credentials, in front of the simulator);
MCP_COMMAND starts `ots-gateway mcp` on stdio against the same simulator. Covers every REST v1
endpoint (answers and refusals), then concurrent bursts of status and share (the hot paths the
benchmarks measure), then the MCP tools over Streamable HTTP and over stdio. Fails on any
answer the gateway should not give, so a broken build is not trained on quietly. Standard
library only; loopback only. PGO_TRAINING_SCALE (default 1) scales every count.
"""

import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.parse

# PGO_TRAINING_SCALE shrinks every count (the test suite runs it at 0.01 to keep this script in
# step with the API); 1 is the training run itself.
SCALE = float(os.environ.get("PGO_TRAINING_SCALE", "1"))


def scaled(count):
    return max(1, round(count * SCALE))


ROUNDS = scaled(300)
BURST_CLIENTS = 16
BURST_REQUESTS = scaled(1500)
MCP_CALLS = scaled(300)
PROTOCOL = "2025-06-18"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Rest:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

    def call(self, method, path, form=None, expect=200):
        body = urllib.parse.urlencode(form) if form is not None else None
        self.conn.request(method, path, body=body, headers=FORM if body is not None else {})
        reply = self.conn.getresponse()
        data = reply.read()
        if reply.status != expect:
            raise SystemExit(f"{method} {path}: {reply.status}, expected {expect}: {data[:200]!r}")
        return json.loads(data) if data else None


def every_endpoint(url, rounds):
    rest = Rest(url)
    for round_ in range(rounds):
        rest.call("GET", "/api/v1/status")
        rest.call("GET", "/api/v1/authcheck")
        plain = rest.call("POST", "/api/v1/share", {"secret": "training value", "ttl": "300"})
        guarded = rest.call(
            "POST",
            "/api/v1/share",
            {"secret": "training value", "ttl": "300", "passphrase": "training phrase"},
        )
        generated = rest.call("POST", "/api/v1/generate", {"ttl": "300"})
        rest.call("POST", f"/api/v1/private/{plain['metadata_key']}")
        rest.call("POST", f"/api/v1/secret/{plain['secret_key']}")
        rest.call(
            "POST",
            f"/api/v1/secret/{guarded['secret_key']}",
            {"passphrase": "training phrase"},
        )
        rest.call("POST", f"/api/v1/private/{generated['metadata_key']}/burn")
        rest.call("POST", f"/api/v1/private/{plain['metadata_key']}")
        rest.call("POST", f"/api/v1/secret/{plain['secret_key']}", expect=404)
        rest.call("POST", "/api/v1/share", {"ttl": "300"}, expect=404)
        if round_ % 50 == 0:
            rest.call("GET", "/api/v1/private/recent")


def burst(url, method, path, form):
    # A SystemExit raised in a thread ends only that thread, so failures are handed back.
    failures = []

    def client():
        try:
            rest = Rest(url)
            for _ in range(BURST_REQUESTS):
                rest.call(method, path, form)
        except BaseException as failure:  # noqa: BLE001 - reported below, whatever it was
            failures.append(failure)

    threads = [threading.Thread(target=client) for _ in range(BURST_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{method} {path} burst: {failures[0]}")


def tool_calls():
    """The MCP requests of one round, after the handshake."""
    yield "tools/list", {}
    yield "tools/call", {"name": "gateway_status", "arguments": {}}
    for _ in range(MCP_CALLS):
        yield "tools/call", {
            "name": "share_secret",
            "arguments": {"secret": "training value", "ttl": 300},
        }
        yield "tools/call", {"name": "secret_status", "arguments": {"metadata_key": None}}
    yield "tools/call", {"name": "list_recent_secrets", "arguments": {}}
    yield "tools/call", {"name": "burn_secret", "arguments": {"metadata_key": "unknownkey123"}}


def initialize(call):
    call(
        "initialize",
        {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "pgo-training", "version": "1"},
        },
    )


def run_tools(call):
    """Runs tool_calls() through `call`, feeding each share's receipt to the status after it."""
    last_key = None
    for method, params in tool_calls():
        arguments = params.get("arguments", {})
        if "metadata_key" in arguments and arguments["metadata_key"] is None:
            arguments["metadata_key"] = last_key
        result = call(method, params)
        if method == "tools/call" and params["name"] == "share_secret":
            if result.get("isError"):
                raise SystemExit(f"share_secret failed: {result}")
            last_key = result["structuredContent"]["metadata_key"]


@contextlib.contextmanager
def mcp_http_session(url):
    """An initialized Streamable HTTP session on URL's /mcp; yields call(method, params)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    ids = iter(range(1, 1 << 30))

    def post(message):
        conn.request("POST", "/mcp", body=json.dumps(message), headers=headers)
        reply = conn.getresponse()
        data = reply.read().decode()
        if reply.status not in (200, 202):
            raise SystemExit(f"/mcp {message.get('method')}: {reply.status}: {data[:200]}")
        session = reply.getheader("Mcp-Session-Id")
        if session:
            headers["Mcp-Session-Id"] = session
        return data

    def call(method, params):
        data = post({"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params})
        # The answer comes as JSON or as one server-sent event; either way one JSON object.
        lines = [line[5:].strip() for line in data.splitlines() if line.startswith("data:")]
        message = json.loads(next((line for line in lines if line), data))
        if "error" in message:
            raise SystemExit(f"/mcp {method}: {message['error']}")
        return message["result"]

    initialize(call)
    headers["MCP-Protocol-Version"] = PROTOCOL
    post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    yield call
    conn.request("DELETE", "/mcp", headers=headers)
    conn.getresponse().read()


@contextlib.contextmanager
def mcp_stdio_session(command):
    """An initialized stdio session with the server COMMAND starts; yields call(method, params).
    The server must exit cleanly once its input ends."""
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ids = iter(range(1, 1 << 30))

    def send(message):
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()

    def call(method, params):
        request_id = next(ids)
        send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            line = server.stdout.readline()
            if not line:
                raise SystemExit(f"mcp stdio ended during {method}")
            message = json.loads(line)
            if message.get("id") == request_id:
                break
        if "error" in message:
            raise SystemExit(f"mcp stdio {method}: {message['error']}")
        return message["result"]

    try:
        initialize(call)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield call
        server.stdin.close()
        if server.wait(timeout=10) != 0:
            raise SystemExit(f"mcp stdio exited with {server.returncode}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    url, mcp_command = sys.argv[1], sys.argv[2:]
    every_endpoint(url, ROUNDS)
    burst(url, "GET", "/api/v1/status", None)
    burst(url, "POST", "/api/v1/share", {"secret": "training value", "ttl": "300"})
    with mcp_http_session(url) as call:
        run_tools(call)
    with mcp_stdio_session(mcp_command) as call:
        run_tools(call)
    print("trained on every REST endpoint, status and share bursts, MCP over HTTP and stdio")


if __name__ == "__main__":
    main()
