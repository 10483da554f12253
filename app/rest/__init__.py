"""The HighLevel-compatible REST API: Starlette routes over the same services as GraphQL."""

from __future__ import annotations

from starlette.routing import Route

from app.rest.openapi import openapi_endpoint
from app.rest.operation import endpoint
from app.rest.table import ROUTES


def routes() -> list[Route]:
    """Every route of the table (each path also with or without its trailing "/"), plus
    GET /openapi.json describing them."""
    out: list[Route] = [Route("/openapi.json", openapi_endpoint, methods=["GET"])]
    for op in ROUTES:
        app = endpoint(op)
        twin = op.path.rstrip("/") if op.path.endswith("/") else op.path + "/"
        for p in (op.path, twin):
            out.append(Route(p, app, methods=[op.method], name=f"rest:{op.method}:{p}"))
    return out


__all__ = ["ROUTES", "routes"]
