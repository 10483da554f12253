"""What authentication remembers between requests: a token's lookup, for at most 1 s.

Every API request is admitted by its bearer token (app/admission.py); looking the token up is one
SQL statement, a third of a record page's round trips. `TokenCache` (one per app, on
`app.state.auth_cache`) keeps each lookup's answer for `ttl` seconds (at most 1) on the
monotonic clock, keyed by the token's SHA-256:

- Revocation stays effective within `ttl` everywhere: an answer is kept for `ttl` from the moment
  its lookup was *sent* (the database's answer can be no older than that), so a token revoked by
  another process (`relata token revoke`, another server) is refused by this one at most `ttl`
  after the revocation committed. A revocation made in this process (`services.tokens.
  revoke_token`, any pool) bumps a process-wide count, `revocations()`: every answer remembered
  before it is dropped at once, and a lookup in flight across it is neither shared with later
  requests nor remembered.
- Bounded: at most `max_entries` valid tokens and, apart from them, at most `max_entries`
  refused ones, each least recently used first out. Only a token whose row was found and active
  is remembered as valid; a flood of distinct made-up tokens churns only the refusals, never
  evicting a valid token.
- Refusals (unknown or revoked, 401) are remembered too, for the same `ttl`: a client retrying
  a dead token costs one statement a second, not one a request. This is safe because no refusal
  can turn into an acceptance: a token is 256 random bits generated when its row is inserted and
  shown only after that commits, so nobody can present it before it exists, and a revoked token
  is never reinstated.
- Failures are never remembered: the database or the pool failing (503) and bugs (500) are
  raised to every request that waited on that lookup, and the next request looks again.
- Single flight: concurrent requests for a token nobody has looked up share one lookup, which
  runs in a task of its own (a waiter that goes away does not cancel it for the others). A
  request joins a lookup in flight only when it was sent less than `ttl` ago and no revocation
  happened in this process since.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.auth import Principal
from app.errors import Unauthenticated

# Revocation must reach every server within a second (SECURITY.md): the setting cannot exceed it.
MAX_TTL = 1.0

_revocations = 0


def revocations() -> int:
    """How many revocations this process has made (any pool, any app)."""
    return _revocations


def note_revocation() -> None:
    """Forget, in every TokenCache of this process, every answer looked up before now."""
    global _revocations
    _revocations += 1


@dataclass(frozen=True)
class _Entry:
    # A Principal (valid) or the message of the refusal (unknown or revoked).
    answer: Principal | str
    expires: float
    revocations: int


@dataclass(eq=False)
class _Flight:
    sent: float
    revocations: int
    task: asyncio.Task[Principal] | None = None


class _Lru:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def get(self, key: bytes, now: float) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now or entry.revocations != _revocations:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: _Entry) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        self.entries.pop(key, None)


class TokenCache:
    """Answers of token lookups by token hash, for at most `ttl` seconds (see the module)."""

    def __init__(
        self,
        ttl: float = MAX_TTL,
        max_entries: int = 10_000,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ttl <= MAX_TTL:
            raise ValueError(
                f"RELATA_AUTH_CACHE_SECONDS must be above 0 and at most {MAX_TTL:g} (a revoked"
                f" token must be refused by every server within {MAX_TTL:g} s), not {ttl!r};"
                " 0 turns the cache off"
            )
        if max_entries < 1:
            raise ValueError(f"RELATA_AUTH_CACHE_ENTRIES must be at least 1, not {max_entries!r}")
        self.ttl = ttl
        self.clock = clock
        self.valid = _Lru(max_entries)
        self.refused = _Lru(max_entries)
        self.flights: dict[bytes, _Flight] = {}

    def __len__(self) -> int:
        return len(self.valid.entries) + len(self.refused.entries)

    async def get(self, digest: bytes, lookup: Callable[[], Awaitable[Principal]]) -> Principal:
        """The principal of the token hashing to `digest`: remembered, or from `lookup` (shared
        with concurrent callers); Unauthenticated when the token is unknown or revoked."""
        now = self.clock()
        entry = self.valid.get(digest, now) or self.refused.get(digest, now)
        if entry is not None:
            if isinstance(entry.answer, str):
                raise Unauthenticated(entry.answer)
            return entry.answer
        flight = self.flights.get(digest)
        if flight is None or flight.revocations != _revocations or now - flight.sent >= self.ttl:
            flight = self._start(digest, lookup, now)
        assert flight.task is not None
        # Shielded: a caller that goes away does not cancel the lookup others are waiting for.
        return await asyncio.shield(flight.task)

    def forget(self, digest: bytes) -> None:
        self.valid.discard(digest)
        self.refused.discard(digest)
        self.flights.pop(digest, None)

    def _start(
        self, digest: bytes, lookup: Callable[[], Awaitable[Principal]], sent: float
    ) -> _Flight:
        flight = _Flight(sent, _revocations)

        async def run() -> Principal:
            try:
                principal = await lookup()
            except Unauthenticated as exc:
                self._remember(digest, flight, exc.message)
                raise
            except BaseException:
                self._land(digest, flight)
                raise
            self._remember(digest, flight, principal)
            return principal

        # The task copies this request's context: the lookup counts in its statement header.
        self.flights[digest] = flight
        flight.task = asyncio.ensure_future(run())
        flight.task.add_done_callback(_retrieve)
        return flight

    def _remember(self, digest: bytes, flight: _Flight, answer: Principal | str) -> None:
        current = self._land(digest, flight)
        expires = flight.sent + self.ttl
        # Not when a revocation in this process came after the lookup was sent (the answer may
        # predate it), when a newer lookup replaced this one, or when the answer is too old.
        if not current or flight.revocations != _revocations or expires <= self.clock():
            return
        entry = _Entry(answer, expires, flight.revocations)
        if isinstance(answer, str):
            self.valid.discard(digest)
            self.refused.put(digest, entry)
        else:
            self.refused.discard(digest)
            self.valid.put(digest, entry)

    def _land(self, digest: bytes, flight: _Flight) -> bool:
        """Ends `flight`; whether it was still the token's current lookup."""
        if self.flights.get(digest) is flight:
            del self.flights[digest]
            return True
        return False


def _retrieve(task: asyncio.Task[Principal]) -> None:
    # Every waiter may have gone (cancelled requests): the failure is theirs, not the loop's
    # "exception was never retrieved".
    if not task.cancelled():
        task.exception()
