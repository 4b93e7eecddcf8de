"""Drives the PyPI package `onetimesecret` (an unmodified OTS client library) against the gateway.

Usage: python3 pypi_onetimesecret.py BASE_URL, with the package importable (PYTHONPATH).
The library only implements share (`create_link`), so the link it returns is then opened
through the gateway's v1 retrieve route with `requests`, the library's own HTTP dependency.
Exits non-zero on the first mismatch.
"""

import os
import sys
import time

import requests
from onetimesecret import OneTimeSecretCli, OneTimeSecretError


def main(base_url: str) -> None:
    # Credentials are the client's own; the gateway does not forward them.
    client = OneTimeSecretCli(user="someone@example.com", key="client-side-key", url=base_url)

    secret = f"pypi-secret-{os.getpid()}-{time.time_ns()}"
    link = client.create_link(secret, ttl=600)
    prefix = f"{base_url}/secret/"
    assert link.startswith(prefix), f"unexpected link {link!r}"
    print("ok share")

    secret_key = link[len(prefix):]
    revealed = requests.post(f"{base_url}/api/v1/secret/{secret_key}", timeout=10)
    assert revealed.status_code == 200, revealed.status_code
    assert revealed.json()["value"] == secret, "revealed value differs"
    print("ok retrieve")

    try:
        client.create_link("")
    except OneTimeSecretError as error:
        assert error.status_code == 404, error.status_code
        assert "You did not provide anything to share" in str(error), str(error)
        print("ok empty-secret-error")
    else:
        raise AssertionError("an empty secret was accepted")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as error:  # report any failure as one line, then fail the process
        print(f"FAILED: {error!r}", file=sys.stderr)
        sys.exit(1)
