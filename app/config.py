from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: str = "./.data"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    pool_min: int = 2
    pool_max: int = 10
    statement_timeout_ms: int = 15_000
    introspection: bool = True
    graphiql: bool = True
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Abuse limits (SECURITY.md lists each with its environment variable).
    max_depth: int = 20
    max_aliases: int = 50
    max_tokens: int = 5_000
    max_cost: int = 500_000
    # Objects and arrays nested in any JSON from outside (GraphQL bodies, variables, REST bodies).
    max_json_depth: int = 64
    # Seconds a token's lookup is remembered (app/services/token_cache.py): at most 1, the bound
    # on how long a revoked token may still be admitted; 0 turns the cache off.
    auth_cache_seconds: float = 1.0
    # Tokens it remembers as valid, and apart from them as refused (LRU).
    auth_cache_entries: int = 10_000
    # Per-token token bucket, per process; a rate of 0 turns it off.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 2_000
    # Seconds a request waits for a pooled connection before it fails cleanly.
    pool_timeout: float = 5.0
    # Resource bounds (SECURITY.md): what one request, token or location can make us hold.
    max_record_bytes: int = 256 * 1024
    max_response_bytes: int = 128 * 2**20
    max_query_bytes: int = 100_000
    document_cache_bytes: int = 32 * 2**20
    # Automatic persisted queries (app/graphql/persisted.py); 0 turns them off.
    apq_cache_bytes: int = 4 * 2**20
    connections_per_request: int = 2
    # Connections one location may hold at once; 0 means half of what the gate hands out.
    location_connections: int = 0
    # Webhooks (app/webhooks): the delivery worker inside `relata serve`, and its bounds.
    webhook_worker: bool = True
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    webhook_poll_interval: float = 0.5
    # How long a claimed delivery is a worker's before another may send it (a worker that died
    # mid-delivery); at least the timeout plus 2 s.
    webhook_lease: float = 60.0
    webhook_retry_base: float = 5.0
    webhook_retry_max: float = 6 * 3600.0
    webhook_max_attempts: int = 12
    webhook_concurrency: int = 32
    webhook_endpoint_concurrency: int = 4
    webhook_pool_size: int = 2
    # Days of events `relata events prune` keeps; None keeps them all.
    event_retention_days: float | None = None
    # Live updates (app/live): subscriptions over WebSocket and SSE, and their bounds.
    subscriptions_per_connection: int = 100
    subscriptions_per_location: int = 1_000
    subscriptions_per_process: int = 20_000
    # Events queued for one subscription; a consumer that falls this far behind is ended with
    # LIMIT_EXCEEDED and resumes with `after`.
    subscription_buffer: int = 1_000
    # How often a location with subscribers reads the log without a notification (one lost, or
    # raised on another Citus node), and how often a live connection's token is checked again.
    subscription_poll_interval: float = 1.0
    subscription_auth_interval: float = 5.0

    @classmethod
    def from_env(cls) -> Settings:
        origins = tuple(
            o.strip() for o in os.environ.get("RELATA_CORS_ORIGINS", "").split(",") if o.strip()
        )
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=os.environ.get("RELATA_DATA_DIR") or "./.data",
            host=os.environ.get("RELATA_HOST") or "127.0.0.1",
            port=_int("RELATA_PORT", 8000),
            max_body_bytes=_int("RELATA_MAX_BODY_BYTES", 1_000_000),
            pool_min=_int("RELATA_POOL_MIN", 2),
            pool_max=_int("RELATA_POOL_MAX", 10),
            statement_timeout_ms=_int("RELATA_STATEMENT_TIMEOUT_MS", 15_000),
            introspection=_bool("RELATA_INTROSPECTION", True),
            graphiql=_bool("RELATA_GRAPHIQL", True),
            cors_origins=origins,
            max_depth=_int("RELATA_MAX_DEPTH", 20),
            max_aliases=_int("RELATA_MAX_ALIASES", 50),
            max_tokens=_int("RELATA_MAX_TOKENS", 5_000),
            max_cost=_int("RELATA_MAX_COST", 500_000),
            max_json_depth=_int("RELATA_MAX_JSON_DEPTH", 64),
            auth_cache_seconds=_float("RELATA_AUTH_CACHE_SECONDS", 1.0),
            auth_cache_entries=_int("RELATA_AUTH_CACHE_ENTRIES", 10_000),
            rate_limit_per_second=_float("RELATA_RATE_LIMIT_PER_SECOND", 200.0),
            rate_limit_burst=_int("RELATA_RATE_LIMIT_BURST", 2_000),
            pool_timeout=_float("RELATA_POOL_TIMEOUT", 5.0),
            max_record_bytes=_int("RELATA_MAX_RECORD_BYTES", 256 * 1024),
            max_response_bytes=_int("RELATA_MAX_RESPONSE_BYTES", 128 * 2**20),
            max_query_bytes=_int("RELATA_MAX_QUERY_BYTES", 100_000),
            document_cache_bytes=_int("RELATA_DOCUMENT_CACHE_BYTES", 32 * 2**20),
            apq_cache_bytes=_int("RELATA_APQ_CACHE_BYTES", 4 * 2**20),
            connections_per_request=_int("RELATA_CONNECTIONS_PER_REQUEST", 2),
            location_connections=_int("RELATA_LOCATION_CONNECTIONS", 0),
            webhook_worker=_bool("RELATA_WEBHOOK_WORKER", True),
            webhook_allow_private=_bool("RELATA_WEBHOOK_ALLOW_PRIVATE", False),
            webhook_timeout=_float("RELATA_WEBHOOK_TIMEOUT", 10.0),
            webhook_poll_interval=_float("RELATA_WEBHOOK_POLL_INTERVAL", 0.5),
            webhook_lease=_float("RELATA_WEBHOOK_LEASE", 60.0),
            webhook_retry_base=_float("RELATA_WEBHOOK_RETRY_BASE", 5.0),
            webhook_retry_max=_float("RELATA_WEBHOOK_RETRY_MAX", 6 * 3600.0),
            webhook_max_attempts=_int("RELATA_WEBHOOK_MAX_ATTEMPTS", 12),
            webhook_concurrency=_int("RELATA_WEBHOOK_CONCURRENCY", 32),
            webhook_endpoint_concurrency=_int("RELATA_WEBHOOK_ENDPOINT_CONCURRENCY", 4),
            webhook_pool_size=_int("RELATA_WEBHOOK_POOL_SIZE", 2),
            subscriptions_per_connection=_int("RELATA_SUBSCRIPTIONS_PER_CONNECTION", 100),
            subscriptions_per_location=_int("RELATA_SUBSCRIPTIONS_PER_LOCATION", 1_000),
            subscriptions_per_process=_int("RELATA_SUBSCRIPTIONS_PER_PROCESS", 20_000),
            subscription_buffer=_int("RELATA_SUBSCRIPTION_BUFFER", 1_000),
            subscription_poll_interval=_float("RELATA_SUBSCRIPTION_POLL_INTERVAL", 1.0),
            subscription_auth_interval=_float("RELATA_SUBSCRIPTION_AUTH_INTERVAL", 5.0),
            event_retention_days=_float("RELATA_EVENT_RETENTION_DAYS", -1.0)
            if os.environ.get("RELATA_EVENT_RETENTION_DAYS")
            else None,
        )

    @property
    def watchdog_timeout(self) -> float:
        """How long an unanswered ping means a stalled database: half the pool timeout (at most
        2 s), so that with one ping interval more a frozen database is answered within it."""
        return max(0.2, min(2.0, self.pool_timeout / 2))

    @property
    def watchdog_interval(self) -> float:
        return self.watchdog_timeout / 2

    def resolve_dsn(self) -> str:
        """DATABASE_URL when set; otherwise start the embedded server under the data dir."""
        if self.database_url:
            return self.database_url
        from db.embedded import start_embedded

        return start_embedded(self.data_dir)
