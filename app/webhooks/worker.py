"""The delivery worker: runs inside `relata serve` (RELATA_WEBHOOK_WORKER=0 turns it off) or alone
as `relata deliver`; any number may run at once, on any nodes.

Every `poll_interval` it reads the directory of locations with webhooks and, per location, in one
short transaction:

1. locks the location's active webhooks no other worker holds (FOR UPDATE SKIP LOCKED): one
   worker at a time scans and claims for a webhook;
2. turns the events after each webhook's `scanned_position` that it subscribes to into pending
   deliveries, and advances the scan;
3. claims due deliveries (FOR UPDATE SKIP LOCKED) for a lease: only those with no earlier pending
   delivery for the same webhook sharing an ordering key (a record's events go out one at a time,
   in order), at most `endpoint_concurrency` in flight per webhook and no more than the worker
   has free slots for (`concurrency`).

Then each claimed delivery is sent as its own task, outside any transaction (a slow endpoint
delays nobody else's deliveries), signed per Standard Webhooks, and its outcome recorded: 2xx is
delivered; anything else (a redirect, an error status, a timeout, a refused address) is retried
with exponential back-off and jitter, and after `max_attempts` the delivery is dead. A worker
that dies mid-delivery leaves a claim whose lease runs out: another worker (or the restarted
one) sends it again, with the same `webhook-id`: delivery is at least once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.config import Settings
from app.models import EventModel
from app.webhooks.models import MAX_ERROR, ordering_keys, subscribes
from app.webhooks.signing import body_of, headers_for
from app.webhooks.urls import UnsafeAddress, check_public
from db import Database, is_unavailable
from db import events as event_sql
from db import webhooks as sql

log = logging.getLogger("relata.webhooks")

# Events read per location and pass: a long backlog is turned into deliveries over several.
SCAN_BATCH = 500


def retry_delay(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after `attempts` failed ones: base x 3^(n-1), capped,
    with +-20% jitter (5 s, 15 s, 45 s, 2 min, 7 min, 20 min, 1 h, 3 h, then 6 h by default)."""
    exponent = min(max(attempts - 1, 0), 40)
    delay = min(settings.webhook_retry_max, settings.webhook_retry_base * 3.0**exponent)
    return float(delay * random.uniform(0.8, 1.2))


@dataclass
class _Job:
    location_id: str
    webhook_id: uuid.UUID
    url: str
    secret: str
    event_position: int
    event_id: uuid.UUID
    attempts: int
    claim_id: uuid.UUID
    event: Any = None


