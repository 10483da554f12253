"""Which scope reads each kind of entity, wherever it is reached: a root field, a nested field,
the pre-shaped GraphQL path or a REST response. SECURITY.md ("Scopes") lists the rules."""

from __future__ import annotations

from app.auth import (
    ASSOCIATIONS_READ,
    ASSOCIATIONS_WRITE,
    RECORDS_READ,
    RECORDS_WRITE,
    RELATIONS_READ,
    RELATIONS_WRITE,
    SCHEMA_READ,
    SCHEMA_WRITE,
    Principal,
)
from app.ids import Kind

# A write scope grants the matching read (Principal.has_scope).
READ_SCOPE: dict[Kind, str] = {
    Kind.RECORD: RECORDS_READ,
    Kind.ASSOCIATION: ASSOCIATIONS_READ,
    Kind.RELATION: RELATIONS_READ,
    Kind.OBJECT: SCHEMA_READ,
}
WRITE_SCOPE: dict[Kind, str] = {
    Kind.RECORD: RECORDS_WRITE,
    Kind.ASSOCIATION: ASSOCIATIONS_WRITE,
    Kind.RELATION: RELATIONS_WRITE,
    Kind.OBJECT: SCHEMA_WRITE,
}


def can_read(principal: Principal, kind: Kind) -> bool:
    return principal.has_scope(READ_SCOPE[kind])


def require_read(principal: Principal, kind: Kind) -> None:
    """FORBIDDEN, naming the scope, unless the token may read entities of `kind`."""
    principal.require(READ_SCOPE[kind])
