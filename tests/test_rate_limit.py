"""Per-token rate limit: a token bucket per API token (per process), 429 with Retry-After."""

from __future__ import annotations

import pytest

from app.ratelimit import TokenBucketLimiter, retry_after_header
from tests.hardening_support import client_with
from tests.helpers import Api


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_admits_a_burst_then_the_rate():
    clock = FakeClock()
    bucket = TokenBucketLimiter(rate=2.0, burst=3, clock=clock)
    assert [bucket.acquire("t") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire("t") == pytest.approx(0.5)  # 1 token at 2/s
    assert bucket.acquire("other") == 0.0  # keyed: another token has its own bucket
    clock.now += 0.25
    assert bucket.acquire("t") == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.acquire("t") == 0.0
    clock.now += 60  # refills to the burst, never beyond it
    assert [bucket.acquire("t") for _ in range(4)][-1] > 0


def test_bucket_forgets_idle_keys_when_full():
    clock = FakeClock()
    bucket = TokenBucketLimiter(rate=1.0, burst=1, clock=clock, max_keys=3)
    for key in "abc":
        bucket.acquire(key)
    clock.now += 5  # every bucket refilled: forgetting them changes nothing
    bucket.acquire("d")
    assert set(bucket._buckets) == {"d"}


def test_retry_after_is_whole_seconds_rounded_up():
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2, 7.9)] == ["1", "1", "2", "8"]


def test_bucket_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate=0, burst=5)


async def test_429_with_retry_after_per_token(db, tenant):
    async with client_with(db, rate_limit_per_second=0.2, rate_limit_burst=2) as client:
        user = Api(client, tenant.user_token)
        admin = Api(client, tenant.admin_token)
        for _ in range(2):
            assert (await user.gql("{ viewer { role } }")).status == 200
        r = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"authorization": f"Bearer {tenant.user_token}"},
        )
        assert r.status_code == 429
        assert r.headers["retry-after"] == "5"  # one token at 0.2/s
        body = r.json()
        assert "data" not in body  # a request error: nothing ran
        error = body["errors"][0]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert error["extensions"]["retryAfter"] == 5
        assert "0.2 requests per second" in error["message"]
        assert "bursts of 2" in error["message"]
        # Keyed on the token: the admin token of the same location is unaffected.
        assert (await admin.gql("{ viewer { role } }")).status == 200
        # Unauthenticated calls are refused by auth (401), never counted against a token.
        anon = await client.post("/graphql", json={"query": "{ viewer { role } }"})
        assert anon.status_code == 401


async def test_rate_limit_zero_turns_it_off(db, tenant):
    async with client_with(db, rate_limit_per_second=0, rate_limit_burst=1) as client:
        api = Api(client, tenant.user_token)
        for _ in range(5):
            assert (await api.gql("{ __typename }")).status == 200


async def test_default_limit_is_generous(app):
    limiter = app.state.rate_limiter
    assert limiter is not None
    assert (limiter.rate, limiter.burst) == (200.0, 2_000)


async def test_rest_answers_carry_highlevel_rate_limit_headers(db, tenant):
    """x-ratelimit-limit / -remaining / -interval-milliseconds, as HighLevel sends them, on
    every REST answer to a known token, the 429 included."""
    async with client_with(db, rate_limit_per_second=0.2, rate_limit_burst=2) as client:
        headers = {"authorization": f"Bearer {tenant.user_token}", "version": "2021-07-28"}
        r = await client.get("/objects/", headers=headers)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "2"
        assert r.headers["x-ratelimit-remaining"] == "1"
        assert r.headers["x-ratelimit-interval-milliseconds"] == "10000"
        r = await client.get("/objects/nosuch", headers=headers)
        assert r.status_code == 404 and r.headers["x-ratelimit-remaining"] == "0"
        r = await client.get("/objects/", headers=headers)
        assert r.status_code == 429 and r.headers["x-ratelimit-remaining"] == "0"
        assert r.headers["x-ratelimit-limit"] == "2"
