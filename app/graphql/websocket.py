"""graphql-transport-ws (the `graphql-ws` library's protocol) with Relata's rules: the token is
authenticated at `connection_init` (payload `{"Authorization": "Bearer <token>"}`, or
`authorization`, or `token`), every operation runs with a fresh request context for that
principal, errors carry the same `extensions.code` as over HTTP (app/graphql/errors.py), and the
connection closes when its token is revoked.

Close codes (the protocol's): 4403 the token is missing, malformed, unknown or revoked (the
reason says which, prefixed with UNAUTHENTICATED); 4401 a subscribe before connection_ack;
1013 the database could not check the token (retry)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta
from typing import Any, cast

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from app.auth import PRINCIPAL_SCOPE_KEY, Principal, bearer_token
from app.config import Settings
from app.errors import AppError, ErrorCode, ServiceUnavailable, Unauthenticated
from app.graphql.context import Context
from app.graphql.errors import format_error
from app.graphql.subscriptions import TOKEN_SCOPE_KEY
from app.ratelimit import rate_limited
from app.services.tokens import authenticate

log = logging.getLogger("relata.live")
# WebSocket close reasons are at most 123 bytes of UTF-8.
MAX_REASON = 123


def close_reason(code: ErrorCode | str, message: str) -> str:
    code = code.value if isinstance(code, ErrorCode) else code
    reason = f"{code}: {message}"
    encoded = reason.encode()
    if len(encoded) > MAX_REASON:
        reason = encoded[: MAX_REASON - 3].decode(errors="ignore") + "..."
    return reason


def token_from(payload: dict[str, Any]) -> str:
    """The token in a connection_init payload, as clients send it."""
    for name in ("Authorization", "authorization"):
        value = payload.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise Unauthenticated("the Authorization entry must be 'Bearer <token>'")
            return bearer_token(value)
    token = payload.get("token")
    if isinstance(token, str) and token.strip():
        value = token.strip()
        return bearer_token(value) if value.lower().startswith("bearer ") else value
    raise Unauthenticated(
        'missing token: send connection_init with the payload {"Authorization": "Bearer <token>"}'
    )


def _message(error: GraphQLError) -> dict[str, Any]:
    return format_error(error)


class RelataTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    principal: Principal | None = None
    token: str | None = None

    @property
    def _socket(self) -> Any:
        return self.context.request

    async def send_message(self, message: Any) -> None:
        """Text frames, as the protocol requires (the view's JSON encoder gives bytes)."""
        try:
            await self._socket.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(4400, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(4429, "Too many initialisation requests")
            return
        self.connection_init_received = True
        socket = self._socket
        try:
            token = token_from(payload)
            principal = await authenticate(socket.app.state.db, token)
        except ServiceUnavailable as exc:
            await self.websocket.close(1013, close_reason(exc.code, exc.message))
            return
        except AppError as exc:
            await self.websocket.close(4403, close_reason(exc.code, exc.message))
            return
        except Exception:
            log.exception("authentication at connection_init failed unexpectedly")
            await self.websocket.close(1011, "INTERNAL_SERVER_ERROR: Internal server error")
            return
        self.principal, self.token = principal, token
        socket.scope[PRINCIPAL_SCOPE_KEY] = principal
        socket.scope[TOKEN_SCOPE_KEY] = token
        hub = getattr(socket.app.state, "hub", None)
        if hub is not None:
            hub.watch(token, self._revoked)
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    def _revoked(self, error: AppError) -> None:
        task = asyncio.create_task(
            self.websocket.close(4403, close_reason(error.code, "the token was revoked"))
        )
        task.add_done_callback(self._task_done)

    async def shutdown(self) -> None:
        hub = getattr(self._socket.app.state, "hub", None)
        if hub is not None and self.token is not None:
            hub.unwatch(self.token, self._revoked)
        await super().shutdown()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged or self.principal is None:
            await self.websocket.close(4401, "Unauthorized")
            return
        if message["id"] in self.operations:
            await self.websocket.close(4409, f"Subscriber for {message['id']} already exists")
            return
        refusal = self._refusal()
        if refusal is not None:
            await self.send_message(
                cast(Any, {"id": message["id"], "type": "error", "payload": [refusal]})
            )
            return
        payload = message["payload"]
        operation: Operation[Context, None] = Operation(
            self,
            message["id"],
            payload["query"],
            payload.get("variables"),
            payload.get("operationName"),
        )
        operation.task = asyncio.create_task(self.run_operation(operation))
        operation.task.add_done_callback(self._task_done)
        self.operations[message["id"]] = operation

    def _refusal(self) -> dict[str, Any] | None:
        """Over the per-connection bound, or the token over its rate: a typed error."""
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            return {
                "message": f"this connection has {limit} operations running, its limit"
                " (RELATA_SUBSCRIPTIONS_PER_CONNECTION); complete one or open another connection",
                "extensions": {
                    "code": ErrorCode.LIMIT_EXCEEDED.value,
                    "limit": "subscriptionsPerConnection",
                    "maximum": limit,
                },
            }
        limiter = getattr(self._socket.app.state, "rate_limiter", None)
        assert self.principal is not None
        wait = limiter.acquire(self.principal.token_id) if limiter else 0.0
        if limiter is not None and wait > 0:
            refusal = rate_limited(limiter, wait)
            return _message(GraphQLError(refusal.message, original_error=refusal))
        return None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        try:
            # A fresh context per operation: its loaders and caches never outlive it.
            context = await self.view.get_context(self._socket, response=self._socket)
            source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(source):
                async for result in source:
                    if not isinstance(result, ExecutionResult):
                        await operation.send_initial_errors(
                            [GraphQLError("Incremental delivery is not supported here")]
                        )
                        return
                    errors = [_message(e) for e in result.errors or ()]
                    # Refused before it ran (syntax, validation, limits, scopes) or ended by an
                    # error (a revoked token, a full buffer): the protocol's `error` message,
                    # whose payload is the errors with their codes.
                    if isinstance(result, PreExecutionError) or (result.data is None and errors):
                        await operation.send_operation_message(
                            cast(Any, {"id": operation.id, "type": "error", "payload": errors})
                        )
                        return
                    payload: dict[str, Any] = {"data": result.data}
                    if errors:
                        payload["errors"] = errors
                    if result.extensions:
                        payload["extensions"] = result.extensions
                    await operation.send_operation_message(
                        cast(Any, {"id": operation.id, "type": "next", "payload": payload})
                    )
            await operation.send_operation_message(
                cast(Any, {"id": operation.id, "type": "complete"})
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message(
                    cast(Any, {"id": operation.id, "type": "complete"})
                )
            self.operations.pop(operation.id, None)


def view_options(settings: Settings) -> dict[str, Any]:
    """RelataGraphQL's subscription options: the transports offered and their bounds."""
    return {
        "subscription_protocols": (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
        "max_subscriptions_per_connection": settings.subscriptions_per_connection,
        "connection_init_wait_timeout": timedelta(seconds=10),
        # Browsers send Origin: pages of the CORS origins may connect, as they may fetch.
        "allowed_origins": list(settings.cors_origins),
    }
