"""Every SQL statement filters on location_id (the Citus distribution column).

Two nets: every statement the service actually sent while every query and mutation ran (success
and refusal paths, captured with an asyncpg query logger), and every SQL-sending function in
db/*.py read statically, so a statement no test reaches is still looked at. Exceptions are
listed, each with the reason it needs no location filter."""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.services.tokens import authenticate, create_token, revoke_token
from app.web import create_app
from db import Database
from db.database import _init_connection
from tests.helpers import Api
from tests.wall_support import TENANT_TABLES, Q, attempts, populate, rel

_KEYWORDS = {
    "where", "on", "set", "join", "left", "inner", "order", "group", "limit", "using",
    "values", "returning", "select", "union", "for", "and", "or", "as", "offset", "cross",
}  # fmt: skip

# Statements that rightly carry no location_id filter.
EXCEPTIONS: dict[str, str] = {
    # Transaction control sent by asyncpg's Transaction.
    r"^\s*(begin|commit|rollback|savepoint|release)\b": "transaction control",
    # asyncpg's own catalog introspection for type codecs, once per connection.
    r"\bpg_catalog\.": "driver type introspection (system catalogs only)",
    r"^select \$1::uuid\[\], \$2::text\[\]$": "connection warm-up for array codecs, no table",
    r"^select 1$": "readiness probe, no table",
    r"^select pg_notify\(\$1, \$2\)$": "live subscribers' wake-up after a write (no table)",
    r"^select pg_advisory_unlock_all\(\); close all; unlisten \*; reset all;$": (
        "asyncpg's reset of session state when a connection returns to the pool"
    ),
}
# The locations table is the tenant list itself: its primary key *is* the location id.
LOCATION_KEYED = (
    r"^insert into locations \(id, name\) values \(\$1, \$2\)",
    r"^select name from locations where id = \$1$",
    r"^select 1 from locations where id = \$1 for no key update$",
)


def exception_reason(sql: str) -> str | None:
    flat = " ".join(sql.split()).lower()
    for pattern, reason in EXCEPTIONS.items():
        if re.search(pattern, flat):
            return reason
    for pattern in LOCATION_KEYED:
        if re.search(pattern, flat):
            return "locations table, keyed by the location id"
    return None


def unfiltered_tables(sql: str) -> list[str]:
    """Tenant tables the statement reads or writes without pinning location_id."""
    flat = " ".join(sql.split()).lower()
    missing = []
    pattern = (
        r"\b(from|join|update|into)\s+(" + "|".join(TENANT_TABLES) + r")\b(?:\s+(?:as\s+)?(\w+))?"
    )
    for m in re.finditer(pattern, flat):
        verb, table, alias = m.group(1), m.group(2), m.group(3)
        if alias in _KEYWORDS:
            alias = None
        if verb == "into":
            ok = re.match(r"\s*(?:as\s+\w+\s*)?\(\s*location_id\b", flat[m.end(2) :]) is not None
        else:
            prefix = rf"\b{alias}\." if alias else r"(?<![.\w])"
            # Pinned to a parameter, not only correlated with another table's location_id: Citus
            # routes a statement to one shard when every tenant table names the location itself.
            ok = re.search(prefix + r"location_id\s*=\s*\$\d", flat) is not None
            if verb == "update":
                ok = ok and re.search(r"\bwhere\b[^;]*\blocation_id\s*=\s*\$\d", flat) is not None
        if not ok:
            missing.append(f"{verb} {table}")
    return missing


def check(sql: str) -> str | None:
    """None when the statement is fine; otherwise why not."""
    if exception_reason(sql):
        return None
    missing = unfiltered_tables(sql)
    if missing:
        return f"no location_id filter for {', '.join(missing)}"
    if not re.search(r"\b(" + "|".join(TENANT_TABLES) + r")\b", sql.lower()):
        return "touches no tenant table and is not a listed exception"
    return None


@pytest.mark.parametrize(
    ("sql", "ok"),
    [
        ("select id from records where location_id = $1 and id = $2", True),
        (
            "select id from records r join relations x on x.location_id = $1"
            " where r.location_id = $1",
            True,
        ),
        ("insert into records (location_id, object_key) values ($1, $2)", True),
        ("update records set x = 1 where location_id = $1 and id = $2", True),
        ("select id from records where id = $1", False),
        ("select id from records r where r.id = $1 and x.location_id = $1", False),
        ("select * from records r join relations x on x.id = r.id where r.location_id = $1", False),
        ("insert into relations (association_id) values ($1)", False),
        ("delete from relations where id = $1", False),
        ("update records set location_id = $1 where id = $2", False),
        ("select count(*) from locations", False),
        (
            "select count(*) from relations r where r.location_id = $1 and not exists"
            " (select 1 from associations a where a.location_id = r.location_id)",
            False,
        ),
        ("select * from schema_migrations", False),
    ],
)
def test_checker_catches_missing_filters(sql, ok):
    assert (check(sql) is None) is ok


@pytest.fixture
async def captured(db: Database, pg_dsn: str) -> AsyncIterator[tuple[Database, list[str]]]:
    statements: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        conn.add_query_logger(lambda record: statements.append(record.query))

    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=4, init=init)
    database = Database(pool)
    try:
        yield database, statements
    finally:
        await database.close()


