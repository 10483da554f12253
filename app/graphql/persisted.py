"""Automatic persisted queries, by Apollo's protocol (`extensions.persistedQuery`).

A client sends `{version: 1, sha256Hash}` instead of the query text. Known → the stored text
runs; unknown → the error `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND, HTTP 200 in
either media type: Apollo's link turns persisted queries off for good on a 400), and the client
sends the hash with the text, which is checked against the hash, run, and stored.

The store is one byte-bounded LRU per server (ByteBoundedLRU, the document cache's), keyed by
(location, hash): a location can neither see nor use another's documents, even by hash. Only a
document that ran (it parsed, validated and passed every limit) is stored, and a stored one
is run exactly as if its text had been sent: every limit applies to it again."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from app.graphql.extensions.document_cache import ByteBoundedLRU

ENV_VAR = "RELATA_APQ_CACHE_BYTES"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
# Apollo's link retries with the text on these messages or codes; they are answered with 200.
PROTOCOL_CODES = frozenset((NOT_FOUND, NOT_SUPPORTED))
# What an entry holds besides its text: the key (a location id of at most 100 characters and a
# 64-character hash) and the objects around them.
ENTRY_OVERHEAD = 512
_HASH = re.compile(r"[0-9a-fA-F]{64}")

_Key = tuple[str, str]


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class Resolved:
    query: str | None
    # Where to store the text once it has run (the client sent hash and text).
    store_as: _Key | None = None


def _weight(query: str) -> int:
    return len(query.encode("utf-8", "surrogatepass")) + ENTRY_OVERHEAD


class PersistedQueries:
    def __init__(self, max_bytes: int) -> None:
        self.store: ByteBoundedLRU[_Key, str] = ByteBoundedLRU(max_bytes)

    def resolve(self, location_id: str, query: str | None, extensions: Any) -> Resolved:
        """The text to run for a request, or PersistedQueryError."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            return Resolved(query)
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryError(
                "Unsupported persisted query version: extensions.persistedQuery.version must be 1",
                "BAD_USER_INPUT",
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _HASH.fullmatch(digest):
            raise PersistedQueryError(
                "extensions.persistedQuery.sha256Hash must be a SHA-256 digest in hex",
                "BAD_USER_INPUT",
            )
        if self.store.max_bytes <= 0:
            raise PersistedQueryError("PersistedQueryNotSupported", NOT_SUPPORTED)
        key = (location_id, digest.lower())
        if query is None:
            stored = self.store.get(key)
            if stored is None:
                raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND)
            return Resolved(stored)
        actual = hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()
        if actual != key[1]:
            raise PersistedQueryError("provided sha does not match query", "BAD_USER_INPUT")
        return Resolved(query, key)

    def remember(self, key: _Key, query: str) -> None:
        self.store.put(key, query, _weight(query))
