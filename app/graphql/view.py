from __future__ import annotations

import dataclasses
from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.types import QueryParams
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import ide, validation
from app.auth import PRINCIPAL_SCOPE_KEY, Principal
from app.errors import AppError, ErrorCode
from app.graphql import media
from app.graphql.context import Context
from app.graphql.errors import format_error
from app.graphql.extensions.preshaped import PreparedQueries
from app.graphql.persisted import PROTOCOL_CODES, PersistedQueries, PersistedQueryError
from app.graphql.websocket import RelataTransportWS

_STATUS_SCOPE_KEY = "relata.graphql_status"
# Set when the known-query lane (`RelataGraphQL._known_query`) tried a request and handed it on.
_PREPARED_TRIED = "relata.prepared_tried"
# The keys of a body the known-query lane answers (anything else takes Strawberry's way).
_PLAIN_BODY = frozenset({"query", "variables", "operationName"})
# The body the lane decoded and handed on, with what it decoded to: Strawberry's parse of the
# same bytes reuses it rather than decoding a large body (a bulk mutation) twice.
_DECODED_BODY: ContextVar[tuple[bytes, Any] | None] = ContextVar("decoded_body", default=None)
# Used only to render the GraphiQL page, which runs no operation.
_NOBODY = Principal(location_id="", role="user", scopes=frozenset(), token_id="")


