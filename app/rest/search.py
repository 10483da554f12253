"""HighLevel's record search body (`POST /objects/{key}/records/search`, `POST /contacts/search`)
over the records service's keyset pages."""

from __future__ import annotations

from dataclasses import dataclass

from app import ids
from app.errors import BadUserInput
from app.models import RecordModel
from app.rest.base import Body, Call
from app.services import records as record_service

# HighLevel's page-based search stops at 10,000 results; past that, page with searchAfter.
MAX_PAGED_RESULTS = 10_000
_KNOWN = frozenset(
    {"locationId", "page", "pageLimit", "limit", "query", "searchAfter", "sort", "filters"}
)


@dataclass
class SearchResult:
    items: list[RecordModel]
    total: int


def search_after(record: RecordModel) -> list[str]:
    """The value to send back as `searchAfter` for the page after this record."""
    return [ids.encode_cursor(record.uid)]


def _int(body: Body, name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadUserInput(f"{name} must be a positive integer", field=name)
    return value


def _empty(body: Body, name: str) -> None:
    # Sorting and filters are not served: refuse them rather than answer in another order or
    # with more records than asked for.
    value = body.get(name)
    if value not in (None, [], {}):
        raise BadUserInput(
            f"{name} is not supported: results come oldest first, filtered by query only",
            field=name,
        )


async def search(call: Call, object_key: str) -> SearchResult:
    body = await call.body()
    call.check_location(body)
    for name in body.data:
        if name not in _KNOWN:
            raise BadUserInput(f"unknown search field {name!r}", field=name)
    _empty(body, "sort")
    _empty(body, "filters")
    limit = _int(body, "pageLimit", _int(body, "limit", 20))
    page = _int(body, "page", 1)
    query = body.optional_str("query") or None
    after: str | None = None
    marker = body.optional_list("searchAfter")
    if marker:
        cursor = marker[-1]
        if not isinstance(cursor, str):
            raise BadUserInput(
                "searchAfter must be the searchAfter value of the last record of a page",
                field="searchAfter",
            )
        after = cursor
        ids.decode_cursor(after)
    elif page > 1:
        if page * limit > MAX_PAGED_RESULTS:
            raise BadUserInput(
                f"page {page} of {limit} is past the first {MAX_PAGED_RESULTS} results: page"
                " with searchAfter instead",
                field="page",
            )
        # Walk the keyset pages to the one asked for.
        for _ in range(page - 1):
            skipped = await record_service.list_records(
                call.db, call.principal, object_key, first=limit, after=after, query=query
            )
            if not skipped.has_next:
                return SearchResult([], await _total(call, object_key, query))
            after = ids.encode_cursor(skipped.items[-1].uid)
    found = await record_service.list_records(
        call.db, call.principal, object_key, first=limit, after=after, query=query, with_total=True
    )
    return SearchResult(found.items, found.total or 0)


async def _total(call: Call, object_key: str, query: str | None) -> int:
    page = await record_service.list_records(
        call.db, call.principal, object_key, first=0, after=None, query=query, with_total=True
    )
    return page.total or 0
