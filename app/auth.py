"""Tokens, roles and scopes. Scope names are HighLevel's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from app.errors import BadUserInput, Forbidden, Unauthenticated

ASSOCIATIONS_READ = "associations.readonly"
ASSOCIATIONS_WRITE = "associations.write"
RELATIONS_READ = "associations/relation.readonly"
RELATIONS_WRITE = "associations/relation.write"
SCHEMA_READ = "objects/schema.readonly"
SCHEMA_WRITE = "objects/schema.write"
RECORDS_READ = "objects/record.readonly"
RECORDS_WRITE = "objects/record.write"

ALL_SCOPES: tuple[str, ...] = (
    ASSOCIATIONS_READ,
    ASSOCIATIONS_WRITE,
    RELATIONS_READ,
    RELATIONS_WRITE,
    SCHEMA_READ,
    SCHEMA_WRITE,
    RECORDS_READ,
    RECORDS_WRITE,
)
ROLES = ("admin", "user")

# A write scope grants the matching read.
_IMPLIED_BY = {
    ASSOCIATIONS_READ: ASSOCIATIONS_WRITE,
    RELATIONS_READ: RELATIONS_WRITE,
    SCHEMA_READ: SCHEMA_WRITE,
    RECORDS_READ: RECORDS_WRITE,
}

# Where the ASGI scope carries the authenticated Principal (app/admission.py sets it; GraphQL's
# context, REST handlers and the request log read it).
PRINCIPAL_SCOPE_KEY = "relata.principal"

TOKEN_PREFIX = "rlt"
MAX_LOCATION_ID = 100
# No location id holds one (create_token refuses them); NUL and DEL included.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Principal:
    location_id: str
    role: str
    scopes: frozenset[str]
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or _IMPLIED_BY.get(scope, "") in self.scopes

    def require(self, scope: str, *, admin: bool = False) -> None:
        if not self.has_scope(scope):
            raise Forbidden(f"this token lacks the scope {scope!r}", scope=scope)
        if admin and not self.is_admin:
            raise Forbidden("only an admin token may do this", role="admin")


def validate_scopes(scopes: list[str] | None) -> list[str]:
    if not scopes:
        return list(ALL_SCOPES)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise BadUserInput(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}")
    return sorted(set(scopes))


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise BadUserInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def new_token(location_id: str) -> str:
    loc = base64.urlsafe_b64encode(location_id.encode()).decode().rstrip("=")
    return f"{TOKEN_PREFIX}.{loc}.{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> bytes:
    # Tokens carry 256 random bits, so one SHA-256 is preimage-proof; a slow KDF buys nothing.
    return hashlib.sha256(token.encode()).digest()


def token_location(token: str) -> str:
    """The location a token names, or Unauthenticated for anything not shaped like a token."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or len(parts[2]) < 40:
        raise Unauthenticated("the bearer token is not valid")
    try:
        raw = parts[1]
        # Strict UTF-8: a lone surrogate (encoded or not) is refused here.
        location = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated("the bearer token is not valid") from None
    if not location or len(location) > MAX_LOCATION_ID or CONTROL_CHARACTERS.search(location):
        raise Unauthenticated("the bearer token is not valid")
    return location


def hashes_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header; send 'Authorization: Bearer <token>'")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()