class RelataGraphQL(GraphQL[Context, None]):
    # Subscriptions: graphql-transport-ws (authenticated at connection_init, in
    # app/graphql/websocket.py) and GraphQL over SSE (authenticated like any request). The legacy
    # subscriptions-transport-ws protocol is not offered.
    graphql_transport_ws_handler_class = RelataTransportWS

    def __init__(
        self,
        *args: Any,
        max_json_depth: int = validation.MAX_JSON_DEPTH,
        apq_cache_bytes: int = 4 * 2**20,
        prepared: PreparedQueries | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_json_depth = max_json_depth
        self.persisted = PersistedQueries(apq_cache_bytes)
        self.prepared = prepared

    def _get_stream_transport_from_headers(self, headers: Any) -> Any:
        """GraphQL over SSE only for a client that prefers it: `text/event-stream` listed before
        any JSON type. Clients such as urql list it after the JSON types on every request, as a
        fallback, and want JSON for their queries."""
        accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        for part in accept.split(","):
            media = part.split(";", 1)[0].strip().lower()
            if media == "text/event-stream":
                return super()._get_stream_transport_from_headers(headers)
            if media == "application/json" or media.endswith("+json"):
                return None
        return None

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET with only a persisted query's hash is an operation, not the IDE.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def execute_single(  # noqa: PLR0917 - Strawberry's signature
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Automatic persisted queries (app/graphql/persisted.py) around Strawberry's run, and
        known queries answered before it (app/graphql/extensions/preshaped.py)."""
        try:
            resolved = self.persisted.resolve(
                context.principal.location_id, request_data.query, request_data.extensions
            )
        except PersistedQueryError as exc:
            error = GraphQLError(exc.message, extensions={"code": exc.code})
            return ExecutionResult(data=None, errors=[error])
        if resolved.query is not request_data.query:
            request_data = dataclasses.replace(request_data, query=resolved.query)
        result = None
        if self.prepared is not None and not request.scope.get(_PREPARED_TRIED):
            result = await self.prepared.answer(
                context, request_data.query, request_data.operation_name, request_data.variables
            )
        if result is None:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        if (
            resolved.store_as is not None
            and resolved.query is not None
            and not media.is_request_error(result.data, result.errors)
        ):
            self.persisted.remember(resolved.store_as, resolved.query)
        return result

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
        media_type = media.response_media_type(request.headers.get("accept"))
        if media_type == media.GRAPHQL_RESPONSE_JSON and media.is_request_error(
            result.data, result.errors
        ):
            # GraphQL over HTTP: a request error is a 400 with no `data` entry. A persisted
            # query's "send me the text" stays 200: Apollo's link gives up on a 400.
            del data["data"]
            codes = {(e.extensions or {}).get("code") for e in result.errors or ()}
            if not codes <= PROTOCOL_CODES:
                request.scope[_STATUS_SCOPE_KEY] = 400
        if result.errors:
            data["errors"] = [format_error(e) for e in sorted(result.errors, key=_document_order)]
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

    async def _known_query(self, request: Request) -> Response | None:
        """A JSON POST of a known query (app/graphql/extensions/preshaped.py) and nothing else
        (no extensions, not a batch, not a stream) answered here, as Strawberry's run would
        answer it, without its request handling (about a tenth of a record page's CPU). Any
        other request, and a known query that ordinary execution must answer, go on to it."""
        if self.prepared is None or request.method != "POST":
            return None
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != media.JSON:
            return None
        if self._get_stream_transport_from_headers(request.headers) is not None:
            return None
        body = await request.body()
        try:
            data = self.decode_json(body)
        except (AppError, ValueError):
            return None  # Strawberry's way answers it, in its words
        _DECODED_BODY.set((body, data))
        if not isinstance(data, dict) or not data.keys() <= _PLAIN_BODY:
            return None
        query, operation_name = data.get("query"), data.get("operationName")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return None
        if self.prepared.plans.prepared(query, operation_name) is None:
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        request.scope[_PREPARED_TRIED] = True
        result = await self.prepared.answer(context, query, operation_name, data.get("variables"))
        if result is None:
            return None
        return self.create_response(await self.process_result(request, result), sub_response)

    def parse_json(self, data: str | bytes) -> Any:
        decoded = _DECODED_BODY.get()
        parsed = decoded[1] if decoded is not None and decoded[0] is data else None
        if parsed is None:
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
            response = None
            if isinstance(request, Request) and context is UNSET:
                response = await self._known_query(request)
            if response is None:
                response = await super().run(request, context, root_value)
        except HTTPException as exc:
            if isinstance(request, WebSocket):
                raise
            code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_USER_INPUT)
            return request_error_response(request, exc.status_code, exc.reason, {"code": code})
        except AppError as exc:
            if isinstance(request, WebSocket):
                raise
            return app_error_response(request, exc)
        if isinstance(response, Response) and response.media_type == media.JSON:
            # A GraphQL result (GraphiQL's page and streams keep their own types).
            response.headers["content-type"] = media.response_media_type(
                request.headers.get("accept")
            )
            status = request.scope.get(_STATUS_SCOPE_KEY)
            if status is not None:
                response.status_code = status
        return response


def _document_order(error: GraphQLError) -> tuple[Any, ...]:
    """Errors in the order of the document, then of their paths: graphql-core lists them in the
    order fields happened to fail, which varies between two identical requests whose root
    fields resolve concurrently. (Request errors, at no location, keep their order.)"""
    where = [(loc.line, loc.column) for loc in error.locations or ()]
    path = [(isinstance(p, str), p if isinstance(p, int) else 0, str(p)) for p in error.path or ()]
    return (where, path)


def request_error_response(
    request: Request | None,
    status: int,
    message: str,
    extensions: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """A refusal before any operation ran (bad body, bad token, over a limit): the GraphQL over
    HTTP error body, with no `data` entry, in the media type the client accepts."""
    body = {"errors": [{"message": message, "extensions": extensions}]}
    accept = None if request is None else request.headers.get("accept")
    return Response(
        orjson.dumps(body), status, headers, media_type=media.response_media_type(accept)
    )


def app_error_response(request: Request | None, exc: AppError) -> Response:
    """GraphQL's renderer of an AppError that stopped a request before any operation ran
    (admission, the body cap, the edge validator): its status and headers, and
    `{"errors": [{"message", "extensions": {"code", ...}}]}`. REST's twin is
    app/rest/errors.py's `app_error_response`."""
    extensions = {"code": exc.code.value, **exc.extensions}
    return request_error_response(
        request, exc.http_status, exc.message, extensions, exc.headers or None
    )


_HTTP_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    500: ErrorCode.INTERNAL_SERVER_ERROR,
}
