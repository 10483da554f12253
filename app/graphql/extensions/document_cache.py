"""Parsed documents, cached by query text: clients send the same few operations again and again.

Strawberry's own `ParserCache` raises parse errors out of its hook, which would bypass the token
limit's error; here a document that does not parse is left to Strawberry's ordinary parse, so it
is refused exactly as before. Cached documents are shared between requests and never mutated."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension

DOCUMENT_CACHE_SIZE = 1_000

_parse = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)


class DocumentCache(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            try:
                context.graphql_document = _parse(context.query, **context.parse_options)
            except GraphQLError:
                pass
        yield
