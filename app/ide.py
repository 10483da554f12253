"""Relata's GraphiQL page, served entirely by this server: the browser builds of React, GraphiQL
and its explorer plugin are vendored in app/static/graphiql/ (clients/graphiql-assets/update.sh
refreshes them; manifest.json holds each file's origin and SRI hash), so the page makes no
request to any other host. The page reads the token from the URL fragment (never sent here)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"
ASSET_PREFIX = "/graphiql/assets/"
# A file's name carries its package version (update.mjs): a new build is a new URL.
ASSET_CACHE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Load order matters: GraphiQL needs React, the explorer plugin needs window.GraphiQL.
_ORDER = ("react", "react-dom", "graphiql", "@graphiql/plugin-explorer")


@dataclass(frozen=True)
class Asset:
    name: str
    package: str
    version: str
    path: str
    tarball_integrity: str
    integrity: str

    @property
    def url(self) -> str:
        return ASSET_PREFIX + self.name


@functools.cache
def assets() -> dict[str, Asset]:
    """The vendored files by served name, from manifest.json."""
    manifest = json.loads((ASSETS / "manifest.json").read_text())
    return {
        name: Asset(
            name=name,
            package=entry["package"],
            version=entry["version"],
            path=entry["path"],
            tarball_integrity=entry["tarballIntegrity"],
            integrity=entry["integrity"],
        )
        for name, entry in manifest.items()
    }


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def _ordered(suffix: str) -> list[Asset]:
    chosen = [a for a in assets().values() if a.name.endswith(suffix)]
    return sorted(chosen, key=lambda a: _ORDER.index(a.package))


@dataclass(frozen=True)
class Page:
    html: str
    csp: str


@functools.cache
def page() -> Page:
    script = (STATIC / "graphiql-page.js").read_text()
    stylesheets = "\n    ".join(
        f'<link rel="stylesheet" href="{a.url}" integrity="{a.integrity}" />'
        for a in _ordered(".css")
    )
    scripts = "\n    ".join(
        f'<script src="{a.url}" integrity="{a.integrity}"></script>' for a in _ordered(".js")
    )
    text = (
        (STATIC / "graphiql.html")
        .read_text()
        .replace("{{stylesheets}}", stylesheets)
        .replace("{{scripts}}", scripts)
        .replace("{{inline_script}}", script)
    )
    inline = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    # The browser refuses any other origin: no CDN, no web font, no beacon. Styles may be
    # inline (React and CodeMirror set style attributes); fonts are data: URLs in the CSS.
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'sha256-{inline}'",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self' data:",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return Page(text, csp)


def page_response() -> Response:
    built = page()
    return HTMLResponse(
        built.html,
        headers={
            "content-security-policy": built.csp,
            "cache-control": "no-cache",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
        },
    )


async def asset(request: Request) -> Response:
    """GET /graphiql/assets/{name}: only the files manifest.json names."""
    name = request.path_params["name"]
    found = assets().get(name)
    if found is None:
        raise HTTPException(404)
    return FileResponse(
        ASSETS / found.name,
        media_type=_TYPES[Path(found.name).suffix],
        headers={"cache-control": ASSET_CACHE, "x-content-type-options": "nosniff"},
    )


__all__ = ["ASSETS", "Asset", "asset", "assets", "page", "page_response", "sri"]
