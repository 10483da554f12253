"""One REST operation as the route table declares it (app/rest/table.py), and the Starlette
endpoint that serves it: Version header, admission, parameters, `locationId`, the body as its
model, the handler, the answer with its status. /openapi.json describes the same declaration."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from app.admission import admit
from app.auth import PRINCIPAL_SCOPE_KEY, Principal
from app.config import Settings
from app.errors import (
    UNAVAILABLE_MESSAGE,
    AppError,
    BadUserInput,
    InternalError,
    ServiceUnavailable,
)
from app.ratelimit import TokenBucketLimiter
from app.rest import bodies
from app.rest.base import (
    Call,
    check_known_parameters,
    check_location,
    check_parameters,
    json_response,
    read_body,
)
from app.rest.errors import app_error_response
from db import Database, is_unavailable

log = logging.getLogger("relata.rest")

API_VERSION = "2021-07-28"
# Every version string HighLevel's own clients send (the API docs name 2021-07-28 and
# 2021-04-15; the Node SDK @gohighlevel/api-client sends 2023-02-21 by default and the Python SDK
# gohighlevel-api-client always sends v3). HighLevel serves them all with the same shapes here.
SUPPORTED_VERSIONS = (API_VERSION, "2021-04-15", "2023-02-21", "v3")

B = TypeVar("B")
R = TypeVar("R")


@dataclass(frozen=True)
class Param:
    """A query or path parameter: its name, what it means, its Python type (/openapi.json shows
    pydantic's JSON Schema of it) and, for a list, that it may be repeated or comma-separated."""

    name: str
    description: str
    type: Any = str
    many: bool = False


# Every route takes `locationId` (checked against the token's location).
LOCATION = Param(
    "locationId", "The token's location; may be left out, anything else is refused with 403"
)


@dataclass(frozen=True)
class Operation(Generic[B, R]):
    """One route: `handler` gets the body validated as `body` (None: the route reads none) and
    returns the `answer`, sent with `status`. `path_params` describes the path's parameters that
    app/rest/table.py's common ones do not; `errors` are the statuses it documents."""

    method: str
    path: str
    handler: Callable[[Call[B]], Awaitable[R]]
    answer: type[R]
    summary: str
    tag: str
    body: type[B] | None = None
    status: int = 200
    query: tuple[Param, ...] = ()
    path_params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404)

    @property
    def query_names(self) -> frozenset[str]:
        return frozenset(p.name for p in (LOCATION, *self.query))


def route(
    method: str,
    path: str,
    handler: Callable[[Call[B]], Awaitable[R]],
    answer: type[R],
    summary: str,
    tag: str,
    *,
    body: type[B] | None = None,
    status: int = 200,
    query: tuple[Param, ...] = (),
    path_params: tuple[Param, ...] = (),
    errors: tuple[int, ...] = (400, 401, 403, 404),
) -> Operation[Any, Any]:
    """An Operation, built where mypy infers B and R from its arguments alone: a handler whose
    body or answer type is not the declared one does not type-check. (A list typed
    `list[Operation[Any, Any]]` would give Operation(...) Any as context and check nothing.)"""
    return Operation(
        method, path, handler, answer, summary, tag, body, status, query, path_params, errors
    )


def _check_version(request: Request) -> None:
    version = request.headers.get("version")
    if version is None or not version.strip():
        raise BadUserInput(
            f"the Version header is required: send 'Version: {API_VERSION}'", field="Version"
        )
    if version.strip() not in SUPPORTED_VERSIONS:
        raise BadUserInput(
            f"unsupported Version {version.strip()!r}: send one of"
            f" {', '.join(SUPPORTED_VERSIONS)} (e.g. 'Version: {API_VERSION}')",
            field="Version",
        )


def endpoint(op: Operation[Any, Any]) -> Callable[[Request], Awaitable[Response]]:
    """Version header, then admission (token, lookup, rate limit: app/admission.py), then the
    operation; AppErrors become their HTTP status and anything else a masked 500, logged with
    what the request was."""

    async def handle(request: Request) -> Response:
        response = await respond(request)
        # HighLevel's rate-limit headers on every answer to a known token (errors included), so
        # the SDKs' own back-off works.
        limiter: TokenBucketLimiter | None = getattr(request.app.state, "rate_limiter", None)
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
        if limiter is not None and isinstance(principal, Principal):
            response.headers.update(limiter.headers(principal.token_id))
        return response

    async def respond(request: Request) -> Response:
        principal: Principal | None = None
        try:
            _check_version(request)
            # The token, its lookup and its rate limit, classified as GraphQL classifies them.
            principal = await admit(request)
            check_parameters(request)
            check_known_parameters(request, op.query_names)
            settings: Settings = request.app.state.settings
            raw = None if op.body is None else await read_body(request, settings.max_json_depth)
            check_location(request, principal, raw)
            # Validated before the handler runs: a refused body changes nothing.
            body = None if op.body is None or raw is None else bodies.parse(op.body, raw)
            db: Database = request.app.state.db
            scoped = db.for_request(principal.location_id, settings.connections_per_request)
            answer = await op.handler(Call(request, principal, scoped, body))
            return json_response(answer, op.status)
        except AppError as exc:
            return app_error_response(exc)
        except ClientDisconnect:
            raise  # nobody to answer; the request log records it quietly
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("REST %s %s: database unavailable (%s)", request.method,
                            request.url.path, exc.__class__.__name__)  # fmt: skip
                return app_error_response(ServiceUnavailable(UNAVAILABLE_MESSAGE))
            log.exception(
                "REST %s %s failed (location %s, handler %s)",
                request.method,
                request.url.path,
                principal.location_id if principal else "-",
                getattr(op.handler, "__qualname__", op.handler),
            )
            return app_error_response(InternalError())

    handle.__name__ = getattr(op.handler, "__name__", "handle")
    return handle
