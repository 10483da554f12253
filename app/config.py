from __future__ import annotations

import os
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


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
        )

    def resolve_dsn(self) -> str:
        """DATABASE_URL when set; otherwise start the embedded server under the data dir."""
        if self.database_url:
            return self.database_url
        from db.embedded import start_embedded

        return start_embedded(self.data_dir)
