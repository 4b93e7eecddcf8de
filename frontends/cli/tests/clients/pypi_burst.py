"""A burst from the PyPI package `onetimesecret`: COUNT shares from parallel threads, then a reveal
and a receipt call for each (through the gateway's v1 routes with `requests`, the library's own
HTTP dependency, as the library implements share only).

Usage: python3 pypi_burst.py BASE_URL COUNT, with the package importable (PYTHONPATH).
Prints "ok <step> <n>" per step; exits non-zero on any failure, naming a 429 as such.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import requests
from onetimesecret import OneTimeSecretCli, OneTimeSecretError

PARALLEL = 16


def burst(step, calls):
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda call: call(), calls))
    print(f"ok {step} {len(results)}")
    return results


def checked(response):
    if response.status_code == 429:
        raise AssertionError(f"rate limited: {response.text}")
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def main(base_url: str, count: int) -> None:
    client = OneTimeSecretCli(user="someone@example.com", key="unused", url=base_url)
    secrets = [f"pypi-burst-{os.getpid()}-{n}" for n in range(count)]

    def share(secret):
        try:
            return client.create_link(secret, ttl=600)
        except OneTimeSecretError as error:
            if error.status_code == 429:
                raise AssertionError(f"rate limited: {error}") from error
            raise

    links = burst("share", [lambda s=s: share(s) for s in secrets])
    prefix = f"{base_url}/secret/"
    keys = [link[len(prefix):] for link in links]
    assert all(link.startswith(prefix) for link in links), links[:3]

    api = f"{base_url}/api/v1"
    revealed = burst(
        "reveal",
        [lambda k=k: checked(requests.post(f"{api}/secret/{k}", timeout=30)) for k in keys],
    )
    assert [r["value"] for r in revealed] == secrets, "revealed values differ"

    # The library returns only the link, so the receipts are found through `recent`.
    recent = checked(requests.get(f"{api}/receipt/recent", timeout=30))
    metadata_keys = [item["metadata_key"] for item in recent]
    assert len(metadata_keys) >= count, len(metadata_keys)
    receipts = burst(
        "receipt",
        [lambda m=m: checked(requests.get(f"{api}/receipt/{m}", timeout=30)) for m in metadata_keys[:count]],
    )
    assert all(r["state"] == "received" for r in receipts), [r["state"] for r in receipts]

if __name__ == "__main__":
    try:
        main(sys.argv[1], int(sys.argv[2]))
    except Exception as error:  # report any failure as one line, then fail the process
        print(f"FAILED: {error!r}", file=sys.stderr)
        sys.exit(1)
