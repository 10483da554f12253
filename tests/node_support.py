"""What the Node client tests share: whether Node is here (RELATA_REQUIRE_NODE=1 makes its
absence a failure, not a skip) and `npm ci` into a client folder, again only when its lockfile
changes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HAVE_NODE = shutil.which("node") is not None and shutil.which("npm") is not None
requires_node = pytest.mark.skipif(
    not HAVE_NODE and os.environ.get("RELATA_REQUIRE_NODE") != "1",
    reason="node/npm not installed (RELATA_REQUIRE_NODE=1 makes this a failure)",
)


def npm_ci(folder: Path) -> None:
    assert HAVE_NODE, "RELATA_REQUIRE_NODE=1 but node/npm are not on PATH"
    stamp = folder / "node_modules" / ".relata-lock-sha256"
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stamp.write_text(digest)
