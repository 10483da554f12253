"""A REST caller for the tests: one token, HighLevel's headers on every request, and every
answer checked against the shape the route table declares for it (app/rest/table.py): a
success is its route's `answer` (no undeclared key: the shapes are closed) with its status, an
error is `Error`."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
from pydantic import TypeAdapter
from starlette.routing import compile_path

from app.rest import ROUTES
from app.rest.operation import Operation
from app.rest.shapes import Error

VERSION = "2021-07-28"


@cache
def _patterns() -> list[tuple[str, re.Pattern[str], Operation[Any, Any]]]:
    out = []
    for op in ROUTES:
        twin = op.path.rstrip("/") if op.path.endswith("/") else op.path + "/"
        out.extend((op.method, compile_path(p)[0], op) for p in (op.path, twin))
    return out


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def check_answer(method: str, path: str, r: httpx.Response) -> None:
    """`r` is what the table says `method path` answers (nothing is checked for a path the
    table does not serve, such as /openapi.json)."""
    op = next((op for m, pattern, op in _patterns() if m == method and pattern.match(path)), None)
    if op is None or not r.headers.get("content-type", "").startswith("application/json"):
        return
    if r.status_code < 400:
        assert r.status_code == op.status, (method, path, r.status_code, op.status)
        _adapter(op.answer).validate_python(r.json())
    else:
        _adapter(Error).validate_python(r.json())


class Rest:
    def __init__(self, client: httpx.AsyncClient, token: str | None, location: str) -> None:
        self.client, self.token, self.location = client, token, location

    def headers(self) -> dict[str, str]:
        headers = {"Version": VERSION, "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        r = await self.client.request(
            method,
            path,
            json=json,
            params=params,
            content=content,
            headers={**self.headers(), **(headers or {})},
        )
        check_answer(method, r.request.url.path, r)
        return r

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("POST", path, json=body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("PUT", path, json=body, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("DELETE", path, **kw)

    # Setup shorthands, over REST too.
    async def create_object(self, key: str, singular: str = "Thing", plural: str = "Things") -> str:
        r = await self.post(
            "/objects/",
            {
                "locationId": self.location,
                "key": key,
                "labels": {"singular": singular, "plural": plural},
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["object"]["key"])

    async def create_record(self, object_key: str, **props: Any) -> str:
        r = await self.post(
            f"/objects/{object_key}/records", {"locationId": self.location, "properties": props}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["record"]["id"])

    async def create_association(self, **fields: Any) -> dict[str, Any]:
        r = await self.post("/associations/", {"locationId": self.location, **fields})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def link(self, association_id: str, first: str, second: str) -> httpx.Response:
        return await self.post(
            "/associations/relations",
            {
                "locationId": self.location,
                "associationId": association_id,
                "firstRecordId": first,
                "secondRecordId": second,
            },
        )


def expect_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is HighLevel's error shape with this status (and our code)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def admin(tenant: Any) -> Rest:
    return Rest(tenant.admin.client, tenant.admin_token, tenant.location)


def user(tenant: Any) -> Rest:
    return Rest(tenant.user.client, tenant.user_token, tenant.location)
