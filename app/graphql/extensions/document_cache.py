"""Parsed documents and their validation results, cached by query text and bounded in bytes;
the query text itself bounded in bytes, comments included.

Clients send the same few operations again and again, and validating one costs more than the
rest of a record page. But a parsed document retains up to ~70x its text (measured: tokens and
locations), so an LRU counted in entries is unbounded in memory: 1,000 distinct 1 MB documents
would pin gigabytes. Here the query text is refused over `max_query_bytes`, only documents of at
most `CACHEABLE_QUERY_BYTES` are cached, and the cache evicts by estimated retained bytes.

Before validation, one linear pass refuses a selection set that repeats a response key more than
`MAX_REPEATS` times: graphql-core's OverlappingFieldsCanBeMerged rule compares such fields
pairwise (2,500 tokens of `viewer { role }` cost a second of CPU).

Strawberry's own `ParserCache` raises parse errors out of its hook, which would bypass the token
limit's error; here a document that does not parse is left to Strawberry's ordinary parse, so it
is refused exactly as before. Cached documents are shared between requests and never mutated."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    parse,
)
from graphql.language import Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from app.graphql.walker import core_schema

ENV_VAR = "RELATA_MAX_QUERY_BYTES"
CACHE_ENV_VAR = "RELATA_DOCUMENT_CACHE_BYTES"
CACHEABLE_QUERY_BYTES = 16_384
# Retained bytes per byte of query text, measured for field-dense documents (see module doc).
RETAINED_PER_BYTE = 70
ENTRY_OVERHEAD = 2_048
MAX_REPEATS = 100
# Query text and parse options.
_Key = tuple[str, tuple[tuple[str, object], ...]]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class _Entry:
    document: DocumentNode
    weight: int
    # Validation errors by rule set (the rules differ per configured limit).
    validated: dict[tuple[type, ...], list[GraphQLError]] = field(default_factory=dict)


class ByteBoundedLRU(Generic[K, V]):
    """A least-recently-used map bounded by the bytes its values are weighed at (thread-safe).
    A value heavier than the whole bound is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int) -> V:
        """Keep `value` under `key` (evicting the least recently used beyond the bound); the
        value already kept under `key`, if any, wins."""
        if weight > self.max_bytes:
            return value
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
            self._entries[key] = (value, weight)
            self.bytes += weight
            while self.bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.bytes -= evicted
        return value


class DocumentStore(ByteBoundedLRU[_Key, _Entry]):
    """An LRU of parsed documents bounded by the bytes they retain."""

    def put_document(self, key: _Key, document: DocumentNode) -> _Entry:
        weight = len(key[0]) * RETAINED_PER_BYTE + ENTRY_OVERHEAD
        return self.put(key, _Entry(document, weight), weight)


_stores: dict[int, DocumentStore] = {}


def store_for(max_bytes: int) -> DocumentStore:
    """One store per configured size, shared by every request of the process."""
    store = _stores.get(max_bytes)
    if store is None:
        store = _stores.setdefault(max_bytes, DocumentStore(max_bytes))
    return store


def _query_bytes(query: str) -> int:
    return len(query.encode("utf-8", "surrogatepass"))


def repeated_field_error(document: DocumentNode) -> GraphQLError | None:
    """The first selection set (inline fragments included) that repeats a response key more
    than MAX_REPEATS times, as an error; one pass over the document."""
    found: list[tuple[str, int]] = []

    def count(selection_set: SelectionSetNode, counts: dict[str, int]) -> None:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                key = sel.alias.value if sel.alias else sel.name.value
                counts[key] = counts.get(key, 0) + 1
                if counts[key] > MAX_REPEATS and not found:
                    found.append((key, counts[key]))
            elif isinstance(sel, InlineFragmentNode):
                count(sel.selection_set, counts)

    class Repeats(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: object) -> None:
            if not found:
                count(node, {})

    visit(document, Repeats())
    if not found:
        return None
    key, times = found[0]
    return GraphQLError(
        f"the field {key!r} is selected more than {MAX_REPEATS} times in one selection; merge"
        " the repeats (each one is compared with every other before the query can run)",
        extensions={
            "code": "BAD_USER_INPUT",
            "limit": "repeatedFields",
            "maximum": MAX_REPEATS,
            "value": times,
        },
    )


class DocumentCache(SchemaExtension):
    def __init__(self, max_query_bytes: int = 100_000, max_cache_bytes: int = 32 * 2**20) -> None:
        self.max_query_bytes = max_query_bytes
        self.store = store_for(max_cache_bytes)
        self._entry: _Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if context.graphql_document is None and query:
            # Characters are at least one byte each, at most four: encode only when in doubt.
            if len(query) > self.max_query_bytes or (
                len(query) * 4 > self.max_query_bytes and _query_bytes(query) > self.max_query_bytes
            ):
                raise GraphQLError(
                    f"the query text is {_query_bytes(query)} bytes; the limit is"
                    f" {self.max_query_bytes} bytes, comments and whitespace included ({ENV_VAR})",
                    extensions={
                        "code": "BAD_USER_INPUT",
                        "limit": "queryBytes",
                        "maximum": self.max_query_bytes,
                        "value": _query_bytes(query),
                    },
                )
            key = (query, tuple(sorted(context.parse_options.items())))
            self._entry = self.store.get(key)
            if self._entry is None:
                try:
                    document = parse(query, **context.parse_options)
                except GraphQLError:
                    document = None  # Strawberry's own parse reports it
                if document is not None and len(query) <= CACHEABLE_QUERY_BYTES:
                    self._entry = self.store.put_document(key, document)
                elif document is not None:
                    self._entry = _Entry(document, 0)
            if self._entry is not None:
                context.graphql_document = self._entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            rules = tuple(context.validation_rules)
            entry = self._entry if self._entry and self._entry.document is document else None
            errors = None if entry is None else entry.validated.get(rules)
            if errors is None:
                repeated = repeated_field_error(document)
                errors = (
                    [repeated]
                    if repeated
                    else validate_document(core_schema(context.schema), document, rules)
                )
                if entry is not None and entry.weight:
                    entry.validated[rules] = errors
            context.pre_execution_errors = errors
        yield
