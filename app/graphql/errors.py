"""How errors reach a GraphQL client: a typed `extensions.code`, internals masked."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from app.errors import MASKED_MESSAGE, UNAVAILABLE_MESSAGE, AppError, ErrorCode
from db import is_unavailable

__all__ = ["MASKED_MESSAGE", "format_error"]


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = list(error.path)
    if isinstance(original, AppError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code.value, **original.extensions}
    elif original is None or isinstance(original, GraphQLError):
        # Parse and validation errors, and arguments or variables of the wrong type (graphql-core
        # wraps a variable's coercion error in another GraphQLError): the query is at fault.
        code = (error.extensions or {}).get("code") or ErrorCode.BAD_USER_INPUT.value
        formatted["extensions"] = {**(error.extensions or {}), "code": code}
    else:
        # A database that cannot answer is said so (the client should retry); anything else
        # is a bug, masked.
        formatted["message"] = UNAVAILABLE_MESSAGE if is_unavailable(original) else MASKED_MESSAGE
        formatted["extensions"] = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
    return formatted
