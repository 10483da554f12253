"""GraphiQL in a real browser: Debian's `chromium`, headless, driven by Playwright for Python
(pinned in the `test` extra; only its driver is used, never `playwright install`: the browser
is the system one). A real `relata serve` on an empty database prints the GraphiQL link with
its first admin token; the test opens it as a person would, and every request the page makes
to any host but 127.0.0.1 is blocked and fails the test.

Without chromium (or Playwright) the test is skipped; with RELATA_REQUIRE_BROWSER=1 (CI) it
fails instead."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.test_failures import free_port

CHROMIUM = os.environ.get("RELATA_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None
)
try:
    import playwright.async_api as pw
except ImportError:  # pragma: no cover - the test extra installs it
    pw = None  # type: ignore[assignment]

REQUIRED = os.environ.get("RELATA_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or pw is None) and not REQUIRED,
    reason="chromium or playwright not installed (RELATA_REQUIRE_BROWSER=1 makes this a failure)",
)

LINK = re.compile(r"^GraphiQL: (http://\S+/graphql#token=(\S+))$", re.M)
VIEWER = "{ viewer { role location { id name } } }"
CREATE_CONTACT = (
    'mutation { createRecord(input: {objectKey: "contact", properties: {firstName: "Live"}})'
    " { id } }"
)
RECORDS = (
    '{ records(objectKey: "contact", first: 2) { totalCount edges { node { displayName } } } }'
)


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    link: str
    token: str
    log: Path


@pytest.fixture
async def server(pg_dsn: str, tmp_path: Path) -> AsyncIterator[Server]:
    """`relata serve --demo` on a database of its own, so it is a first start: it creates the
    default location's admin token and prints the link."""
    name = f"gq_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = urlsplit(pg_dsn)._replace(path="/" + name).geturl()
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": dsn, "RELATA_PORT": str(port), "RELATA_GRAPHIQL": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived server, not awaited
            [sys.executable, "-m", "app.cli", "serve", "--demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(300):
                assert proc.poll() is None, log.read_text()
                try:
                    if (await client.get(url + "/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("server did not start: " + log.read_text())
        found = LINK.search(log.read_text())
        assert found, "relata serve printed no GraphiQL link:\n" + log.read_text()
        yield Server(proc, url, found.group(1), found.group(2), log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        admin = await asyncpg.connect(pg_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def input_types(server: Server) -> list[str]:
    query = "{ __schema { types { name kind } } }"
    async with httpx.AsyncClient() as client:
        r = await client.post(
            server.url + "/graphql",
            json={"query": query},
            headers={"authorization": f"Bearer {server.token}"},
        )
    types = r.json()["data"]["__schema"]["types"]
    names = sorted(t["name"] for t in types if t["kind"] == "INPUT_OBJECT")
    assert "CreateRecordInput" in names, names
    return names


class Browser:
    """One page, every request recorded; any not to 127.0.0.1 is aborted and remembered."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )

    async def block_outside(self, context: Any) -> None:
        async def route(r: Any) -> None:
            url = r.request.url
            if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
                await r.continue_()
            else:
                self.outside.append(url)
                await r.abort()

        await context.route("**/*", route)
        # Requests the router does not see (web sockets, service workers) still show up here.
        context.on(
            "request",
            lambda req: (
                None
                if urlsplit(req.url).hostname == "127.0.0.1"
                or req.url.startswith(("data:", "blob:"))
                else self.outside.append(req.url)
            ),
        )

    async def start(self, query: str) -> None:
        page = self.page
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        await editor.click()
        await page.keyboard.press("Control+A")
        await page.keyboard.press("Delete")
        await page.keyboard.insert_text(query)
        typed = await editor.evaluate("el => el.CodeMirror.getValue()")
        assert typed == query, typed
        # GraphiQL takes the editor's text into its state after a short debounce.
        await page.wait_for_timeout(400)
        await page.locator(".graphiql-execute-button").click()

    async def response(self) -> str:
        return str(
            await self.page.locator(".graphiql-response .CodeMirror").evaluate(
                "el => el.CodeMirror.getValue()"
            )
        )

    async def run_query(self, query: str) -> str:
        page = self.page
        await self.start(query)
        await page.wait_for_function(
            "() => document.querySelector('.graphiql-response .CodeMirror')"
            ".CodeMirror.getValue().includes('\"data\"')",
            timeout=15_000,
        )
        return str(
            await page.locator(".graphiql-response .CodeMirror").evaluate(
                "el => el.CodeMirror.getValue()"
            )
        )

    async def open_docs(self) -> Any:
        docs = self.page.locator(".graphiql-doc-explorer")
        if not await docs.is_visible():
            await self.page.get_by_role("button", name="Show Documentation Explorer").click()
        # The search box shows once the schema has loaded.
        await pw.expect(docs.locator(".graphiql-doc-explorer-search input")).to_be_visible(
            timeout=15_000
        )
        return docs

    async def visit_type(self, name: str) -> str | None:
        """Find `name` with the doc explorer's search and open it; None when its page shows,
        else what went wrong."""
        page = self.page
        docs = await self.open_docs()
        search = docs.locator(".graphiql-doc-explorer-search input")
        await search.click()
        await search.fill(name)
        option = docs.locator("[role=option]", has_text=re.compile(rf"^{name}$"))
        try:
            await option.first.click(timeout=5_000)
        except pw.Error as exc:
            return f"{name}: not found by the docs search ({exc.message.splitlines()[0]})"
        title = page.locator(".graphiql-doc-explorer-title")
        try:
            await pw.expect(title).to_have_text(name, timeout=5_000)
            await pw.expect(docs.locator(".graphiql-doc-explorer-section-title")).to_contain_text(
                ["Fields"], timeout=5_000
            )
            await pw.expect(docs.locator(".graphiql-doc-explorer-field-name").first).to_be_visible(
                timeout=5_000
            )
        except AssertionError as exc:
            visible = (await page.locator("body").inner_text())[:200]
            return f"{name}: its docs did not render ({exc}); the page shows {visible!r}"
        return None


async def test_graphiql_in_a_browser(server: Server, tmp_path: Path) -> None:
    assert CHROMIUM, "RELATA_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
    assert pw is not None, "RELATA_REQUIRE_BROWSER=1 but playwright is not installed"
    expected_inputs = await input_types(server)
    async with pw.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            b = Browser(await context.new_page())
            await b.block_outside(context)
            page = b.page

            # The printed link: the token leaves the address bar and lands in the headers.
            await page.goto(server.link)
            await pw.expect(page.locator(".graphiql-container")).to_be_visible(timeout=30_000)
            assert "token" not in page.url and page.url == server.url + "/graphql", page.url
            headers = page.locator(".graphiql-editor-tool")
            await pw.expect(headers).to_contain_text("Authorization", timeout=10_000)
            await pw.expect(headers).to_contain_text(f"Bearer {server.token}")
            # The schema loads with no click: the docs list the root types.
            docs = await b.open_docs()
            await pw.expect(docs).to_contain_text("Root Types")
            await pw.expect(docs).to_contain_text("query: Query")
            await pw.expect(page.locator("body")).not_to_contain_text("Error fetching schema")

            result = await b.run_query(VIEWER)
            assert '"role": "ADMIN"' in result and '"name": "Default location"' in result, result
            result = await b.run_query(RECORDS)
            assert '"totalCount": 6' in result and '"displayName"' in result, result
            await pw.expect(page.locator(".graphiql-response")).to_contain_text("totalCount")

            # A subscription runs too (over Server-Sent Events): a record created elsewhere
            # shows up in the response pane while it is open; the same button stops it.
            await b.start("subscription { events(types: [RECORD_CREATE]) { type objectKey } }")
            created = False
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(100):
                    r = await client.post(
                        server.url + "/graphql",
                        json={"query": CREATE_CONTACT},
                        headers={"authorization": f"Bearer {server.token}"},
                    )
                    assert r.status_code == 200 and "errors" not in r.json(), r.text
                    if "RECORD_CREATE" in await b.response():
                        created = True
                        break
                    await asyncio.sleep(0.2)
            assert created, await b.response()
            assert '"objectKey": "contact"' in await b.response()
            await page.locator(".graphiql-execute-button").click()  # stop
            await pw.expect(page.locator(".graphiql-execute-button")).to_have_attribute(
                "aria-label", re.compile("^Execute"), timeout=10_000
            )

            # A reload keeps the token (localStorage), the link is not needed again.
            await page.reload()
            await pw.expect(headers).to_contain_text(f"Bearer {server.token}", timeout=30_000)

            # The docs of every input type render (none goes blank). A failure is noted (with
            # a screenshot) and the rest are still visited.
            failures: list[str] = []
            for name in expected_inputs:
                failure = await b.visit_type(name)
                if failure:
                    failures.append(failure)
                    await page.screenshot(path=str(tmp_path / f"graphiql-{name}.png"))
                    await page.reload()  # a crashed explorer takes the page down with it

            # What a person sees: a query's result beside the docs of an input type.
            await b.run_query(RECORDS)
            assert await b.visit_type("CreateRelationInput") is None
            shot = tmp_path / "graphiql.png"
            await page.screenshot(path=str(shot))
            print(f"screenshot: {shot}")
            visible = await page.locator("body").inner_text()
            for text in ("CreateRelationInput", "associationId", "firstRecordId", "totalCount"):
                assert text in visible, (text, visible)
            assert "Ada Lovelace" in visible or "Alan Turing" in visible, visible

            # The explorer plugin (vendored too) lists the root fields.
            await page.get_by_role("button", name="Show GraphiQL Explorer").click()
            explorer = page.locator(".graphiql-explorer-root")
            await pw.expect(explorer).to_contain_text("viewer", timeout=10_000)
            await pw.expect(explorer).to_contain_text("records")

            # No token: a short hint, not "Error fetching schema"; a pasted token opens GraphiQL.
            fresh = await browser.new_context()
            b2 = Browser(await fresh.new_page())
            await b2.block_outside(fresh)
            await b2.page.goto(server.url + "/graphql")
            hint = b2.page.locator("#relata-hint")
            await pw.expect(hint).to_be_visible(timeout=15_000)
            await pw.expect(hint).to_contain_text("needs a token")
            await pw.expect(b2.page.locator("body")).not_to_contain_text("Error fetching schema")
            await b2.page.screenshot(path=str(tmp_path / "graphiql-no-token.png"))
            await b2.page.locator("#relata-token").fill(server.token)
            await b2.page.get_by_role("button", name="Open GraphiQL").click()
            result = await b2.run_query(VIEWER)
            assert '"role": "ADMIN"' in result, result

            assert not b.outside and not b2.outside, b.outside + b2.outside
            assert not failures, "\n".join(failures) + "\n" + "\n".join(b.errors)
            assert not b.errors and not b2.errors, b.errors + b2.errors
        finally:
            await browser.close()
    # The token was in a fragment only: no request line the server logged carries it.
    after_start = server.log.read_text().split(server.link, 1)[1]
    assert server.token not in after_start
    assert "/graphiql/assets/graphiql-" in after_start  # the page's requests were logged