async def exercise_everything(db: Database) -> None:
    """Every query and mutation, on both their success and their refusal paths."""
    app = create_app(Settings(), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://relata.test"
    ) as client:
        apis = {}
        for side in ("a", "b"):
            location = f"sql-{side}-{uuid.uuid4().hex[:8]}"
            apis[side] = Api(client, await create_token(db, location, "admin"), location)
        pa = await populate(apis["a"], "sa")
        pb = await populate(apis["b"], "sb")
        for _, query, variables in await attempts(pa, pb):
            await apis["b"].gql(query, variables)
        api, r = apis["a"], pa.records
        assoc = pa.associations
        for query, variables in [
            (Q["viewer"], {}),
            (Q["objectSchema"], {"k": pa.object_key}),
            (Q["record"], {"id": r["c1"]}),
            (Q["recordRelations"], {"id": r["c1"], "a": None}),
            (Q["recordRelations"], {"id": r["c1"], "a": assoc["peer"]}),
            (Q["records"], {"k": "contact", "q": "ann"}),
            (Q["recordsRelatedTo"], {"k": "contact", "r": r["c1"], "a": assoc["peer"]}),
            (Q["associations"], {"k": "contact"}),
            (Q["association"], {"id": assoc["peer"]}),
            (Q["updateRecord"], {"i": {"id": r["c2"], "properties": {"lastName": "B"}}}),
            (Q["updateAssociation"], {"i": {"id": assoc["peer"], "firstObjectLabel": "Pal"}}),
            (Q["createRelations"], {"i": [rel(assoc["peer"], r["c2"], r["c1"])]}),
            (Q["deleteAssociation"], {"id": assoc["peer"], "c": False}),
            (Q["deleteRelation"], {"id": pa.relations["owns"]}),
            (Q["deleteRelations"], {"ids": [pa.relations["works"]]}),
            (Q["deleteAssociation"], {"id": assoc["peer"], "c": True}),
            (Q["deleteAssociation"], {"id": assoc["owner"], "c": False}),
            (Q["deleteRecord"], {"id": r["pet"]}),
        ] + [(Q["node"], {"id": i}) for i in pa.all_ids]:
            await api.gql(query, variables)
        assert (await authenticate(db, api.token)).location_id == api.location  # type: ignore[arg-type]
        assert await revoke_token(db, api.token)  # type: ignore[arg-type]


async def test_every_statement_sent_filters_on_location(captured):
    db, statements = captured
    await exercise_everything(db)
    distinct = sorted(set(statements))
    assert len(distinct) > 40, distinct  # the run really went through the service
    problems = {sql: why for sql in distinct if (why := check(sql))}
    assert not problems, problems
    # Advisory locks are node-local on Citus: the API takes row locks only.
    assert not [sql for sql in distinct if "pg_advisory" in sql and "unlock_all" not in sql]


# Functions in db/ whose statements need no location filter, and why.
STATIC_EXCEPTIONS = {
    ("database.py", "_init_connection"): "codec set-up and a table-less warm-up",
    ("database.py", "ping"): "health check: select 1, no table",
    ("database.py", "check"): "health check: select 1, no table",
    ("migrate.py", "_apply"): "schema_migrations and DDL are global, not tenant data",
    ("migrate.py", "citus_role"): "catalog: is Citus installed, is this the coordinator",
    ("migrate.py", "_check_worker_schema"): "schema_migrations: global bookkeeping",
    ("locations.py", "any_location"): "CLI first start: is the database empty? (no API path)",
    ("relations.py", "related_pages"): (
        "sends the text `_related_sql` builds (once per argument shape), which is checked here"
    ),
    ("events.py", "notify"): "the live subscribers' wake-up, pg_notify (no table)",
    ("events.py", "prune_all"): "`relata events prune` over every location (no API path)",
    ("webhooks.py", "webhook_locations"): (
        "the webhook worker's directory of locations with webhooks (a reference table on Citus;"
        " no API path)"
    ),
}


def sql_functions() -> list[tuple[str, str, list[str]]]:
    """(file, function, string literals) for every db/ function that sends a statement."""
    found = []
    for path in sorted(Path("db").glob("*.py")):
        tree = ast.parse(path.read_text())
        # Module-level SQL strings, plain or f-strings (their literal parts).
        constants = {
            target.id: " ".join(
                n.value
                for n in ast.walk(stmt.value)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            )
            for stmt in tree.body
            if isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Constant | ast.JoinedStr)
            and (not isinstance(stmt.value, ast.Constant) or isinstance(stmt.value.value, str))
            for target in stmt.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            calls = {
                n.func.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            }
            if not calls & {"fetch", "fetchrow", "fetchval", "execute", "executemany"}:
                continue
            strings = [
                n.value for n in ast.walk(node)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]  # fmt: skip
            strings += [
                constants[n.id] for n in ast.walk(node)
                if isinstance(n, ast.Name) and n.id in constants
            ]  # fmt: skip
            found.append((path.name, node.name, strings))
    return found


def test_every_db_function_names_location_id():
    functions = sql_functions()
    assert len(functions) > 20
    missing: list[Any] = []
    for file, name, strings in functions:
        if (file, name) in STATIC_EXCEPTIONS:
            continue
        text = " ".join(strings).lower()
        if "location_id" not in text and not (file == "locations.py" and "where id = $1" in text):
            missing.append(f"{file}:{name}")
    assert not missing, missing
    stale = set(STATIC_EXCEPTIONS) - {(f, n) for f, n, _ in functions}
    assert not stale, f"exceptions for functions that no longer send SQL: {stale}"
