"""Per-token rate limit: a token bucket per API token, held in this process's memory.

Each process keeps its own buckets, so N processes behind a load balancer admit up to N times
the configured rate; put a shared limiter (the load balancer, Redis) in front for a global one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBucketLimiter:
    """`rate` requests per second on average, bursts of up to `burst`, per key."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def remaining(self, key: str) -> int:
        """Whole requests `key` may make now without waiting."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.burst
        now = self.clock()
        return int(min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate))

    def headers(self, key: str) -> dict[str, str]:
        """HighLevel's rate-limit headers: the bucket size, what is left of it, and how long a
        full bucket takes to refill (HighLevel: 100 requests per 10,000 ms)."""
        return {
            "x-ratelimit-limit": str(self.burst),
            "x-ratelimit-remaining": str(self.remaining(key)),
            "x-ratelimit-interval-milliseconds": str(math.ceil(self.burst / self.rate * 1000)),
        }

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket: dropping it changes nothing.
        for key, b in list(self._buckets.items()):
            if b.tokens + (now - b.stamp) * self.rate >= self.burst:
                del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()  # pathological churn: forgetting only ever admits more


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is admitted."""
    return str(max(1, math.ceil(seconds)))


def rate_limited(limiter: TokenBucketLimiter, wait: float) -> RateLimited:
    """The refusal of a request over its token's rate, the same on every surface (HTTP 429 with
    Retry-After; an error with `limitName: rateLimit` over a WebSocket)."""
    header = retry_after_header(wait)
    return RateLimited(
        f"rate limit exceeded: this token may make {limiter.rate:g} requests per second with"
        f" bursts of {limiter.burst} (per server process); retry after {header} s",
        int(header),
    )
