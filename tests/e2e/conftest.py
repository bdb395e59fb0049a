"""End-to-end tests: they drive the running local stack over HTTP.

scripts/test starts the stack and sets AUTH_ISSUER, AUTH_TABLE_PREFIX and the
DynamoDB endpoint; `authctl` (the real operator tool) prepares the data.
"""
import json
import os
import subprocess
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUTHCTL = os.path.join(ROOT, "target", "debug", "authctl")


def authctl(*args, stdin=None, check=True):
    """Runs authctl --json; returns the parsed output (or the CompletedProcess when check=False)."""
    result = subprocess.run(
        [AUTHCTL, "--json", *args], input=stdin, capture_output=True, text=True, timeout=60
    )
    if not check:
        return result
    assert result.returncode == 0, f"authctl {args} failed: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("AUTH_ISSUER")
    if not url:
        pytest.exit("AUTH_ISSUER is not set: run the end-to-end tests with scripts/test", returncode=2)
    return url
