"""What the PyPI client scripts share: a mismatch is an exception, and tool calls that must
succeed or fail."""

from __future__ import annotations

from typing import Any

import mcp


class Mismatch(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Mismatch(what)


async def ok(client: mcp.Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    check(not result.is_error, f"{tool} failed: {result.structured_content}")
    return result.structured_content


async def error_body(client: mcp.Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    check(result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}")
    return result.structured_content or {}
