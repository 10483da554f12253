"""/openapi.json, generated: `paths` from the route table (app/rest/table.py) and
`components.schemas` from the request models (app/rest/bodies.py) and answer shapes
(app/rest/shapes.py) by pydantic's JSON Schema generator. Nothing here describes a field."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema
from starlette.requests import Request
from starlette.responses import Response

from app.rest.base import json_response
from app.rest.operation import API_VERSION, LOCATION, SUPPORTED_VERSIONS, Operation, Param
from app.rest.shapes import Error
from app.rest.table import PATH_PARAMS, ROUTES

REF_TEMPLATE = "#/components/schemas/{model}"
_TEMPLATE = re.compile(r"\{([^}]+)\}")
_ERRORS = {
    400: "Missing or malformed field, header or parameter",
    401: "Missing, unknown or revoked bearer token",
    403: "Missing scope or role, or a locationId that is not the token's",
    404: "Unknown object, record, association or relation",
    409: "Duplicate key, or association in use",
    422: "A limit would be exceeded",
}


class _Generator(GenerateJsonSchema):
    # A property's title would only repeat its name.
    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False


def schemas(routes: Iterable[Operation[Any, Any]]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Each request body (validation mode) and answer (serialization mode) of `routes`, plus
    Error: (their references by (type, mode), the schemas by component name)."""
    wanted: dict[tuple[Any, JsonSchemaMode], TypeAdapter[Any]] = {}
    for op in routes:
        if op.body is not None:
            wanted[op.body, "validation"] = TypeAdapter(op.body)
        wanted[op.answer, "serialization"] = TypeAdapter(op.answer)
    wanted[Error, "serialization"] = TypeAdapter(Error)
    refs, top = TypeAdapter.json_schemas(
        [(kind, mode, adapter) for (kind, mode), adapter in wanted.items()],
        ref_template=REF_TEMPLATE,
        schema_generator=_Generator,
    )
    return refs, top.get("$defs", {})


def documented_paths(routes: Iterable[Operation[Any, Any]]) -> dict[str, str]:
    """Each served path as /openapi.json writes it. OpenAPI forbids two templates that differ
    only in their parameters' names (`/x/{recordId}`, `/x/{relationId}`): those share one path,
    with `id` where the names differ."""
    by_shape: dict[str, set[str]] = defaultdict(set)
    for op in routes:
        by_shape[_TEMPLATE.sub("{}", op.path)].add(op.path)
    out: dict[str, str] = {}
    for shape, paths in by_shape.items():
        path = shape
        for names in zip(*(_TEMPLATE.findall(p) for p in sorted(paths)), strict=True):
            path = path.replace("{}", "{" + (names[0] if len(set(names)) == 1 else "id") + "}", 1)
        out.update(dict.fromkeys(paths, path))
    return out


def _param(p: Param, where: str, name: str | None = None) -> dict[str, Any]:
    schema = TypeAdapter(p.type).json_schema()
    out: dict[str, Any] = {"name": name or p.name, "in": where, "description": p.description}
    if where == "path":
        out["required"] = True
    if p.many:
        return {
            **out,
            "schema": {"type": "array", "items": schema},
            "style": "form",
            "explode": True,
        }
    return {**out, "schema": schema}


def _content(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _operation(op: Operation[Any, Any], path: str, refs: dict[Any, Any]) -> dict[str, Any]:
    own = {p.name: p for p in op.path_params}
    served = _TEMPLATE.findall(op.path)
    params = [
        _param(own.get(name) or PATH_PARAMS[name], "path", documented)
        for name, documented in zip(served, _TEMPLATE.findall(path), strict=True)
    ]
    # A body carries locationId; a route without one takes it in the query.
    query = op.query if op.body is not None else (LOCATION, *op.query)
    params.extend(_param(p, "query") for p in query)
    error = refs[Error, "serialization"]
    out: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [{"$ref": "#/components/parameters/Version"}, *params],
        "responses": {
            str(op.status): {
                "description": "Success",
                "content": _content(refs[op.answer, "serialization"]),
            },
            **{
                str(code): {"description": _ERRORS[code], "content": _content(error)}
                for code in op.errors
            },
        },
    }
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _content(refs[op.body, "validation"])}
    return out


def document(routes: list[Operation[Any, Any]]) -> dict[str, Any]:
    refs, components = schemas(routes)
    where = documented_paths(routes)
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for op in routes:
        paths[where[op.path]][op.method.lower()] = _operation(op, where[op.path], refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Relata REST API (HighLevel-compatible)",
            "version": API_VERSION,
            "description": "Associations, relations, objects and records over the same service"
            " layer as GraphQL (POST /graphql). Send `Authorization: Bearer <token>` and"
            f" `Version: {API_VERSION}` on every request. Paths ending in `/` also answer"
            " without it, and the other way round.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(paths),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "Version": {
                    "name": "Version",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "enum": list(SUPPORTED_VERSIONS)},
                    "description": "The API version; requests without it are refused with 400",
                }
            },
            "schemas": components,
        },
    }


OPENAPI = document(ROUTES)


async def openapi_endpoint(_: Request) -> Response:
    return json_response(OPENAPI)
