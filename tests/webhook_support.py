"""A webhook receiver for tests: a small Starlette app served by uvicorn on 127.0.0.1 (its own
thread and event loop), verifying every request's signature with the `standardwebhooks` package
and recording what arrived. Each endpoint is `/hook/<name>`; its behaviour is programmable."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# A behaviour gets the endpoint's request number (0, 1, ...) and answers a status, or a
# (seconds to stall, status) pair.
Behaviour = Callable[[int], int | tuple[float, int]]


@dataclass
class Hit:
    name: str
    webhook_id: str
    timestamp: str
    body: dict[str, Any]
    verified: bool
    status: int
    at: float


@dataclass
class Receiver:
    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    active: Counter[str] = field(default_factory=Counter)
    overlaps: list[str] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    def delivered(self, name: str) -> list[Hit]:
        """Requests answered 2xx, in arrival order."""
        return [h for h in self.requests[name] if 200 <= h.status < 300]

    def delivered_ids(self, name: str) -> list[str]:
        return [h.webhook_id for h in self.delivered(name)]

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "final":
            return JSONResponse({"ok": True})
        raw = await request.body()
        headers = dict(request.headers)
        webhook_id = headers.get("webhook-id", "")
        with self._lock:
            self.active[webhook_id] += 1
            if self.active[webhook_id] > 1:
                self.overlaps.append(webhook_id)
            n = len(self.requests[name])
            # Reserve the slot now: concurrent requests count in arrival order.
            hit = Hit(name, webhook_id, headers.get("webhook-timestamp", ""), {}, False, 0, 0.0)
            self.requests[name].append(hit)
        try:
            try:
                body = Verifier(self.secrets[name]).verify(raw, headers)
                hit.verified = True
            except (WebhookVerificationError, KeyError):
                import json

                body = json.loads(raw)
            hit.body = body
            action = self.behaviours.get(name, lambda n: 200)(n)
            if isinstance(action, tuple):
                await asyncio.sleep(action[0])
                status = action[1]
            else:
                status = action
            hit.status, hit.at = status, time.monotonic()
            if 300 <= status < 400:
                return Response(status_code=status, headers={"location": self.url("final")})
            return JSONResponse({"status": status}, status_code=status)
        finally:
            with self._lock:
                self.active[webhook_id] -= 1

    def start(self, port: int | None = None) -> None:
        app = Starlette(routes=[Route("/hook/{name}", self.handle, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port or self.port or 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.01)
        self._sock = sock

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self._sock.close()


def reserve_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]],
    timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
    what: str = "condition",
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
