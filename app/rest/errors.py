"""How errors reach a REST client: HighLevel's `{statusCode, message, error}` body, plus our
`code` (the same names as GraphQL's `extensions.code`) and `details`; internals masked."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from starlette.responses import Response

from app.errors import AppError, ErrorCode

MASKED_MESSAGE = "Internal server error"


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(
    status: int, message: str, code: ErrorCode, details: dict[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {
        "statusCode": status,
        "message": message,
        "error": reason(status),
        "code": code.value,
    }
    if details:
        body["details"] = details
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def app_error_response(exc: AppError) -> Response:
    return error_response(exc.http_status, exc.message, exc.code, exc.extensions)


def internal_error_response() -> Response:
    return error_response(500, MASKED_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR)
