"""The official HighLevel Node SDK (npm `@gohighlevel/api-client`, pinned by
clients/highlevel-node/package-lock.json) against a real `relata serve`: runs
clients/highlevel-node/test.mjs. Skipped when `node` or `npm` is not installed. The SDK is
installed with `npm ci` into that folder, again only when the lockfile changes. With
RELATA_REQUIRE_NODE=1 (CI) a missing node/npm fails the test instead of skipping it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.node_support import npm_ci, requires_node
from tests.test_failures import serve, stop_process

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "highlevel-node"
pytestmark = requires_node


async def test_node_sdk(pg_dsn: str, tmp_path: Path) -> None:
    npm_ci(CLIENT)
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
