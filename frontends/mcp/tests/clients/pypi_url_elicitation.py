#!/usr/bin/env python3
"""A PyPI `mcp` client (tested with mcp==2.3.0) that handles URL-mode elicitation, calling
ots-gateway's share_secret without a secret.

Usage: pypi_url_elicitation.py URL MODE

MODE is the SDK's connect mode: `auto` (2026-07-28, stateless: the SDK drives the
InputRequiredResult rounds) or `legacy` (2025-11-25 session: the server sends
elicitation/create). When asked to open a page, the script prints `{"open": URL}` on a line of
its own and accepts, as a user who consents and opens the link would; whoever runs the script
plays that user and fills the page. Then it prints `{"result": ...}` with the call's outcome.
"""

from __future__ import annotations

import asyncio
import json
import sys

import mcp
from mcp import types
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


async def open_in_browser(
    context: ClientRequestContext, params: types.ElicitRequestParams
) -> types.ElicitResult | types.ErrorData:
    if not isinstance(params, types.ElicitRequestURLParams):
        return types.ElicitResult(action="decline")
    say({"open": params.url, "elicitation_id": params.elicitation_id})
    return types.ElicitResult(action="accept")


async def main(url: str, mode: str) -> int:
    async with mcp.Client(
        streamable_http_client(url),
        mode=mode,
        elicitation_callback=open_in_browser,
        client_info=types.Implementation(name="pypi-elicit", version="1.0.0"),
    ) as client:
        result = await client.call_tool("share_secret", {"ttl": 600})
        say({"result": result.structured_content, "is_error": bool(result.is_error)})
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
