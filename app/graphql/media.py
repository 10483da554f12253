"""GraphQL over HTTP media types: which one a client gets, and what a request error answers.

A client that accepts `application/graphql-response+json` (at least as much as it accepts JSON)
gets it, with the GraphQL-over-HTTP spec's status codes: a request error (the document does not
parse or validate, a variable does not coerce, a limit refuses the document) is HTTP 400 and has
no `data` entry. Every other client gets `application/json` and the legacy rules: such an error
is HTTP 200 with `"data": null`, as it always was here."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_JSON_RANGES = (JSON, "application/*", "*/*")


def _accepted(accept: str) -> dict[str, float]:
    """Each media range of an Accept header with its quality (the highest, when repeated)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        ranges[media] = max(quality, ranges.get(media, 0.0))
    return ranges


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client names it with a quality no lower
    than JSON's (a wildcard alone means JSON: clients that do not ask keep getting it)."""
    ranges = _accepted(accept or "")
    wanted = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if wanted <= 0.0:
        return JSON
    json_quality = max(ranges.get(r, 0.0) for r in _JSON_RANGES)
    return GRAPHQL_RESPONSE_JSON if wanted >= json_quality else JSON


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """Whether the operation never started: no data and no error at a field's path."""
    return data is None and bool(errors) and all(not e.path for e in errors or ())
