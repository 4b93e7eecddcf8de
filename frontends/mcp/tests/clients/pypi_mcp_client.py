#!/usr/bin/env python3
"""Drives ots-gateway's MCP tools with the PyPI `mcp` client (tested with mcp==2.3.0).

Usage:
    pypi_mcp_client.py [options] URL                 # Streamable HTTP, e.g. http://127.0.0.1:7143/mcp
    pypi_mcp_client.py [options] --stdio CMD ARGS... # stdio, e.g. --stdio ots-gateway mcp --dev

Options (before URL / --stdio):
    --mode auto|legacy|2026-07-28   protocol negotiation (default: auto)
    --expect-retrieve               retrieve_secret must be listed (the gateway allows it)
    --header NAME:VALUE             extra HTTP header (e.g. "Authorization:Bearer TOKEN")
    --name NAME                     clientInfo name to declare (default: pypi-mcp-check)
    --identified                    a client token in --header names this client

Over stateless HTTP (2026-07-28) without an X-OTS-Gateway-Client header or --identified, the
client has no identity of its own, and list_recent_secrets must be refused.

It lists the tools and calls each one, checking results and error codes, and that the secret
and passphrase it shares never come back outside retrieve_secret. Exits 0 when everything
matches, 1 on the first mismatch, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

import mcp
from mcp import MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import Implementation

TOOLS = {
    "share_secret",
    "generate_secret",
    "secret_status",
    "burn_secret",
    "list_recent_secrets",
    "gateway_status",
}

# (read_only, destructive, idempotent, open_world)
HINTS = {
    "share_secret": (False, False, False, True),
    "generate_secret": (False, False, False, True),
    "secret_status": (True, False, True, True),
    "burn_secret": (False, True, True, True),
    "list_recent_secrets": (True, False, True, True),
    "gateway_status": (True, False, True, True),
    "retrieve_secret": (False, True, False, True),
    "ask_user_for_secret": (False, False, False, False),
    "secret_entry_result": (True, False, True, False),
}

# Listed only where the gateway serves secret entry pages.
ENTRY_TOOLS = {"ask_user_for_secret", "secret_entry_result"}


class Mismatch(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Mismatch(what)


def rendered(result: Any) -> str:
    return result.model_dump_json()


async def ok(client: mcp.Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    check(not result.is_error, f"{tool} failed: {result.structured_content}")
    check(isinstance(result.structured_content, dict), f"{tool}: no structured content")
    return result.structured_content


async def err(client: mcp.Client, tool: str, args: dict[str, Any], code: str) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    check(result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}")
    body = result.structured_content or {}
    check(body.get("code") == code, f"{tool}: expected code {code}, got {body}")
    check(bool(body.get("message")), f"{tool}: error without message")
    return body


async def exercise(client: mcp.Client, expect_retrieve: bool, anonymous_http: bool) -> None:
    server = client.server_info
    check(server is not None and server.name == "ots-gateway", f"server name: {server}")
    instructions = client.instructions or ""
    check("never the secret" in instructions, "instructions do not say to send the link")

    listed = (await client.list_tools()).tools
    names = {tool.name for tool in listed}
    expected = TOOLS | ({"retrieve_secret"} if expect_retrieve else set())
    check(names - ENTRY_TOOLS == expected, f"tools: {sorted(names)}")
    for tool in listed:
        check(bool(tool.description), f"{tool.name}: no description")
        check(tool.input_schema.get("type") == "object", f"{tool.name}: input schema")
        check((tool.output_schema or {}).get("type") == "object", f"{tool.name}: output schema")
        a = tool.annotations
        check(a is not None, f"{tool.name}: no annotations")
        got = (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
        check(got == HINTS[tool.name], f"{tool.name}: annotations {got}")

    nonce = uuid.uuid4().hex
    secret = f"pypi-canary-secret-{nonce}"
    passphrase = f"pypi-canary-pass-{nonce}"
    outside_retrieve: list[str] = []

    result = await client.call_tool(
        "share_secret", {"secret": secret, "passphrase": passphrase, "ttl": 900}
    )
    outside_retrieve.append(rendered(result))
    check(not result.is_error, f"share_secret failed: {result.structured_content}")
    created = result.structured_content
    check("/secret/" in created["share_url"], f"share_url: {created}")
    check(created["passphrase_required"] is True, "passphrase_required")
    check(0 < created["expires_in_seconds"] <= 900, "expires_in_seconds")
    key = created["metadata_key"]

    status = await ok(client, "secret_status", {"metadata_key": key})
    outside_retrieve.append(str(status))
    check(status["state"] == "new", f"state: {status}")
    receipt_link = created["share_url"].split("/secret/")[0] + f"/receipt/{key}"
    status = await ok(client, "secret_status", {"metadata_key": receipt_link})
    check(status["metadata_key"] == key, "receipt link not accepted as a key")

    version = str(client.session.protocol_version) if client.session else ""
    if anonymous_http and version >= "2026-07-28":
        # Stateless, with neither token nor header: the SDK's name is every PyPI client's, so
        # the gateway will not list "its" secrets, and says how to get an identity.
        refused = await err(client, "list_recent_secrets", {}, "refused")
        check("X-OTS-Gateway-Client" in refused["message"], f"no hint: {refused}")
    else:
        recent = await ok(client, "list_recent_secrets", {})
        outside_retrieve.append(str(recent))
        check(any(item["metadata_key"] == key for item in recent["secrets"]), "not in recent list")

    generated = await ok(client, "generate_secret", {"length": 16, "ttl": 600})
    check("generated_value" not in generated, "generated value returned by default")
    check("/secret/" in generated["share_url"], "generate: share_url")

    body = await err(
        client, "burn_secret", {"metadata_key": key, "passphrase": "wrong"}, "incorrect_passphrase"
    )
    outside_retrieve.append(str(body))
    await err(client, "secret_status", {"metadata_key": "not a key!"}, "invalid_input")
    await err(client, "secret_status", {"metadata_key": "abcdefghijklmnopqrstuvwxyz"}, "not_owned")

    if expect_retrieve:
        revealed = await ok(
            client, "retrieve_secret", {"secret_key": created["share_url"], "passphrase": passphrase}
        )
        check(revealed["secret"] == secret, "retrieve returned something else")
        await err(client, "burn_secret", {"metadata_key": key, "passphrase": passphrase}, "unknown_secret")
    else:
        burned = await ok(client, "burn_secret", {"metadata_key": key, "passphrase": passphrase})
        outside_retrieve.append(str(burned))
        check(burned["state"] == "burned", f"burn: {burned}")
        status = await ok(client, "secret_status", {"metadata_key": key})
        check(status["state"] == "burned", f"after burn: {status}")

    await ok(client, "burn_secret", {"metadata_key": generated["metadata_key"]})

    gateway = await ok(client, "gateway_status", {})
    check(gateway["upstream_reachable"] is True, f"gateway_status: {gateway}")
    check(gateway["retrieve_enabled"] is expect_retrieve, "retrieve_enabled")

    missing = await client.call_tool("share_secret", {})
    check(missing.is_error, "share_secret without a secret was accepted")

    try:
        await client.call_tool("no_such_tool", {})
        raise Mismatch("an unknown tool did not raise a protocol error")
    except MCPError:
        pass

    for text in outside_retrieve:
        check(secret not in text, "the secret came back outside retrieve_secret")
        check(passphrase not in text, "the passphrase came back")


async def main(argv: list[str]) -> int:
    mode = "auto"
    expect_retrieve = False
    identified = False
    headers: dict[str, str] = {}
    name = "pypi-mcp-check"
    args = list(argv)
    while args and args[0].startswith("--") and args[0] != "--stdio":
        flag = args.pop(0)
        if flag == "--expect-retrieve":
            expect_retrieve = True
        elif flag == "--identified":
            identified = True
        elif flag in ("--mode", "--header", "--name") and args:
            value = args.pop(0)
            if flag == "--mode":
                mode = value
            elif flag == "--name":
                name = value
            else:
                header, _, header_value = value.partition(":")
                headers[header.strip()] = header_value.strip()
        else:
            print(__doc__, file=sys.stderr)
            return 2

    info = Implementation(name=name, version="1.0.0")
    named = identified or any(header.lower() == "x-ots-gateway-client" for header in headers)
    anonymous_http = not (args and args[0] == "--stdio") and not named
    if args and args[0] == "--stdio" and len(args) > 1:
        server: Any = StdioServerParameters(command=args[1], args=args[2:], env=dict(os.environ))
        http_client = None
    elif len(args) == 1:
        http_client = create_mcp_http_client(headers=headers)
        server = streamable_http_client(args[0], http_client=http_client)
    else:
        print(__doc__, file=sys.stderr)
        return 2

    try:
        async with mcp.Client(server, mode=mode, client_info=info) as client:
            await exercise(client, expect_retrieve, anonymous_http)
    except Mismatch as mismatch:
        print(f"MISMATCH ({mode}): {mismatch}", file=sys.stderr)
        return 1
    finally:
        if http_client is not None:
            await http_client.aclose()
    print(f"ok ({mode}): all tools behaved as expected")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
