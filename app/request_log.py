"""One structured JSON log line per HTTP request, on the `relata.access` logger.

Fields: ts, level, event, requestId, method, path, status, durationMs, location, tokenId,
operationName, operationType. Never a header, a body or a token: the location and the token's
row id (not the token) identify the caller."""

from __future__ import annotations

import logging
import random
import re
import sys
import time
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "relata.access"
REQUEST_ID_HEADER = b"x-request-id"
# nginx's "client closed request": the client went away before it sent the whole body.
CLIENT_CLOSED_REQUEST = 499
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")

log = logging.getLogger(ACCESS_LOGGER)
disconnects = logging.getLogger("relata.web")
# The handler configure_access_log installs; while it is the logger's only one, lines go straight
# to its stream: a LogRecord, the caller lookup and the handler chain cost ~40 us a request, a
# twentieth of a record page's CPU, for a line that is already formatted.
_configured: logging.StreamHandler[Any] | None = None
_second: tuple[int, str] = (0, "")


def _timestamp() -> str:
    global _second
    now = int(time.time())
    if _second[0] != now:
        _second = (now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    return _second[1]


def _write(line: str) -> None:
    handler = _configured
    if handler is not None and log.handlers == [handler] and log.isEnabledFor(logging.INFO):
        stream = handler.stream
        stream.write(line + "\n")
        stream.flush()
    else:
        log.info(line)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
            return str(value.decode())
    return None


class RequestLog:
    """Outermost middleware: assigns the request id, times the request, logs the line."""

    def __init__(self, app: ASGIApp, principal_key: str, operation_key: str) -> None:
        self.app, self.principal_key, self.operation_key = app, principal_key, operation_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # 128 random bits as 32 hex digits, like uuid4().hex without a getrandom call each.
        request_id = _incoming_id(scope) or f"{random.getrandbits(128):032x}"
        scope["relata.request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # Not a server error: nobody is left to answer. No traceback, no 500.
            status = CLIENT_CLOSED_REQUEST
            disconnects.info(
                "client disconnected before the request was read: %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
        finally:
            self._log(scope, request_id, status, time.perf_counter() - started)

    def _log(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        principal = scope.get(self.principal_key)
        operation: dict[str, Any] = scope.get(self.operation_key) or {}
        line = {
            "ts": _timestamp(),
            "level": "info" if status < 500 else "error",
            "event": "request",
            "requestId": request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "durationMs": round(seconds * 1000, 2),
            "location": getattr(principal, "location_id", None) or None,
            "tokenId": getattr(principal, "token_id", None) or None,
            "operationName": operation.get("name"),
            "operationType": operation.get("type"),
        }
        _write(orjson.dumps(line).decode())


def configure_access_log(stream: Any = None) -> None:
    """Send access lines to stderr as bare JSON (one object per line), not via the root format."""
    global _configured
    handler = _configured = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
