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
from app.rest.base import Call
from app.rest.bodies import SORT_FIELDS, Search
from app.services import records as record_service

MAX_PAGED_RESULTS = record_service.MAX_OFFSET
_POSITION = "position:"


@dataclass
class SearchResult:
    items: list[RecordModel]
    # Each item's `searchAfter`: send it back to get the results after that item.
    after: list[list[str]]
    total: int


def _marker(body: Search) -> str | None:
    return body.searchAfter[-1] if body.searchAfter else None


async def search(call: Call[Search], object_key: str) -> SearchResult:
    body = call.body
    sort = None
    if body.sort:
        sort = SORT_FIELDS[body.sort[0].field], body.sort[0].direction == "desc"
    limit = body.pageLimit or body.limit or 20
    page = body.page or 1
    query = body.query or None
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