class WebhookWorker:
    def __init__(self, db: Database, settings: Settings, *, name: str = "webhooks") -> None:
        self.db, self.settings, self.name = db, settings, name
        self.lease = max(settings.webhook_lease, settings.webhook_timeout + 2.0)
        self._client: httpx.AsyncClient | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sending: dict[asyncio.Task[None], _Job] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.settings.webhook_timeout),
            limits=httpx.Limits(
                max_connections=max(1, self.settings.webhook_concurrency),
                max_keepalive_connections=max(1, self.settings.webhook_concurrency // 2),
            ),
            trust_env=False,  # no proxy from the environment: the address check is the real one
        )
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        log.info("webhook worker %s started", self.name)

    async def stop(self, grace: float | None = None) -> None:
        """Stop polling; wait up to `grace` seconds for deliveries being sent, then give the
        remaining claims back so the next worker sends them at once."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        wait = min(5.0, self.settings.webhook_timeout) if grace is None else grace
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=wait)
        unfinished = dict(self._sending)
        for task in unfinished:
            task.cancel()
        for task in unfinished:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for job in unfinished.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    sql.release(
                        self.db, job.location_id, job.webhook_id, job.event_position, job.claim_id
                    ),
                    2.0,
                )
        if self._client is not None:
            await self._client.aclose()
        log.info("webhook worker %s stopped", self.name)

    def wake(self) -> None:
        """Poll now rather than at the next interval."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            pause = self.settings.webhook_poll_interval
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("webhook worker: database unavailable (%s)", exc.__class__.__name__)
                else:
                    log.exception("webhook worker: a pass failed; retrying")
                pause = max(pause, 1.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    # --- one pass -------------------------------------------------------------------------------

    @property
    def free_slots(self) -> int:
        return max(0, self.settings.webhook_concurrency - len(self._sending))

    async def run_once(self) -> int:
        """Scan and claim for every location with webhooks; start the claimed sends. Returns how
        many started."""
        started = 0
        locations = await sql.webhook_locations(self.db)
        random.shuffle(locations)  # no location always first when slots run short
        for location_id in locations:
            if self._stopping:
                break
            try:
                jobs = await self._claim(location_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unavailable(exc):
                    raise
                log.exception("webhook worker: location %s failed; continuing", location_id)
                continue
            for job in jobs:
                task = asyncio.get_running_loop().create_task(self._deliver(job))
                self._sending[task] = job
                task.add_done_callback(self._sending.pop)
                started += 1
        return started

    async def _claim(self, location_id: str) -> list[_Job]:
        async with self.db.transaction() as conn:
            hooks = await sql.lock_active_webhooks(conn, location_id)
            if not hooks:
                return []
            await self._scan(conn, location_id, hooks)
            slots = self.free_slots
            if slots <= 0:
                return []
            counts = await sql.pending_counts(conn, location_id, [h["id"] for h in hooks])
            jobs: list[_Job] = []
            for hook in hooks:
                in_flight, due = counts.get(hook["id"], (0, 0))
                limit = min(
                    self.settings.webhook_endpoint_concurrency - in_flight, due, slots - len(jobs)
                )
                if limit <= 0:
                    continue
                claim_id = uuid.uuid4()
                for row in await sql.claim(
                    conn,
                    location_id,
                    hook["id"],
                    limit=limit,
                    lease_seconds=self.lease,
                    claim_id=claim_id,
                ):
                    jobs.append(
                        _Job(
                            location_id=location_id,
                            webhook_id=hook["id"],
                            url=hook["url"],
                            secret=hook["secret"],
                            event_position=row["event_position"],
                            event_id=row["event_id"],
                            attempts=row["attempts"],
                            claim_id=claim_id,
                        )
                    )
            if not jobs:
                return []
            events = {
                r["id"]: r
                for r in await event_sql.get_events(conn, location_id, [j.event_id for j in jobs])
            }
            ready = []
            for job in jobs:
                job.event = events.get(job.event_id)
                if job.event is not None:
                    ready.append(job)
                    continue
                log.warning(
                    "webhook %s: event at position %d of location %s was pruned before delivery",
                    job.webhook_id,
                    job.event_position,
                    location_id,
                )
                await sql.record_outcome(
                    conn,
                    location_id,
                    job.webhook_id,
                    job.event_position,
                    job.claim_id,
                    status="dead",
                    status_code=None,
                    error="the event was pruned from the event log before it could be delivered",
                    retry_in_seconds=0,
                )
            return ready

    async def _scan(self, conn: Any, location_id: str, hooks: list[Any]) -> None:
        low = min(h["scanned_position"] for h in hooks)
        events = await event_sql.list_events(conn, location_id, after=low, limit=SCAN_BATCH)
        if not events:
            return
        last = events[-1]["position"]
        rows = []
        for hook in hooks:
            types, key = list(hook["event_types"]), hook["object_key"]
            for event in events:
                if event["position"] > hook["scanned_position"] and subscribes(types, key, event):
                    rows.append(
                        (
                            hook["id"],
                            event["position"],
                            event["id"],
                            event["type"],
                            ordering_keys(event),
                        )
                    )
        if rows:
            await sql.insert_deliveries(conn, location_id, rows)
        behind = [h["id"] for h in hooks if h["scanned_position"] < last]
        await sql.advance_scans(conn, location_id, behind, last)

    # --- sending --------------------------------------------------------------------------------

    async def _deliver(self, job: _Job) -> None:
        event = EventModel.from_row(job.event)
        status_code, error = await self._post(job, event)
        ok = status_code is not None and 200 <= status_code < 300 and error is None
        if ok:
            status, retry = "delivered", 0.0
        elif job.attempts >= self.settings.webhook_max_attempts:
            status, retry = "dead", 0.0
        else:
            status, retry = "pending", retry_delay(job.attempts, self.settings)
        if not ok:
            log.info(
                "webhook %s: %s of event %s failed (attempt %d, %s)%s",
                ids_of(job.webhook_id),
                event.type,
                event.id,
                job.attempts,
                error,
                "; giving up" if status == "dead" else f"; retrying in {retry:.1f} s",
            )
        try:
            await sql.record_outcome(
                self.db,
                job.location_id,
                job.webhook_id,
                job.event_position,
                job.claim_id,
                status=status,
                status_code=status_code,
                error=None if error is None else error[:MAX_ERROR],
                retry_in_seconds=retry,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is sent again (same webhook-id).
            log.exception(
                "webhook %s: could not record the outcome for event %s", job.webhook_id, event.id
            )

    async def _post(self, job: _Job, event: EventModel) -> tuple[int | None, str | None]:
        assert self._client is not None
        body = body_of(event)
        headers = headers_for(job.secret, event, body, int(time.time()))
        timeout = self.settings.webhook_timeout
        try:
            async with asyncio.timeout(timeout):
                if not self.settings.webhook_allow_private:
                    await check_public(job.url)
                async with self._client.stream(
                    "POST", job.url, content=body, headers=headers
                ) as response:
                    code = response.status_code
        except UnsafeAddress as exc:
            return None, f"refused: {exc}"
        except TimeoutError:
            return None, f"no response within {timeout:g} s"
        except httpx.TimeoutException:
            return None, f"no response within {timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("webhook %s: sending event %s failed unexpectedly", job.url, event.id)
            return None, f"unexpected error: {exc.__class__.__name__}"
        if 200 <= code < 300:
            return code, None
        if 300 <= code < 400:
            return code, f"HTTP {code}: redirects are not followed; register the final URL"
        return code, f"HTTP {code}"


def ids_of(uid: uuid.UUID) -> str:
    from app.ids import Kind, encode

    return encode(Kind.WEBHOOK, uid)
