"""The plumbing every REST handler shares: JSON answers and bodies, query and path parameters
and `locationId`. Handlers get a `Call` and only shape HTTP around services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app import validation
from app.auth import Principal
from app.config import Settings
from app.errors import BadUserInput, Forbidden
from db import Database

B = TypeVar("B")


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


def _base_name(name: str) -> str:
    # axios (the Node SDK) sends a list as `name[]=a&name[]=b`.
    return name[:-2] if name.endswith("[]") else name


def check_known_parameters(request: Request, known: frozenset[str]) -> None:
    """A query parameter the route does not take is refused before it runs, so a misspelt
    filter is never silently ignored."""
    unknown = sorted({n for n in request.query_params if _base_name(n) not in known})
    if unknown:
        raise BadUserInput(
            f"unknown query parameter {unknown[0]!r}: this route takes " + ", ".join(sorted(known)),
            field=unknown[0],
        )


def _values(request: Request, name: str) -> list[str]:
    params = request.query_params
    return [*params.getlist(name), *params.getlist(name + "[]")]


def query(request: Request, name: str) -> str | None:
    values = _values(request, name)
    if not values:
        return None
    if len(values) > 1:
        raise BadUserInput(f"query parameter {name} is given more than once", field=name)
    return _clean(values[0], name)


@dataclass
class Call(Generic[B]):
    """One request to a handler: its principal, its database and its body, already validated
    as the route's model (None for a route without one)."""

    request: Request
    principal: Principal
    db: Database
    body: B

    @property
    def location(self) -> str:
        return self.principal.location_id

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings  # type: ignore[no-any-return]

    def path(self, name: str) -> str:
        return _clean(str(self.request.path_params[name]), name)

    def _values(self, name: str) -> list[str]:
        return _values(self.request, name)

    def query(self, name: str) -> str | None:
        return query(self.request, name)

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


async def read_body(request: Request, max_depth: int) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise BadUserInput("the request body must be a JSON object", field="body")
    # The same rules as a GraphQL body (app/validation.py): UTF-8, bounded nesting, no NUL or
    # lone surrogate, 64-bit integers, finite numbers.
    data = validation.decode_json(raw, max_depth=max_depth)
    if not isinstance(data, dict):
        raise BadUserInput("the request body must be a JSON object", field="body")
    return data


def check_location(request: Request, principal: Principal, body: dict[str, Any] | None) -> None:
    """`locationId` (body first, then query) may be left out; when given it must be the token's
    own location: a token never reaches another location's data."""
    given: Any = None
    if body is not None and "locationId" in body:
        given = body["locationId"]
        if given is not None and not isinstance(given, str):
            raise BadUserInput("locationId must be a string", field="locationId")
    if given is None:
        given = query(request, "locationId")
    if given is not None and given != principal.location_id:
        raise Forbidden(
            f"locationId {given!r} is not the location of this token", field="locationId"
        )
