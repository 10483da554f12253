"""The GraphiQL page's vendored browser builds (app/static/graphiql/, written by
clients/graphiql-assets/update.sh): each file's hash is the SRI value in manifest.json, every
manifest entry names the version and tarball integrity that package-lock.json pins (a stale
copy fails), and, with npm at hand, each file is byte for byte the one in the npm tarball whose
sha512 is the lockfile's integrity (a tampered file fails even with a matching manifest). The
page uses those SRI values, loads nothing from another origin, and the assets are served with
long cache headers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from app import ide
from tests.hardening_support import client_with

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "graphiql-assets"
LOCK = json.loads((CLIENT / "package-lock.json").read_text())["packages"]
HTML = {"accept": "text/html"}


def test_every_file_matches_its_sri_and_nothing_is_unlisted() -> None:
    listed = set(ide.assets())
    on_disk = {p.name for p in ide.ASSETS.iterdir() if p.name != "manifest.json"}
    assert on_disk == listed
    for name, asset in ide.assets().items():
        assert ide.sri((ide.ASSETS / name).read_bytes()) == asset.integrity, name


def test_manifest_matches_the_lockfile() -> None:
    wanted = json.loads((CLIENT / "package.json").read_text())["dependencies"]
    for package, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package} is not pinned: {version}"
        assert LOCK[f"node_modules/{package}"]["version"] == version, package
    assert {a.package for a in ide.assets().values()} == set(wanted)
    for name, asset in ide.assets().items():
        locked = LOCK[f"node_modules/{asset.package}"]
        assert (asset.version, asset.tarball_integrity) == (
            locked["version"],
            locked["integrity"],
        ), f"{name} is stale: run clients/graphiql-assets/update.sh"
        assert asset.version in name
    versions = {a.package: a.version for a in ide.assets().values()}
    assert versions["react"].startswith("18.") and versions["react-dom"].startswith("18.")
    assert versions["graphiql"].startswith("3.8.")


@pytest.mark.skipif(
    shutil.which("npm") is None and os.environ.get("RELATA_REQUIRE_NODE") != "1",
    reason="npm not installed (RELATA_REQUIRE_NODE=1 makes this a failure)",
)
def test_files_are_the_ones_in_the_locked_tarballs(tmp_path: Path) -> None:
    assert shutil.which("npm"), "RELATA_REQUIRE_NODE=1 but npm is not on PATH"
    by_package: dict[str, list[ide.Asset]] = {}
    for asset in ide.assets().values():
        by_package.setdefault(asset.package, []).append(asset)
    for package, files in by_package.items():
        version = files[0].version
        done = subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        tarball = tmp_path / json.loads(done.stdout)[0]["filename"]
        data = tarball.read_bytes()
        algorithm, _, expected = LOCK[f"node_modules/{package}"]["integrity"].partition("-")
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        assert digest == expected, f"{package}@{version}: the tarball is not the locked one"
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for asset in files:
                member = tar.extractfile(f"package/{asset.path}")
                assert member is not None, asset.path
                vendored = (ide.ASSETS / asset.name).read_bytes()
                assert member.read() == vendored, f"{asset.name} differs from {package}@{version}"


async def test_page_uses_only_local_assets_with_sri(client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    text = page.text
    references = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert references and all(r.startswith("/graphiql/assets/") for r in references), references
    assert "://" not in text.split("<script>", 1)[0]
    for asset in ide.assets().values():
        assert f'"{asset.url}" integrity="{asset.integrity}"' in text, asset.name
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp  # no other origin is allowed
    assert "unpkg" not in text and "cdn" not in text.lower()


async def test_assets_are_served_with_long_cache_headers(client, db) -> None:  # type: ignore[no-untyped-def]
    for asset in ide.assets().values():
        r = await client.get(asset.url)
        assert r.status_code == 200, asset.name
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-type"].startswith(
            "text/javascript" if asset.name.endswith(".js") else "text/css"
        )
        assert ide.sri(r.content) == asset.integrity
    for missing in ("manifest.json", "..%2Fgraphiql.html", "nope.js"):
        assert (await client.get(f"/graphiql/assets/{missing}")).status_code == 404
    async with client_with(db, graphiql=False) as off:
        some = next(iter(ide.assets().values()))
        assert (await off.get(some.url)).status_code == 404
