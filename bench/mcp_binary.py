"""Round trips of `secret_status` and `share_secret` through a real `ots-gateway` binary's MCP
server, over stdio and over Streamable HTTP, as an assistant's client sees them. Run by
bench/mcp_binary.sh, which starts the simulator and the gateway; frontends/mcp/BENCH.md has the
in-process measurement of the same calls (`roundtrip_bench`), which leaves out the binary.

    python3 bench/mcp_binary.py CALLS GATEWAY_URL MCP_COMMAND...

Prints one line per transport and tool: p50 and p99 in microseconds over CALLS calls, after
CALLS / 10 calls of warm-up. The client is this script (Python's standard library), whose own
time per call is in every figure alike.
"""

import sys
import time

from pgo_train import mcp_http_session, mcp_stdio_session


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def measure(transport, call, calls):
    share = {"name": "share_secret", "arguments": {"secret": "benchmark value", "ttl": 300}}
    key = call("tools/call", share)["structuredContent"]["metadata_key"]
    status = {"name": "secret_status", "arguments": {"metadata_key": key}}
    for name, params in (("secret_status", status), ("share_secret", share)):
        for _ in range(calls // 10):
            call("tools/call", params)
        took = []
        for _ in range(calls):
            start = time.perf_counter()
            result = call("tools/call", params)
            took.append(time.perf_counter() - start)
            if result.get("isError"):
                raise SystemExit(f"{transport} {name} failed: {result}")
        took.sort()
        print(
            f"{transport} {name}: p50 {percentile(took, 0.5) * 1e6:.0f} us, "
            f"p99 {percentile(took, 0.99) * 1e6:.0f} us over {calls} calls"
        )


def main():
    calls, url, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    with mcp_stdio_session(command) as call:
        measure("stdio", call, calls)
    with mcp_http_session(url) as call:
        measure("http", call, calls)


if __name__ == "__main__":
    main()
