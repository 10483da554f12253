"""app/compression.py: ordinary gzip from ISA-L, for whole bodies, streamed ones and bodies large
enough for a worker thread; what Starlette's rules leave alone stays alone."""

from __future__ import annotations

import gzip
from collections.abc import Sequence

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.compression import THREAD_MINIMUM_BYTES, GZipMiddleware

TEXT = b"".join(
    b'{"id":"rec_%032x","displayName":"Person %d"},' % (i * 7919, i) for i in range(3000)
)


def app_sending(chunks: Sequence[bytes], media_type: str = "application/json") -> GZipMiddleware:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", media_type.encode())]
        if len(chunks) == 1:
            headers.append((b"content-length", str(len(chunks[0])).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )

    return GZipMiddleware(app, minimum_size=1024)


async def fetch(app: GZipMiddleware, encoding: str = "gzip") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/", headers={"accept-encoding": encoding})


@pytest.mark.parametrize(
    "chunks",
    [
        [TEXT],
        [TEXT[:5000], TEXT[5000:90000], b"", TEXT[90000:]],
        [TEXT * ((THREAD_MINIMUM_BYTES // len(TEXT)) + 1)],  # deflated in a worker thread
    ],
    ids=["whole", "streamed", "threaded"],
)
async def test_bodies_are_ordinary_gzip(chunks: list[bytes]) -> None:
    r = await fetch(app_sending(chunks))
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert r.content == b"".join(chunks)  # decoded by httpx, with the standard library's zlib
    if len(chunks) == 1:
        assert int(r.headers["content-length"]) == r.num_bytes_downloaded
        assert r.num_bytes_downloaded < len(chunks[0]) / 4


async def test_the_bytes_on_the_wire_are_a_gzip_member() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await GZipMiddleware(inner, minimum_size=1024)(scope, receive, capture)

    sent: list[dict[str, object]] = []

    async def capture(message: dict[str, object]) -> None:  # type: ignore[misc]
        sent.append(message)

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": TEXT})

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept-encoding", b"gzip")],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    await app(scope, receive, capture)  # type: ignore[arg-type]
    body = sent[1]["body"]
    assert isinstance(body, bytes) and body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body) == TEXT


async def test_what_is_not_compressed() -> None:
    plain = await fetch(app_sending([TEXT]), encoding="identity")
    assert "content-encoding" not in plain.headers and plain.content == TEXT
    small = await fetch(app_sending([TEXT[:500]]))
    assert "content-encoding" not in small.headers and small.content == TEXT[:500]
    events = await fetch(app_sending([TEXT[:5000], TEXT[5000:]], "text/event-stream"))
    assert "content-encoding" not in events.headers and events.content == TEXT
