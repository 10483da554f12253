"""Admission: the one path every API request takes before it runs, GraphQL and REST alike.

`admit` reads the bearer token, looks it up (or takes the answer of a lookup made less than
RELATA_AUTH_CACHE_SECONDS ago, at most 1 s, from the app's TokenCache, `app.state.auth_cache`:
app/services/token_cache.py), takes one request from the token's rate limit and classifies
every failure once, as an AppError that each surface renders in its own shape
(`app_error_response` in app/graphql/view.py for GraphQL, in app/rest/errors.py for REST), so
status codes and messages are the same on both:

- no, malformed, unknown or revoked token: Unauthenticated, 401 `UNAUTHENTICATED`;
- over the token's rate: RateLimited, 429 `LIMIT_EXCEEDED` with Retry-After;
- the database or the pool cannot answer: ServiceUnavailable, 503 (retry; told apart by
  services.tokens.authenticate with db.is_database_failure);
- anything else: InternalError, a masked 500, logged with the request's method and path.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from app.auth import PRINCIPAL_SCOPE_KEY, Principal, bearer_token
from app.errors import AppError, InternalError
from app.ratelimit import TokenBucketLimiter, rate_limited
from app.services.token_cache import TokenCache
from app.services.tokens import authenticate
from db import Database

log = logging.getLogger("relata.auth")


async def admit(request: Request) -> Principal:
    """The request's principal, recorded in its scope (for the request log, a 429 included);
    raises the classified AppError when the request may not run."""
    token = bearer_token(request.headers.get("authorization"))
    db: Database = request.app.state.db
    cache: TokenCache | None = getattr(request.app.state, "auth_cache", None)
    try:
        # Unauthenticated (401) or ServiceUnavailable (503: the database or the pool) ...
        principal = await authenticate(db, token, cache=cache)
    except AppError:
        raise
    except Exception as exc:
        # ... and anything else a bug, masked.
        where = f"{request.method} {request.url.path}"
        log.error("%s: authentication failed unexpectedly", where, exc_info=exc)
        raise InternalError() from exc
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    limiter: TokenBucketLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        wait = limiter.acquire(principal.token_id)
        if wait > 0:
            raise rate_limited(limiter, wait)
    return principal
