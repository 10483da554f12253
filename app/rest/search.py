"""HighLevel's record search body (`POST /objects/{key}/records/search`, `POST /contacts/search`)
over the records service: `query`, `page`/`pageLimit` or `searchAfter`, and `sort`.

Unsorted, results come oldest first and `searchAfter` is a keyset cursor (any depth). Sorted,
`searchAfter` carries the result's position, and pages (by `page` or `searchAfter`) reach the
first 10,000 results, as HighLevel's page-based search does."""

from __future__ import annotations

from dataclasses import dataclass

from app import ids
from app.errors import BadUserInput
from app.models import RecordModel
from app.rest.base import Body, Call
from app.services import records as record_service

MAX_PAGED_RESULTS = record_service.MAX_OFFSET
_KNOWN = frozenset(
    {"locationId", "page", "pageLimit", "limit", "query", "searchAfter", "sort", "filters"}
)
# HighLevel's field names for what records can be sorted by.
_SORT_FIELDS = {
    "dateAdded": "createdAt",
    "createdAt": "createdAt",
    "dateUpdated": "updatedAt",
    "updatedAt": "updatedAt",
    "displayName": "displayName",
    "name": "displayName",
}
_POSITION = "position:"


@dataclass
class SearchResult:
    items: list[RecordModel]
    # Each item's `searchAfter`: send it back to get the results after that item.
    after: list[list[str]]
    total: int


def _int(body: Body, name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadUserInput(f"{name} must be a positive integer", field=name)
    return value


def _sort(body: Body) -> tuple[str, bool] | None:
    """`sort: [{"field": "dateAdded", "direction": "desc"}]` (one key), or None."""
    value = body.get("sort")
    if value in (None, [], {}):
        return None
    items = value if isinstance(value, list) else [value]
    if len(items) != 1 or not isinstance(items[0], dict):
        raise BadUserInput(
            'sort must be one {"field": ..., "direction": "asc" | "desc"}', field="sort"
        )
    field = items[0].get("field")
    direction = str(items[0].get("direction") or "asc").lower()
    if field not in _SORT_FIELDS or direction not in ("asc", "desc"):
        raise BadUserInput(
            f"sort.field must be one of {', '.join(_SORT_FIELDS)} and sort.direction asc or desc",
            field="sort",
        )
    return _SORT_FIELDS[field], direction == "desc"


def _filters(body: Body) -> None:
    # Only `query` filters; refuse filters rather than answer with more records than asked for.
    if body.get("filters") not in (None, [], {}):
        raise BadUserInput("filters are not supported: filter with query", field="filters")


def _marker(body: Body) -> str | None:
    marker = body.optional_list("searchAfter")
    if not marker:
        return None
    value = marker[-1]
    if not isinstance(value, str):
        raise BadUserInput(
            "searchAfter must be the searchAfter value of the last record of a page",
            field="searchAfter",
        )
    return value


async def search(call: Call, object_key: str) -> SearchResult:
    body = await call.body()
    call.check_location(body)
    for name in body.data:
        if name not in _KNOWN:
            raise BadUserInput(f"unknown search field {name!r}", field=name)
    _filters(body)
    sort = _sort(body)
    limit = _int(body, "pageLimit", _int(body, "limit", 20))
    page = _int(body, "page", 1)
    query = body.optional_str("query") or None
    marker = _marker(body)
    after: str | None = None
    offset = (page - 1) * limit
    if marker is not None and sort is None:
        ids.decode_cursor(marker)
        after, offset = marker, 0
    elif marker is not None:
        if not marker.startswith(_POSITION) or not marker[len(_POSITION) :].isdigit():
            raise BadUserInput(
                "searchAfter of a sorted search is the searchAfter of its last record",
                field="searchAfter",
            )
        offset = int(marker[len(_POSITION) :]) + 1
    if offset + limit > MAX_PAGED_RESULTS and (sort is not None or marker is None):
        raise BadUserInput(
            f"only the first {MAX_PAGED_RESULTS} results can be paged to"
            + ("" if sort else "; page further with searchAfter"),
            field="page",
        )
    found = await record_service.list_records(
        call.db,
        call.principal,
        object_key,
        first=limit,
        after=after,
        query=query,
        with_total=True,
        offset=offset,
        sort=sort,
    )
    if sort is None:
        markers = [[ids.encode_cursor(r.uid)] for r in found.items]
    else:
        markers = [[f"{_POSITION}{offset + i}"] for i in range(len(found.items))]
    return SearchResult(found.items, markers, found.total or 0)
