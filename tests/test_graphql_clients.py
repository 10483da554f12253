"""The GraphQL clients frontend and mobile developers use, against a real `relata serve`:
clients/graphql-clients/test/*.test.mjs (node:test), pinned by that folder's package-lock.json:
Apollo Client 4 (normalized cache, relayStylePagination, errorPolicy, persisted queries), urql,
the graphql-http audit (GraphQL over HTTP), relay-compiler (the compiled operations executed) and
graphql-js's buildClientSchema/printSchema over the served introspection. Each client is its own
node:test suite with one test per expectation, so a failure names the client and what broke.

Installed with `npm ci` into that folder, again only when the lockfile changes. Skipped when
`node` or `npm` is not installed; with RELATA_REQUIRE_NODE=1 (CI) that fails instead."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.node_support import npm_ci, requires_node
from tests.test_failures import serve, stop_process

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "graphql-clients"
pytestmark = requires_node


async def test_graphql_clients(pg_dsn: str, tmp_path: Path) -> None:
    npm_ci(CLIENT)
    files = sorted(str(p.relative_to(CLIENT)) for p in (CLIENT / "test").glob("*.test.mjs"))
    assert files, "no clients/graphql-clients/test/*.test.mjs"
    served = await serve(pg_dsn, tmp_path)
    try:
        env = {**os.environ, "RELATA_URL": served.url, "RELATA_TOKEN": served.token}
        done = subprocess.run(  # noqa: ASYNC221 - the server runs in its own process
            ["node", "--test", "--test-reporter=spec", *files],
            cwd=CLIENT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        stop_process(served)
    output = done.stdout + done.stderr
    # First the names of the failing tests (client and expectation), then the full report.
    failing, where = [], ""
    for line in output.split("✖ failing tests:")[-1].splitlines():
        if line.startswith("test at "):
            where = line.removeprefix("test at ").split(":")[0]
        elif line.startswith("✖ ") and where:
            failing.append(f"{where}: {line.removeprefix('✖ ').rsplit(' (', 1)[0]}")
    summary = "failing:\n" + "\n".join(failing) + "\n\n" if failing else ""
    assert done.returncode == 0, summary + output
    assert "ℹ fail 0" in output, output
