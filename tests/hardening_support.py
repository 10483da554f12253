"""Helpers for the hardening tests: apps built with non-default Settings over the session pool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app.config import Settings
from app.web import create_app
from db import Database


@contextlib.asynccontextmanager
async def client_with(db: Database, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(**settings), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as client:
        yield client


def nested_relations(levels: int, first: int | None = None) -> str:
    """`records` with `levels` nested `relations` connections below it."""
    arg = "" if first is None else f"(first: {first})"
    root_arg = "" if first is None else f", first: {first}"
    query = f'{{ records(objectKey: "contact"{root_arg}) {{ edges {{ node {{ '
    query += f"relations{arg} {{ edges {{ node {{ " * levels
    query += "id" + " } } }" * levels + " } } } }"
    return query
