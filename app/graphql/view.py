from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.types import QueryParams
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import ide, validation
from app.auth import Principal
from app.errors import AppError, ErrorCode
from app.graphql.context import Context
from app.graphql.errors import format_error

PRINCIPAL_SCOPE_KEY = "relata.principal"
# Used only to render the GraphiQL page, which runs no operation.
_NOBODY = Principal(location_id="", role="user", scopes=frozenset(), token_id="")


class RelataGraphQL(GraphQL[Context, None]):
    def __init__(
        self, *args: Any, max_json_depth: int = validation.MAX_JSON_DEPTH, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_json_depth = max_json_depth

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY) or _NOBODY
        settings = request.app.state.settings
        return Context(
            db=request.app.state.db.for_request(
                principal.location_id, settings.connections_per_request
            ),
            principal=principal,
            request=request,
            response=response,
            settings=settings,
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

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page (app/ide.py): every asset from this server, the token from
        the URL fragment; Strawberry's page loads its scripts from a CDN."""
        return ide.page_response()

    def encode_json(self, data: Any) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """The body, by the edge rules shared with REST (app/validation.py): UTF-8, bounded
        nesting, no NUL or lone surrogate, 64-bit integers, finite numbers."""
        return validation.decode_json(data, max_depth=self.max_json_depth)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """GET: every parameter passes the same checks as a POST body; `variables` and
        `extensions` sit one level inside the request, as they do in a body."""
        parsed: dict[str, Any] = dict(params)
        validation.check_json(parsed, max_depth=self.max_json_depth)
        for name in ("variables", "extensions"):
            if parsed.get(name):
                parsed[name] = validation.decode_json(
                    parsed[name],
                    max_depth=self.max_json_depth - 1,
                    path=name,
                    what=f"the {name} parameter",
                )
        return parsed

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            # Strawberry would call .get() on it and answer 500.
            raise HTTPException(400, "the request body must be a JSON object")
        return parsed

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry answers a refused HTTP request (a batch, a bad body, GraphiQL switched off)
        in plain text; answer it GraphQL-shaped like every other error. So is a request refused
        at the edge (app/validation.py) or a body over the size cap (PayloadTooLarge, raised
        while the body is read)."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            if isinstance(request, WebSocket):
                raise
            code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_USER_INPUT)
            return _error_response(exc.status_code, exc.reason, {"code": code})
        except AppError as exc:
            if isinstance(request, WebSocket):
                raise
            extensions = {"code": exc.code.value, **exc.extensions}
            return _error_response(exc.http_status, exc.message, extensions)


def _error_response(status: int, message: str, extensions: dict[str, Any]) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    return Response(orjson.dumps(body), status, media_type="application/json")


_HTTP_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    500: ErrorCode.INTERNAL_SERVER_ERROR,
}
