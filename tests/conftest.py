from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from app.config import Settings
from app.services.token_cache import TokenCache
from app.services.tokens import create_token
from app.web import create_app
from db import Database
from db.migrate import apply_migrations
from tests.helpers import Api


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """One PostgreSQL for the whole session: TEST_DATABASE_URL, else an embedded one."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    from db.embedded import start_embedded, stop_embedded

    # Short path: the server's Unix socket lives under it (~107 characters at most).
    root = tempfile.mkdtemp(prefix="rt-", dir="/tmp")
    try:
        yield start_embedded(root, cleanup_mode="delete")
    finally:
        stop_embedded(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def db(pg_dsn: str) -> AsyncIterator[Database]:
    await apply_migrations(pg_dsn)
    database = await Database.connect(pg_dsn, min_size=2, max_size=40)
    yield database
    await database.close()


@pytest.fixture(scope="session")
def app(db: Database):  # type: ignore[no-untyped-def]
    app = create_app(Settings(max_body_bytes=1_000_000), database=db)
    # Time stands still for this app's token cache (app/services/token_cache.py): a token's first
    # request pays its lookup and no later one does, however busy the machine, so statement counts
    # pinned through this app are exact. A revocation in this process still drops every answer at
    # once; expiry (at most 1 s, what makes another process's revocation effective) is tested on
    # apps of their own, with the real clock: tests/test_auth_cache.py, tests/test_token_cache.py.
    app.state.auth_cache = TokenCache(clock=lambda: 0.0)
    return app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as c:
        yield c


@dataclass
class Tenant:
    """A fresh location with an admin and a plain user, so tests never share rows."""

    location: str
    admin: Api
    user: Api
    admin_token: str
    user_token: str


async def make_tenant(db: Database, client: httpx.AsyncClient) -> Tenant:
    location = f"t-{uuid.uuid4().hex[:12]}"
    admin_token = await create_token(db, location, "admin")
    user_token = await create_token(db, location, "user")
    return Tenant(
        location=location,
        admin=Api(client, admin_token, location),
        user=Api(client, user_token, location),
        admin_token=admin_token,
        user_token=user_token,
    )


@pytest.fixture
async def tenant(db: Database, client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(db, client)


@pytest.fixture
async def other_tenant(db: Database, client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(db, client)
