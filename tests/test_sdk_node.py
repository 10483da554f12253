"""The official HighLevel Node SDK (npm `@gohighlevel/api-client`, pinned by
clients/highlevel-node/package-lock.json) against a real `relata serve`: runs
clients/highlevel-node/test.mjs. Skipped when `node` or `npm` is not installed. The SDK is
installed with `npm ci` into that folder, again only when the lockfile changes. With
RELATA_REQUIRE_NODE=1 (CI) a missing node/npm fails the test instead of skipping it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_failures import serve, stop_process

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "highlevel-node"
STAMP = CLIENT / "node_modules" / ".relata-lock-sha256"

HAVE_NODE = shutil.which("node") is not None and shutil.which("npm") is not None
pytestmark = pytest.mark.skipif(
    not HAVE_NODE and os.environ.get("RELATA_REQUIRE_NODE") != "1",
    reason="node/npm not installed (RELATA_REQUIRE_NODE=1 makes this a failure)",
)


def install() -> None:
    digest = hashlib.sha256((CLIENT / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    STAMP.write_text(digest)


async def test_node_sdk(pg_dsn: str, tmp_path: Path) -> None:
    assert HAVE_NODE, "RELATA_REQUIRE_NODE=1 but node/npm are not on PATH"
    install()
    served = await serve(pg_dsn, tmp_path)
    try:
        env = {
            **os.environ,
            "RELATA_URL": served.url,
            "RELATA_TOKEN": served.token,
            "RELATA_LOCATION": served.location,
        }
        done = subprocess.run(  # noqa: ASYNC221 - the server runs in its own process
            ["node", "test.mjs"], cwd=CLIENT, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        stop_process(served)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
