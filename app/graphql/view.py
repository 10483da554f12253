from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app.auth import Principal
from app.errors import ErrorCode
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
            data["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: Any) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            # Strawberry would call .get() on it and answer 500.
            raise HTTPException(400, "the request body must be a JSON object")
        return parsed

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry answers a refused HTTP request (a batch, a bad body, GraphiQL switched off)
        in plain text; answer it GraphQL-shaped like every other error."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            if isinstance(request, WebSocket):
                raise
            code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_USER_INPUT)
            body = {"data": None, "errors": [{"message": exc.reason, "extensions": {"code": code}}]}
            return Response(orjson.dumps(body), exc.status_code, media_type="application/json")


_HTTP_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    500: ErrorCode.INTERNAL_SERVER_ERROR,
}
