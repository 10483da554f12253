"""The GraphQL clients frontend and mobile developers use, against a real `relata serve`:
clients/graphql-clients/test/*.test.mjs (node:test), pinned by that folder's package-lock.json:
Apollo Client 4 (normalized cache, relayStylePagination, errorPolicy, persisted queries), urql,
the graphql-http audit (GraphQL over HTTP), relay-compiler (the compiled operations executed) and
graphql-js's buildClientSchema/printSchema over the served introspection. Each client is its own
node:test suite with one test per expectation, so a failure names the client and what broke.

Installed with `npm ci` into that folder, again only when the lockfile changes. Skipped when
`node` or `npm` is not installed; with RELATA_REQUIRE_NODE=1 (CI) that fails instead."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_failures import serve, stop_process

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "graphql-clients"
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


async def test_graphql_clients(pg_dsn: str, tmp_path: Path) -> None:
    assert HAVE_NODE, "RELATA_REQUIRE_NODE=1 but node/npm are not on PATH"
    install()
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
