"""How errors reach a REST client: HighLevel's `{statusCode, message, error}` body, plus our
`code` (the same names as GraphQL's `extensions.code`) and `details`; internals masked."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

from app.errors import MASKED_MESSAGE, AppError, ErrorCode


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(
    status: int,
    message: str,
    code: ErrorCode,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "statusCode": status,
        "message": message,
        "error": reason(status),
        "code": code.value,
    }
    if details:
        body["details"] = details
    return Response(orjson.dumps(body), status, headers or None, media_type="application/json")


def app_error_response(exc: AppError) -> Response:
    """REST's renderer of an AppError: its status and headers (WWW-Authenticate on a 401,
    Retry-After on a 429) and HighLevel's body, with the same message and code as GraphQL's
    renderer (app/graphql/view.py) gives."""
    return error_response(exc.http_status, exc.message, exc.code, exc.extensions, exc.headers)


def internal_error_response() -> Response:
    return error_response(500, MASKED_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR)
