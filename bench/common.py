"""What the bench scripts share: where the data lives, how to reach the database, the state file."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = os.environ.get("RELATA_BENCH_DATA") or str(ROOT / ".bench-data")
DEFAULT_RELATIONS = 1_000_000
LOCATION = "bench"

_t0 = time.monotonic()


def say(*parts: object) -> None:
    print(f"[{time.monotonic() - _t0:7.1f}s]", *parts, flush=True, file=sys.stderr)


def database_name(relations: int) -> str:
    """One database per size in the embedded cluster: sizes never share a table or an index."""
    return f"rb_{relations}"


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def server_dsn(data_dir: str) -> str:
    """DATABASE_URL when set (used as is), else the embedded server's maintenance DSN."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    sys.path.insert(0, str(ROOT))
    from db.embedded import start_embedded

    dsn = start_embedded(data_dir)
    sock = os.path.join(socket_dir(dsn) or "", ".s.PGSQL.5432")
    if len(sock) > 107:
        raise SystemExit(f"socket path {sock!r} is over 107 characters: use a shorter data dir")
    return dsn


def socket_dir(dsn: str) -> str | None:
    query = urlsplit(dsn).query
    for part in query.split("&"):
        if part.startswith("host="):
            return part[5:]
    return None


def bench_dsn(data_dir: str, relations: int) -> str:
    """The DSN of the database holding the data set of `relations` relations."""
    base = server_dsn(data_dir)
    if os.environ.get("DATABASE_URL"):
        return base
    return with_database(base, database_name(relations))


def state_path(data_dir: str, relations: int) -> Path:
    return Path(data_dir) / f"state-{relations}.json"


def load_state(data_dir: str, relations: int) -> dict[str, Any]:
    path = state_path(data_dir, relations)
    if not path.exists():
        raise SystemExit(
            f"no data set of {relations} relations under {data_dir}:"
            f" run `python -m bench.generate --relations {relations}` first"
        )
    return json.loads(path.read_text())  # type: ignore[no-any-return]
