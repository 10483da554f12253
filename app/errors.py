from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


HTTP_STATUS = {
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.LIMIT_EXCEEDED: 422,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


class AppError(Exception):
    """An error meant for the client: a typed code and a message a person can act on. GraphQL
    renders it as an error with `extensions.code` (app/graphql), REST in HighLevel's shape
    (app/rest/errors.py); a refusal before anything ran also sends `headers`."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the error's status."""
        return {}


class BadUserInput(AppError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(AppError):
    code = ErrorCode.UNAUTHENTICATED

    @property
    def headers(self) -> dict[str, str]:
        return {"www-authenticate": "Bearer"}


class Forbidden(AppError):
    code = ErrorCode.FORBIDDEN


class NotFound(AppError):
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    code = ErrorCode.CONFLICT


class LimitExceeded(AppError):
    code = ErrorCode.LIMIT_EXCEEDED


class PayloadTooLarge(BadUserInput):
    """The request body is over the configured cap: HTTP 413, whoever reads the body."""

    @property
    def http_status(self) -> int:
        return 413


class RateLimited(LimitExceeded):
    """A token over its rate: HTTP 429 with Retry-After in whole seconds (rounded up, so a
    client that obeys it is admitted)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, limitName="rateLimit", retryAfter=retry_after)
        self.retry_after = retry_after

    @property
    def http_status(self) -> int:
        return 429

    @property
    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)}


UNAVAILABLE_MESSAGE = "the service is temporarily unavailable; retry shortly"
MASKED_MESSAGE = "Internal server error"


class ServiceUnavailable(AppError):
    """The database cannot serve the request right now (down, restarting, pool exhausted):
    HTTP 503, so the client retries; never the client's fault."""

    @property
    def http_status(self) -> int:
        return 503


class InternalError(AppError):
    """A failure nobody expected, already logged with its context: HTTP 500 and a masked
    message, never the details."""

    def __init__(self) -> None:
        super().__init__(MASKED_MESSAGE)
