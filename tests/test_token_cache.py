"""The token cache on its own (app/services/token_cache.py), on a clock the test moves: how long
an answer lives, what it holds at most, what it never remembers, and single flight. Through the
API against a real database: tests/test_auth_cache.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from app.auth import Principal
from app.config import Settings
from app.errors import ServiceUnavailable, Unauthenticated
from app.services.token_cache import TokenCache, note_revocation


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def principal(n: int = 0) -> Principal:
    return Principal("loc", "user", frozenset({"objects/record.readonly"}), f"tok-{n}")


class Lookups:
    """A lookup that answers `answer` (a Principal, or an exception to raise) and counts."""

    def __init__(self, answer: Principal | BaseException, clock: Clock | None = None) -> None:
        self.answer = answer
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.takes = 0.0
        self.clock = clock

    def __call__(self) -> Callable[[], Awaitable[Principal]]:
        async def lookup() -> Principal:
            self.calls += 1
            if self.gate is not None:
                await self.gate.wait()
            if self.clock is not None:
                self.clock.now += self.takes
            if isinstance(self.answer, BaseException):
                raise self.answer
            return self.answer

        return lookup


def digest(n: int) -> bytes:
    return n.to_bytes(32, "big")


@pytest.mark.parametrize("ttl", [1.000001, 2, 60, -1, 0])
def test_the_ttl_is_above_0_and_at_most_one_second(ttl):
    with pytest.raises(ValueError, match="RELATA_AUTH_CACHE_SECONDS"):
        TokenCache(ttl)


def test_the_settings(monkeypatch):
    assert (Settings().auth_cache_seconds, Settings().auth_cache_entries) == (1.0, 10_000)
    monkeypatch.setenv("RELATA_AUTH_CACHE_SECONDS", "0.25")
    monkeypatch.setenv("RELATA_AUTH_CACHE_ENTRIES", "7")
    settings = Settings.from_env()
    assert (settings.auth_cache_seconds, settings.auth_cache_entries) == (0.25, 7)
    with pytest.raises(ValueError, match="RELATA_AUTH_CACHE_ENTRIES"):
        TokenCache(1, 0)


async def test_an_answer_lives_ttl_from_when_its_lookup_was_sent():
    clock = Clock()
    cache = TokenCache(1.0, clock=clock)
    lookups = Lookups(principal(), clock)
    lookups.takes = 0.4  # the database answers 0.4 s after the lookup was sent
    assert await cache.get(digest(1), lookups()) == principal()
    clock.now += 0.5  # 0.9 s after the lookup was sent
    assert await cache.get(digest(1), lookups()) == principal()
    assert lookups.calls == 1
    clock.now += 0.1  # 1.0 s: gone
    await cache.get(digest(1), lookups())
    assert lookups.calls == 2


async def test_an_answer_slower_than_the_ttl_is_not_remembered():
    clock = Clock()
    cache = TokenCache(0.5, clock=clock)
    lookups = Lookups(principal(), clock)
    lookups.takes = 0.5
    await cache.get(digest(1), lookups())
    await cache.get(digest(1), lookups())
    assert lookups.calls == 2 and len(cache) == 0


async def test_valid_tokens_are_bounded_least_recently_used_first_out():
    clock = Clock()
    cache = TokenCache(1.0, 3, clock=clock)
    lookups = Lookups(principal(), clock)
    for n in range(3):
        await cache.get(digest(n), lookups())
    await cache.get(digest(0), lookups())  # 0 is now the most recently used
    for n in range(3, 100):
        await cache.get(digest(n), lookups())
        assert len(cache.valid.entries) <= 3
    assert list(cache.valid.entries) == [digest(97), digest(98), digest(99)]
    await cache.get(digest(0), lookups())
    assert lookups.calls == 3 + 97 + 1  # each token once, and 0 again once it was evicted


async def test_made_up_tokens_are_refused_every_time_bounded_and_never_evict_valid_ones():
    clock = Clock()
    cache = TokenCache(1.0, 5, clock=clock)
    valid = Lookups(principal(), clock)
    for n in range(5):
        await cache.get(digest(n), valid())
    unknown = Lookups(Unauthenticated("the bearer token is unknown or revoked"), clock)
    for n in range(1000, 3000):
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            await cache.get(digest(n), unknown())
    assert unknown.calls == 2000
    assert len(cache.refused.entries) == 5 and len(cache.valid.entries) == 5
    for n in range(5):
        await cache.get(digest(n), valid())
    assert valid.calls == 5
    # A refusal is remembered as briefly as a principal (never as valid), and raised anew.
    seen = []
    for _ in range(3):
        with pytest.raises(Unauthenticated) as refused:
            await cache.get(digest(2999), unknown())
        seen.append(refused.value)
    assert unknown.calls == 2000 and len({id(e) for e in seen}) == 3
    clock.now += 1.0
    with pytest.raises(Unauthenticated):
        await cache.get(digest(2999), unknown())
    assert unknown.calls == 2001


@pytest.mark.parametrize(
    "failure", [ServiceUnavailable("down"), RuntimeError("bug")], ids=lambda e: type(e).__name__
)
async def test_failures_are_never_remembered(failure):
    cache = TokenCache(1.0, clock=Clock())
    lookups = Lookups(failure)
    for calls in (1, 2):
        with pytest.raises(type(failure)):
            await cache.get(digest(1), lookups())
        assert lookups.calls == calls
    assert len(cache) == 0 and not cache.flights


async def test_a_revocation_in_this_process_drops_every_answer_at_once():
    clock = Clock()
    cache = TokenCache(1.0, clock=clock)
    lookups = Lookups(principal(), clock)
    await cache.get(digest(1), lookups())
    note_revocation()
    await cache.get(digest(1), lookups())
    assert lookups.calls == 2


async def test_a_lookup_in_flight_across_a_revocation_is_neither_shared_nor_remembered():
    cache = TokenCache(1.0, clock=Clock())
    lookups = Lookups(principal())
    lookups.gate = asyncio.Event()
    first = asyncio.create_task(cache.get(digest(1), lookups()))
    await asyncio.sleep(0)
    note_revocation()  # the row may have been read before the revocation committed
    second = asyncio.create_task(cache.get(digest(1), lookups()))
    await asyncio.sleep(0)
    lookups.gate.set()
    await asyncio.gather(first, second)
    assert lookups.calls == 2  # the second did not join the first
    await cache.get(digest(1), lookups())
    assert lookups.calls == 2  # the second's answer, sent after the revocation, is remembered


async def test_a_lookup_in_flight_for_longer_than_the_ttl_is_not_joined():
    clock = Clock()
    cache = TokenCache(1.0, clock=clock)
    lookups = Lookups(principal())
    lookups.gate = asyncio.Event()
    first = asyncio.create_task(cache.get(digest(1), lookups()))
    await asyncio.sleep(0)
    clock.now += 1.0
    second = asyncio.create_task(cache.get(digest(1), lookups()))
    await asyncio.sleep(0)
    lookups.gate.set()
    await asyncio.gather(first, second)
    assert lookups.calls == 2


async def test_concurrent_lookups_of_one_token_are_one_and_survive_a_waiter_going_away():
    cache = TokenCache(1.0, clock=Clock())
    lookups = Lookups(principal())
    lookups.gate = asyncio.Event()
    waiters = [asyncio.create_task(cache.get(digest(1), lookups())) for _ in range(50)]
    await asyncio.sleep(0)
    waiters[0].cancel()  # the request that started the lookup goes away
    await asyncio.sleep(0)
    lookups.gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert results == [principal()] * 49 and lookups.calls == 1
    assert waiters[0].cancelled()
    await cache.get(digest(1), lookups())
    assert lookups.calls == 1 and not cache.flights


async def test_concurrent_waiters_share_a_failure_and_the_next_request_looks_again():
    cache = TokenCache(1.0, clock=Clock())
    lookups = Lookups(ServiceUnavailable("down"))
    lookups.gate = asyncio.Event()
    waiters = [asyncio.create_task(cache.get(digest(1), lookups())) for _ in range(10)]
    await asyncio.sleep(0)
    lookups.gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, ServiceUnavailable) for o in outcomes) and lookups.calls == 1
    lookups.answer = principal()
    assert await cache.get(digest(1), lookups()) == principal() and lookups.calls == 2
