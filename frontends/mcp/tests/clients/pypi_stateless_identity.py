#!/usr/bin/env python3
"""Stateless (2026-07-28) PyPI `mcp` clients (tested with mcp==2.3.0) on one ots-gateway /mcp
endpoint, without tokens: two that send no X-OTS-Gateway-Client header (so both declare the
SDK's default name) and one that names itself with the header.

Usage: pypi_stateless_identity.py URL

Checks that:
- the two unnamed clients negotiated 2026-07-28 and cannot list recent secrets: the refusal says
  how to get an identity (client token, header, session);
- each can still check the secret it created, by the key it holds;
- an unnamed client asking about the named client's key gets exactly the answer an unknown key
  gets;
- the named client lists its own secret and not the unnamed clients'.
Exits 0 when everything matches, 1 on the first mismatch.
"""

from __future__ import annotations

import asyncio
import sys

import mcp
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from checks import Mismatch, check, error_body, ok


async def run(url: str, a: mcp.Client, b: mcp.Client, named: mcp.Client) -> None:
    for client in (a, b):
        version = client.session.protocol_version if client.session else None
        check(str(version) == "2026-07-28", f"not stateless: negotiated {version}")
    mine_a = await ok(a, "share_secret", {"secret": "unnamed-a", "ttl": 600})
    mine_b = await ok(b, "share_secret", {"secret": "unnamed-b", "ttl": 600})
    theirs = await ok(named, "share_secret", {"secret": "named", "ttl": 600})

    for client in (a, b):
        refused = await error_body(client, "list_recent_secrets", {})
        check(refused.get("code") == "refused", f"list not refused: {refused}")
        message = refused.get("message", "")
        for hint in ("client token", "X-OTS-Gateway-Client", "session"):
            check(hint in message, f"the refusal does not mention {hint}: {message}")

    own = await ok(a, "secret_status", {"metadata_key": mine_a["metadata_key"]})
    check(own["state"] == "new", f"a lost its secret: {own}")
    own = await ok(b, "secret_status", {"metadata_key": mine_b["metadata_key"]})
    check(own["state"] == "new", f"b lost its secret: {own}")

    foreign = await error_body(b, "secret_status", {"metadata_key": theirs["metadata_key"]})
    unknown = await error_body(b, "secret_status", {"metadata_key": "a" * 62})
    check(foreign == unknown, f"foreign {foreign} vs unknown {unknown}")
    burn = await error_body(b, "burn_secret", {"metadata_key": theirs["metadata_key"]})
    check(burn == unknown, f"burn of a foreign key: {burn}")

    listed = await ok(named, "list_recent_secrets", {})
    keys = {item["metadata_key"] for item in listed["secrets"]}
    check(theirs["metadata_key"] in keys, "the named client's own secret is not listed")
    check(
        mine_a["metadata_key"] not in keys and mine_b["metadata_key"] not in keys,
        "the named client sees the unnamed clients' secrets",
    )


async def main(url: str) -> int:
    http_a = create_mcp_http_client()
    http_b = create_mcp_http_client()
    http_named = create_mcp_http_client(headers={"X-OTS-Gateway-Client": "deploy-agent"})
    try:
        async with (
            mcp.Client(streamable_http_client(url, http_client=http_a)) as a,
            mcp.Client(streamable_http_client(url, http_client=http_b)) as b,
            mcp.Client(streamable_http_client(url, http_client=http_named)) as named,
        ):
            await run(url, a, b, named)
    except Mismatch as mismatch:
        print(f"MISMATCH: {mismatch}", file=sys.stderr)
        return 1
    finally:
        await http_a.aclose()
        await http_b.aclose()
        await http_named.aclose()
    print("ok: stateless clients without an identity cannot list, and keys decide the rest")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
