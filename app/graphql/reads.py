"""The record reads a query's root and `Record.relations` make, from their GraphQL arguments
(coerced, by their GraphQL names): one mapping to the services, for the resolvers and the
pre-shaped path alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.auth import Principal
from app.models import Page
from app.services import records as record_service
from app.services import traversal
from app.services.traversal import RelatedQuery
from db import Database


def related_query(args: Mapping[str, Any], *, with_total: bool) -> RelatedQuery:
    """The page `Record.relations(...)` asks for."""
    return traversal.related_query(
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        association_id=args.get("associationId"),
        association_key=args.get("associationKey"),
        object_key=args.get("objectKey"),
        with_total=with_total,
    )


async def record_page(
    db: Database, principal: Principal, args: Mapping[str, Any], *, with_total: bool
) -> Page:
    """The page `Query.records(...)` asks for."""
    related_to = args.get("relatedTo")
    return await record_service.list_records(
        db,
        principal,
        args["objectKey"],
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        query=args.get("query"),
        related_to=None if related_to is None else related_to["recordId"],
        association_id=None if related_to is None else related_to.get("associationId"),
        with_total=with_total,
    )
