"""What the webhook service hands to GraphQL and REST."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.ids import Kind, encode

# Webhooks one location may have: `webhooks` lists are unpaginated, so the response budget
# weighs them by this bound, and the worker's per-location work stays bounded.
MAX_WEBHOOKS = 20
MAX_URL = 2048
# A failed attempt's error, as stored and shown (`lastError`), is cut to this many characters.
MAX_ERROR = 500
DELIVERY_STATUSES = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class WebhookModel:
    uid: uuid.UUID
    location_id: str
    url: str
    event_types: list[str]
    object_key: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return encode(Kind.WEBHOOK, self.uid)

    @classmethod
    def from_row(cls, r: Any) -> WebhookModel:
        return cls(
            uid=r["id"],
            location_id=r["location_id"],
            url=r["url"],
            event_types=list(r["event_types"]),
            object_key=r["object_key"],
            active=r["active"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )


@dataclass(frozen=True)
class DeliveryModel:
    webhook_uid: uuid.UUID
    event_uid: uuid.UUID
    event_position: int
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime

    @property
    def event_id(self) -> str:
        return encode(Kind.EVENT, self.event_uid)

    @property
    def webhook_id(self) -> str:
        return encode(Kind.WEBHOOK, self.webhook_uid)

    @property
    def cursor(self) -> str:
        return str(self.event_position)

    @classmethod
    def from_row(cls, r: Any) -> DeliveryModel:
        return cls(
            webhook_uid=r["webhook_id"],
            event_uid=r["event_id"],
            event_position=r["event_position"],
            event_type=r["event_type"],
            status=r["status"],
            attempts=r["attempts"],
            last_status_code=r["last_status_code"],
            last_error=r["last_error"],
            last_attempt_at=r["last_attempt_at"],
            # Only a pending delivery has a next attempt.
            next_attempt_at=r["next_attempt_at"] if r["status"] == "pending" else None,
            created_at=r["created_at"],
        )


# Ordering keys of object events: a name-based uuid of the object key (ordering keys are uuids).
_OBJECT_NAMESPACE = uuid.UUID("0b6f5d1e-3c2a-4f7b-9e8d-5a4c3b2a1f0e")


def ordering_keys(event: Any) -> list[uuid.UUID]:
    """What an event (a row of `events`) touches: deliveries sharing a key go out in event
    order. A record's events: the record; a relation's: both its records; an association's:
    the association; an object's: the object."""
    t = event["type"]
    if t.startswith("RECORD_"):
        return [event["record_id"]]
    if t.startswith("RELATION_"):
        return [event["first_record_id"], event["second_record_id"]]
    if t.startswith("ASSOCIATION_"):
        return [event["association_id"]]
    return [uuid.uuid5(_OBJECT_NAMESPACE, event["object_key"] or "")]


def subscribes(event_types: list[str], object_key: str | None, event: Any) -> bool:
    """Whether a webhook with these filters receives the event (a row of `events`): its type is
    one of them and, with an object key, the event's record, relation end or object is of it."""
    if event["type"] not in event_types:
        return False
    if object_key is None:
        return True
    return object_key in (
        event["object_key"],
        event["first_object_key"],
        event["second_object_key"],
    )
