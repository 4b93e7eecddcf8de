#!/usr/bin/env python3
"""Every link `ots-gateway mcp --dev` hands out opens a page (tested with mcp==2.3.0).

Usage: pypi_dev_links.py CMD ARGS...   e.g. pypi_dev_links.py ots-gateway mcp --dev

Over stdio it shares and generates a secret and opens an entry page, then GETs each share_url
and entry_url: each must answer 200 with an HTML page, on the loopback port the stdio server
serves itself. Prints `ok (links)` and exits 0 when all open, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import sys

import urllib.error
import urllib.request

import mcp
from mcp import StdioServerParameters


async def main(command: list[str]) -> int:
    server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    links: list[str] = []
    async with mcp.Client(server, mode="legacy") as client:
        for tool, args in (("share_secret", {"secret": "dev-link-check"}), ("generate_secret", {})):
            result = await client.call_tool(tool, args)
            if result.is_error:
                print(f"{tool} failed: {result.structured_content}", file=sys.stderr)
                return 1
            links.append(result.structured_content["share_url"])
        result = await client.call_tool("ask_user_for_secret", {})
        if result.is_error:
            print(f"ask_user_for_secret failed: {result.structured_content}", file=sys.stderr)
            return 1
        links.append(result.structured_content["entry_url"])
        for link in links:
            if not link.startswith("http://127.0.0.1:"):
                print(f"not a loopback link: {link}", file=sys.stderr)
                return 1
            try:
                with urllib.request.urlopen(link, timeout=10) as response:
                    status, kind = response.status, response.headers.get("content-type", "")
            except urllib.error.HTTPError as error:
                status, kind = error.code, error.headers.get("content-type", "")
            if status != 200 or not kind.startswith("text/html"):
                print(f"{link}: {status} {kind}", file=sys.stderr)
                return 1
    print(f"ok (links): {len(links)} links open")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1:])))
