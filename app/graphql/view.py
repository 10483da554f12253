from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.auth import Principal
from app.graphql.context import Context
from app.graphql.errors import format_error

PRINCIPAL_SCOPE_KEY = "relata.principal"
# Used only to render the GraphiQL page, which runs no operation.
_NOBODY = Principal(location_id="", role="user", scopes=frozenset(), token_id="")


class RelataGraphQL(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY) or _NOBODY
        return Context(
            db=request.app.state.db, principal=principal, request=request, response=response
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e) for e in result.errors]  # type: ignore[typeddict-item]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: Any) -> bytes:
        return orjson.dumps(data)
