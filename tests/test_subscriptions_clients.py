"""The `graphql-ws` Node client (clients/graphql-ws-client, pinned by its package-lock.json)
against a real `relata serve`: resume with `after`, typed errors, a refused token. Installed
with `npm ci`, again only when the lockfile changes; skipped without Node unless
RELATA_REQUIRE_NODE=1."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from app.services.tokens import create_token
from tests.node_support import npm_ci, requires_node
from tests.test_failures import serve, stop_process

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "graphql-ws-client"
pytestmark = requires_node


async def test_graphql_ws_node_client(db, pg_dsn: str, tmp_path: Path) -> None:
    npm_ci(CLIENT)
    served = await serve(pg_dsn, tmp_path, RELATA_WEBHOOK_WORKER="0")
    try:
        token = await create_token(db, f"node-{uuid.uuid4().hex[:10]}", "admin")
        env = {**os.environ, "RELATA_URL": served.url, "RELATA_TOKEN": token}
        done = subprocess.run(  # noqa: ASYNC221 - the server runs in its own process
            ["node", "--test", "--test-reporter=spec", "test/live.test.mjs"],
            cwd=CLIENT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop_process(served)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ℹ fail 0" in output and "ℹ pass 3" in output, output
