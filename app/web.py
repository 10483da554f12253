"""The ASGI application: GraphQL, health checks, and the middleware every request passes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import ide
from app.admission import admit
from app.auth import PRINCIPAL_SCOPE_KEY
from app.compression import GZipMiddleware
from app.config import Settings
from app.errors import AppError, ErrorCode, PayloadTooLarge
from app.graphql.extensions import OPERATION_SCOPE_KEY, cost_budget, hardening_extensions
from app.graphql.extensions.preshaped import PreparedQueries
from app.graphql.view import RelataGraphQL
from app.graphql.view import app_error_response as graphql_error_response
from app.graphql.walker import core_schema
from app.graphql.websocket import view_options as live_options
from app.live.hub import start_hub, stop_hub
from app.ratelimit import TokenBucketLimiter
from app.request_log import RequestLog
from app.rest import routes as rest_routes
from app.rest.errors import app_error_response as rest_error_response
from app.rest.errors import error_response as rest_status_response
from app.schema import build_schema
from app.services.token_cache import TokenCache
from db import Database, Watchdog, count_statements
from db.migrate import apply_migrations

log = logging.getLogger("relata.web")
STATEMENTS_HEADER = b"x-relata-sql-statements"
# Responses of at least this many bytes are gzipped for clients that accept it.
GZIP_MINIMUM_BYTES = 1024
EXPOSED_HEADERS = (
    STATEMENTS_HEADER.decode(),
    "x-request-id",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-interval-milliseconds",
)


class GraphQLEndpoint:
    """Admits every operation (app/admission.py: token, lookup, rate limit) before Strawberry
    sees it, so a bad token is an HTTP 401; a refusal is rendered GraphQL-shaped. Only the
    GraphiQL page itself (a browser GET with no query) is served without a token."""

    def __init__(self, graphql_app: ASGIApp) -> None:
        self.graphql_app = graphql_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            is_ide_page = (
                request.method == "GET"
                and "query" not in request.query_params
                and "extensions" not in request.query_params
                and "text/html" in request.headers.get("accept", "")
            )
            if not is_ide_page and request.method in ("GET", "POST"):
                try:
                    await admit(request)
                except AppError as exc:
                    await graphql_error_response(request, exc)(scope, receive, send)
                    return
        await self.graphql_app(scope, receive, send)


class BodySizeLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed. A
    streamed body is cut off by raising PayloadTooLarge (a client error, HTTP 413) from
    `receive`, inside whoever reads the body: GraphQL and REST answer it in their own error
    shapes like any other AppError; the fallback here covers a reader that lets it through."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = f"request body is larger than {self.max_bytes} bytes"
        details: dict[str, Any] = {"field": "body", "maximum": self.max_bytes}

        async def too_large() -> None:
            error = PayloadTooLarge(refusal, **details)
            response = (
                graphql_error_response(Request(scope), error)
                if scope.get("path", "").startswith("/graphql")
                else rest_error_response(error)
            )
            await response(scope, receive, send)

        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await too_large()
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(refusal, **details)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if not started:
                await too_large()


class StatementCount:
    """Counts the SQL statements each request sends and reports them in a response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with count_statements() as counter:

            async def counting_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    # asyncpg reports each query through call_soon: let the last one land.
                    await asyncio.sleep(0)
                    headers = list(message.get("headers", []))
                    headers.append((STATEMENTS_HEADER, str(counter.count).encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, counting_send)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer JSON, in the REST error shape, not Starlette's text."""
    assert isinstance(exc, HTTPException)
    code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.BAD_USER_INPUT
    message = {
        404: f"no route {request.method} {request.url.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json",
    }.get(exc.status_code, str(exc.detail))
    response = rest_status_response(exc.status_code, message, code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        return JSONResponse({"status": "starting"}, 503)
    # With a watchdog its latest ping answers at once; otherwise one ping, bounded even when the
    # database is frozen (a late answer is cut, not awaited).
    ready = db.watchdog.healthy if db.watchdog is not None else await db.ping(READY_SECONDS)
    if not ready:
        log.warning("readiness check failed: the database did not answer")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ready", "database": "ok"})


READY_SECONDS = 2.0


async def start_webhook_worker(app: Starlette, settings: Settings, dsn: str) -> None:
    """The webhook delivery worker, on a small pool of its own: it never takes the API's
    connections (app/webhooks/worker.py)."""
    from app.webhooks.worker import WebhookWorker

    pool = await Database.connect(
        dsn,
        min_size=1,
        max_size=max(1, settings.webhook_pool_size),
        statement_timeout_ms=settings.statement_timeout_ms,
        acquire_timeout=settings.pool_timeout,
    )
    worker = WebhookWorker(pool, settings)
    await worker.start()
    app.state.webhook_worker = worker


async def stop_webhook_worker(app: Starlette) -> None:
    worker = getattr(app.state, "webhook_worker", None)
    if worker is not None:
        app.state.webhook_worker = None
        await worker.stop()
        await worker.db.close()


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    dsn: str | None = None,
    extra_routes: list[Any] | None = None,
) -> Starlette:
    """The app. Give `database` to share a pool (tests); otherwise it connects on startup."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned: Database | None = None
        target = dsn
        if database is None:
            target = dsn or settings.resolve_dsn()
            await apply_migrations(target)
            owned = await Database.connect(
                target,
                min_size=settings.pool_min,
                max_size=settings.pool_max,
                statement_timeout_ms=settings.statement_timeout_ms,
                acquire_timeout=settings.pool_timeout,
                location_share=settings.location_connections or None,
            )
            owned.watchdog = Watchdog(
                owned,
                target,
                interval=settings.watchdog_interval,
                timeout=settings.watchdog_timeout,
            )
            owned.watchdog.start()
            app.state.db = owned
            if settings.webhook_worker:
                await start_webhook_worker(app, settings, target)
        if target is not None:  # live updates (app/live): LISTEN on a connection of their own
            await start_hub(app.state, settings, target)
        try:
            yield
        finally:
            await stop_hub(app.state)
            await stop_webhook_worker(app)
            if owned is not None:
                await owned.close()

    budget = cost_budget(settings)
    schema = build_schema(extensions=hardening_extensions(settings, budget))
    graphql_app = RelataGraphQL(
        schema,
        prepared=PreparedQueries(core_schema(schema), schema.plans, budget),
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        max_json_depth=settings.max_json_depth,
        apq_cache_bytes=settings.apq_cache_bytes,
        **live_options(settings),
    )
    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", GraphQLEndpoint(graphql_app), methods=["GET", "POST"]),
        # graphql-transport-ws; its token is checked at connection_init (app/graphql/websocket.py).
        WebSocketRoute("/graphql", graphql_app),
        *([Route(ide.ASSET_PREFIX + "{name}", ide.asset)] if settings.graphiql else []),
        *rest_routes(),
        *(extra_routes or []),
    ]
    middleware = [
        Middleware(StatementCount),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["authorization", "content-type", "version"],
                # Headers a browser script may read from a cross-origin response.
                expose_headers=list(EXPOSED_HEADERS),
            )
        )
    # Outside the statement count and the body limit, so it sees their headers and 413s; the
    # request log (outermost) logs what was sent.
    middleware.insert(0, Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES))
    # Outermost: the request log sees every response, 413s and 429s included.
    middleware.insert(
        0,
        Middleware(
            RequestLog, principal_key=PRINCIPAL_SCOPE_KEY, operation_key=OPERATION_SCOPE_KEY
        ),
    )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.rate_limiter = (
        TokenBucketLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        if settings.rate_limit_per_second > 0
        else None
    )
    # One per app (never shared between apps): admission's token lookups, remembered <= 1 s.
    app.state.auth_cache = (
        TokenCache(settings.auth_cache_seconds, settings.auth_cache_entries)
        if settings.auth_cache_seconds != 0
        else None
    )
    app.state.settings = settings
    if database is not None:
        app.state.db = database
    return app


__all__ = ["create_app"]
