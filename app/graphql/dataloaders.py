"""Request-scoped loaders. Built per request in the context, never shared (their caches would
leak one caller's rows to another)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiodataloader import DataLoader

from app.auth import Principal
from app.models import AssociationModel, Page, RecordModel, RelationModel
from app.services import associations as association_service
from app.services import events as event_service
from app.services import records as record_service
from app.services import relations as relation_service
from app.services import traversal
from app.services.traversal import RelatedQuery
from db import Database

K = TypeVar("K")
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A loader whose futures outlive any one field that waits on them. A key's future is shared
    by every field that loads it; graphql-core cancels a field's siblings once an error nulls
    their parent, and a task cancelled while awaiting a future cancels that future: every other
    field waiting on the key (and any later load of it) would get CancelledError, which no
    field error handling catches, and the whole request would fail without an answer."""

    def load(self, key: K) -> asyncio.Future[V]:
        return asyncio.shield(super().load(key))


class RecordLoader(SharedLoader[uuid.UUID, RecordModel | None]):
    def __init__(self, db: Database, principal: Principal) -> None:
        super().__init__()
        self.db, self.principal = db, principal

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[RecordModel | None]:
        found = await record_service.records_by_uid(self.db, self.principal.location_id, list(keys))
        return [found.get(k) for k in keys]


class AssociationLoader(SharedLoader[uuid.UUID, AssociationModel | None]):
    def __init__(self, db: Database, principal: Principal) -> None:
        super().__init__()
        self.db, self.principal = db, principal

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[AssociationModel | None]:
        found = await association_service.associations_by_uid(
            self.db, self.principal.location_id, list(keys)
        )
        return [found.get(k) for k in keys]


class RelationLoader(SharedLoader[uuid.UUID, RelationModel | None]):
    def __init__(self, db: Database, principal: Principal) -> None:
        super().__init__()
        self.db, self.principal = db, principal

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[RelationModel | None]:
        found = await relation_service.relations_by_uid(
            self.db, self.principal.location_id, list(keys)
        )
        return [found.get(k) for k in keys]


class RelationCountLoader(SharedLoader[uuid.UUID, int]):
    def __init__(self, db: Database, principal: Principal) -> None:
        super().__init__()
        self.db, self.principal = db, principal

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[int]:
        counts = await association_service.relation_counts(
            self.db, self.principal.location_id, list(keys)
        )
        return [counts.get(k, 0) for k in keys]


Q = TypeVar("Q", bound=Hashable)


class PerParentPageLoader(SharedLoader[tuple[uuid.UUID, Q], Page], Generic[Q]):
    """Key: (parent record, page arguments). Parents that share arguments are read together, in
    one statement however many parents there are (`pages_of`)."""

    def __init__(self, db: Database, principal: Principal) -> None:
        super().__init__()
        self.db, self.principal = db, principal

    async def pages_of(self, parents: list[uuid.UUID], q: Q) -> dict[uuid.UUID, Page]:
        raise NotImplementedError

    async def batch_load_fn(self, keys: Sequence[tuple[uuid.UUID, Q]]) -> list[Page]:
        groups: dict[Q, list[uuid.UUID]] = defaultdict(list)
        for parent, q in keys:
            groups[q].append(parent)
        pages: dict[tuple[uuid.UUID, Q], Page] = {}
        for q, parents in groups.items():
            for parent, page in (await self.pages_of(list(dict.fromkeys(parents)), q)).items():
                pages[(parent, q)] = page
        return [pages[k] for k in keys]


class RelatedPageLoader(PerParentPageLoader[RelatedQuery]):
    """A level of traversal costs one statement however many parents it has."""

    async def pages_of(self, parents: list[uuid.UUID], q: RelatedQuery) -> dict[uuid.UUID, Page]:
        return await traversal.related_pages(self.db, self.principal, parents, q)


@dataclass(frozen=True)
class HistoryKey:
    """The arguments of `Record.history`, minus the record: records sharing them are batched."""

    first: int | None
    after: str | None
    types: tuple[str, ...] | None


class HistoryLoader(PerParentPageLoader[HistoryKey]):
    async def pages_of(self, parents: list[uuid.UUID], q: HistoryKey) -> dict[uuid.UUID, Page]:
        return await event_service.record_histories(
            self.db, self.principal, parents, first=q.first, after=q.after, types=q.types
        )


class Loaders:
    """Built on first use: most requests need none of them (the pre-shaped path batches by
    itself), and each costs an object and an event-loop lookup to create."""

    def __init__(self, db: Database, principal: Principal) -> None:
        self.db, self.principal = db, principal

    @functools.cached_property
    def records(self) -> RecordLoader:
        return RecordLoader(self.db, self.principal)

    @functools.cached_property
    def associations(self) -> AssociationLoader:
        return AssociationLoader(self.db, self.principal)

    @functools.cached_property
    def relations(self) -> RelationLoader:
        return RelationLoader(self.db, self.principal)

    @functools.cached_property
    def relation_counts(self) -> RelationCountLoader:
        return RelationCountLoader(self.db, self.principal)

    @functools.cached_property
    def related(self) -> RelatedPageLoader:
        return RelatedPageLoader(self.db, self.principal)

    @functools.cached_property
    def history(self) -> HistoryLoader:
        return HistoryLoader(self.db, self.principal)

    def prime_page(self, page: Page) -> None:
        for edge in page.items:
            self.records.prime(edge.node.uid, edge.node)
            self.associations.prime(edge.association.uid, edge.association)
            self.relations.prime(edge.relation.uid, edge.relation)
