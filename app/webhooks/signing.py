"""Webhook secrets, bodies and Standard Webhooks signatures (https://www.standardwebhooks.com):
`webhook-id` (the event id), `webhook-timestamp` (unix seconds) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed by the secret's bytes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

import orjson

from app.models import EventModel, webhook_event_name

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_of(event: EventModel) -> bytes:
    """What a webhook receives for an event (HighLevel's names for the types)."""
    document: dict[str, Any] = {
        "type": webhook_event_name(event.type),
        "id": event.id,
        "locationId": event.location_id,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.payload(),
    }
    return orjson.dumps(document)


def headers_for(secret: str, event: EventModel, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Relata-Webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event.id, timestamp, body),
    }
