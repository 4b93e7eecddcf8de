#!/usr/bin/env python3
"""Two PyPI `mcp` clients (tested with mcp==2.3.0) on one ots-gateway /mcp endpoint, no tokens
and no X-OTS-Gateway-Client header, both declaring the SDK's default client name.

Usage: pypi_sessions.py URL

Checks that:
- each client is its own caller: neither sees, checks nor burns the other's receipts, and an
  unknown key answers exactly as a foreign one does;
- requests of 64 KB, 200 KB and 1 MB are refused with an error, and the same session then goes
  on working;
- each session's closing DELETE is answered as the SDK expects: it logs "Session termination
  failed" for any status but 200, 204 and 405.
Exits 0 when everything matches, 1 on the first mismatch.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import mcp
from mcp import MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from checks import Mismatch, check, error_body, ok


async def isolated(first: mcp.Client, second: mcp.Client) -> None:
    mine = await ok(first, "share_secret", {"secret": "isolation-check", "ttl": 600})
    key = mine["metadata_key"]
    theirs = await ok(second, "list_recent_secrets", {})
    check(all(item["metadata_key"] != key for item in theirs["secrets"]), "other's receipt listed")
    foreign = await error_body(second, "secret_status", {"metadata_key": key})
    unknown = await error_body(second, "secret_status", {"metadata_key": "a" * 62})
    check(foreign.get("code") == unknown.get("code"), f"foreign {foreign} vs unknown {unknown}")
    check(foreign.get("message") == unknown.get("message"), "foreign and unknown differ")
    burn = await error_body(second, "burn_secret", {"metadata_key": key})
    check(burn.get("code") == foreign.get("code"), f"burn of a foreign key: {burn}")
    status = await ok(first, "secret_status", {"metadata_key": key})
    check(status["state"] == "new", f"the owner lost its secret: {status}")
    a = await ok(first, "gateway_status", {})
    b = await ok(second, "gateway_status", {})
    check(a["caller_id"] != b["caller_id"], f"one caller id for both: {a['caller_id']}")


async def oversized(client: mcp.Client) -> None:
    for size in (64 * 1024, 200 * 1024, 1024 * 1024):
        try:
            result = await client.call_tool("share_secret", {"secret": "x" * size})
            check(result.is_error, f"{size} bytes accepted")
        except MCPError:
            pass
        recent = await ok(client, "list_recent_secrets", {})
        check(isinstance(recent.get("secrets"), list), f"session broken after {size} bytes")


class Warnings(logging.Handler):
    """What the SDK's transport logs at warning level or above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def main(url: str) -> int:
    http_a = create_mcp_http_client()
    http_b = create_mcp_http_client()
    transport_warnings = Warnings()
    logging.getLogger("mcp.client.streamable_http").addHandler(transport_warnings)
    try:
        async with mcp.Client(streamable_http_client(url, http_client=http_a), mode="legacy") as a:
            async with mcp.Client(
                streamable_http_client(url, http_client=http_b), mode="legacy"
            ) as b:
                await isolated(a, b)
                await isolated(b, a)
                await oversized(a)
        # Both sessions have now been ended with a DELETE each.
        ended = [m for m in transport_warnings.messages if "Session termination" in m]
        check(not ended, f"ending the sessions: {ended}")
    except Mismatch as mismatch:
        print(f"MISMATCH: {mismatch}", file=sys.stderr)
        return 1
    finally:
        await http_a.aclose()
        await http_b.aclose()
    print("ok: sessions are separate callers and survive oversized requests")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
