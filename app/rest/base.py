"""The plumbing every REST handler shares: the Version header, the bearer token, JSON bodies,
query parameters and `locationId`. Handlers get a `Call` and only shape HTTP around services."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from app import validation
from app.admission import admit
from app.auth import PRINCIPAL_SCOPE_KEY, Principal
from app.config import Settings
from app.errors import (
    UNAVAILABLE_MESSAGE,
    AppError,
    BadUserInput,
    Forbidden,
    InternalError,
    ServiceUnavailable,
)
from app.ratelimit import TokenBucketLimiter
from app.rest.errors import app_error_response
from db import Database, is_unavailable

log = logging.getLogger("relata.rest")

API_VERSION = "2021-07-28"
# Every version string HighLevel's own clients send (the API docs name 2021-07-28 and
# 2021-04-15; the Node SDK @gohighlevel/api-client sends 2023-02-21 by default and the Python SDK
# gohighlevel-api-client always sends v3). HighLevel serves them all with the same shapes here.
SUPPORTED_VERSIONS = (API_VERSION, "2021-04-15", "2023-02-21", "v3")

Handler = Callable[["Call"], Awaitable[Response]]


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z), status, media_type="application/json"
    )


def _clean(value: str, name: str) -> str:
    # Postgres text cannot hold NUL or lone surrogates; no valid id, key or location has one.
    return validation.check_string(value, name)


def check_parameters(request: Request) -> None:
    """Every query and path parameter passes the edge checks, read by the handler or not."""
    for name, value in (*request.query_params.multi_items(), *request.path_params.items()):
        validation.check_json({name: value})


# Query parameters every route takes: `locationId` (checked against the token's location).
COMMON_QUERY = frozenset({"locationId"})


def accepts(*names: str) -> Callable[[Handler], Handler]:
    """Declare the query parameters a handler reads besides `locationId`; any other is refused
    with 400 before the handler runs, so a misspelt filter is never silently ignored."""

    def mark(handler: Handler) -> Handler:
        handler.query_params = frozenset(names)  # type: ignore[attr-defined]
        return handler

    return mark


def _base_name(name: str) -> str:
    # axios (the Node SDK) sends a list as `name[]=a&name[]=b`.
    return name[:-2] if name.endswith("[]") else name


def check_known_parameters(request: Request, handler: Handler) -> None:
    known = COMMON_QUERY | getattr(handler, "query_params", frozenset())
    unknown = sorted({n for n in request.query_params if _base_name(n) not in known})
    if unknown:
        raise BadUserInput(
            f"unknown query parameter {unknown[0]!r}: this route takes " + ", ".join(sorted(known)),
            field=unknown[0],
        )


@dataclass
class Body:
    """A request's JSON object, with typed accessors that answer 400 on a wrong shape."""

    data: dict[str, Any]
    prefix: str = ""

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def required_str(self, name: str) -> str:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BadUserInput(f"{self.prefix}{name} is required", field=self.prefix + name)
        if not isinstance(value, str):
            raise BadUserInput(f"{self.prefix}{name} must be a string", field=self.prefix + name)
        return value

    def optional_str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            raise BadUserInput(f"{self.prefix}{name} must be a string", field=self.prefix + name)
        return value

    def optional_object(self, name: str) -> Body | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise BadUserInput(
                f"{self.prefix}{name} must be a JSON object", field=self.prefix + name
            )
        return Body(value, f"{self.prefix}{name}.")

    def optional_list(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadUserInput(
                f"{self.prefix}{name} must be a JSON array", field=self.prefix + name
            )
        return value


@dataclass
class Call:
    request: Request
    principal: Principal
    db: Database
    _body: Body | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings  # type: ignore[no-any-return]

    def path(self, name: str) -> str:
        return _clean(str(self.request.path_params[name]), name)

    def _values(self, name: str) -> list[str]:
        params = self.request.query_params
        return [*params.getlist(name), *params.getlist(name + "[]")]

    def query(self, name: str) -> str | None:
        values = self._values(name)
        if not values:
            return None
        if len(values) > 1:
            raise BadUserInput(f"query parameter {name} is given more than once", field=name)
        return _clean(values[0], name)

    def query_list(self, name: str) -> list[str] | None:
        """Repeated (`?a=1&a=2`), bracketed (`?a[]=1&a[]=2`, as axios sends) or comma-separated
        (`?a=1,2`) values, None when absent."""
        values = self._values(name)
        if not values:
            return None
        items = [v.strip() for raw in values for v in raw.split(",") if v.strip()]
        if not items:
            # A filter on nothing is a mistake (`?associationIds=,`), not "match nothing".
            raise BadUserInput(
                f"query parameter {name} is given but names nothing; give one or more values"
                f" (`{name}=a,b` or `{name}=a&{name}=b`) or leave it out",
                field=name,
            )
        return [_clean(v, name) for v in items]

    def query_int(self, name: str) -> int | None:
        raw = self.query(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw.strip())
        except ValueError:
            pass
        try:
            number = float(raw.strip())  # SDKs type skip/limit as numbers and may send `10.0`
            if not number.is_integer():
                raise ValueError(raw)
            return int(number)
        except (ValueError, OverflowError):
            raise BadUserInput(f"query parameter {name} must be an integer", field=name) from None

    def query_bool(self, name: str) -> bool:
        raw = self.query(name)
        if raw is None or raw == "":
            return False
        value = raw.strip().lower()
        if value in ("true", "1", "yes"):
            return True
        if value in ("false", "0", "no"):
            return False
        raise BadUserInput(f"query parameter {name} must be true or false", field=name)

    async def body(self) -> Body:
        if self._body is None:
            raw = await self.request.body()
            if not raw.strip():
                raise BadUserInput("the request body must be a JSON object", field="body")
            # The same rules as a GraphQL body (app/validation.py): UTF-8, bounded nesting, no
            # NUL or lone surrogate, 64-bit integers, finite numbers.
            data = validation.decode_json(raw, max_depth=self.settings.max_json_depth)
            if not isinstance(data, dict):
                raise BadUserInput("the request body must be a JSON object", field="body")
            self._body = Body(data)
        return self._body

    def check_location(self, body: Body | None = None) -> str:
        """`locationId` (body first, then query) may be left out; when given it must be the
        token's own location: a token never reaches another location's data."""
        given: Any = None
        if body is not None and "locationId" in body:
            given = body.get("locationId")
            if given is not None and not isinstance(given, str):
                raise BadUserInput("locationId must be a string", field="locationId")
        if given is None:
            given = self.query("locationId")
        if given is not None and given != self.principal.location_id:
            raise Forbidden(
                f"locationId {given!r} is not the location of this token", field="locationId"
            )
        return self.principal.location_id


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Version header, then admission (token, lookup, rate limit: app/admission.py), then the
    handler; AppErrors become their HTTP status and anything else a masked 500, logged with
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
            version = request.headers.get("version")
            if version is None or not version.strip():
                raise BadUserInput(
                    f"the Version header is required: send 'Version: {API_VERSION}'",
                    field="Version",
                )
            if version.strip() not in SUPPORTED_VERSIONS:
                raise BadUserInput(
                    f"unsupported Version {version.strip()!r}: send one of"
                    f" {', '.join(SUPPORTED_VERSIONS)} (e.g. 'Version: {API_VERSION}')",
                    field="Version",
                )
            # The token, its lookup and its rate limit, classified as GraphQL classifies them.
            principal = await admit(request)
            check_parameters(request)
            check_known_parameters(request, handler)
            settings: Settings = request.app.state.settings
            db: Database = request.app.state.db
            scoped = db.for_request(principal.location_id, settings.connections_per_request)
            return await handler(Call(request, principal, scoped))
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
                getattr(handler, "__qualname__", handler),
            )
            return app_error_response(InternalError())

    handle.__name__ = getattr(handler, "__name__", "handle")
    return handle
