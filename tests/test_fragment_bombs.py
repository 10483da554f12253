"""Fragment bombs: documents of a few hundred bytes whose fragments spread each other so that
expanding them without a memo is exponential (6^12 ≈ 2·10^9 expansions here). Work per request
must be linear in the document: each of these is answered by a real `relata serve` within
seconds, on both execution paths, while the server keeps answering others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.test_failures import Served, serve, stop_process

LEVELS, WIDTH = 12, 6
# Exponential expansion at 6^12 takes hours; linear work takes milliseconds. The bound is
# generous so that a loaded CI machine never trips it, and still 1000x below the bug.
BOUND_S = 10.0


def bomb(on: str, leaf: str, levels: int = LEVELS, width: int = WIDTH) -> str:
    """Fragments F1..F{levels} on `on`, each spreading the previous one `width` times."""
    parts = [f"fragment F0 on {on} {{ {leaf} }}"]
    for i in range(1, levels + 1):
        parts.append(f"fragment F{i} on {on} {{ " + " ".join([f"...F{i - 1}"] * width) + " }")
    return "\n".join(parts)


def nested_bomb(levels: int = 5, width: int = WIDTH) -> str:
    """Each level also descends a connection (edges { node { relations } }), so the spreads
    multiply under nested fields rather than side by side."""
    parts = ["fragment N0 on RelationConnection { totalCount edges { label } }"]
    for i in range(1, levels + 1):
        spreads = " ".join([f"...N{i - 1}"] * width)
        parts.append(
            f"fragment N{i} on RelationConnection {{ totalCount"
            f" edges {{ node {{ relations(first: 1) {{ {spreads} }} }} }} }}"
        )
    return "\n".join(parts)


@pytest.fixture(scope="module")
async def server(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    served = await serve(
        pg_dsn, Path(tmp_path_factory.mktemp("bombs")), RELATA_RATE_LIMIT_PER_SECOND="0"
    )
    try:
        yield served
    finally:
        stop_process(served)


async def _post(client: httpx.AsyncClient, served: Served, query: str, **headers: str) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        served.url + "/graphql",
        json={"query": query},
        headers={"authorization": f"Bearer {served.token}", **headers},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def linked(server: Served) -> dict[str, str]:
    """Two contacts linked to each other, so traversal resolvers run at every level."""
    async with httpx.AsyncClient(timeout=30) as client:
        ids = []
        for name in ("Ada", "Grace"):
            body = await _post(
                client,
                server,
                'mutation { createRecord(input: {objectKey: "contact",'
                f' properties: {{firstName: "{name}"}}}}) {{ id }} }}',
            )
            ids.append(body["data"]["createRecord"]["id"])
        body = await _post(
            client,
            server,
            'mutation { createAssociation(input: {key: "peer", firstObjectKey: "contact",'
            ' secondObjectKey: "contact", firstObjectLabel: "Peer"}) { id } }',
        )
        assoc = body["data"]["createAssociation"]["id"]
        body = await _post(
            client,
            server,
            f'mutation {{ createRelation(input: {{associationId: "{assoc}",'
            f' firstRecordId: "{ids[0]}", secondRecordId: "{ids[1]}"}}) {{ id }} }}',
        )
        assert "errors" not in body, body
        return {"first": ids[0], "second": ids[1]}


def _shapes(linked: dict[str, str]) -> dict[str, str]:
    rid = linked["first"]
    return {
        "records connection": bomb("RecordConnection", "totalCount")
        + '\n{ records(objectKey: "contact", first: 1) { ...F12 } }',
        "record relations": bomb("RelationConnection", "totalCount edges { label }")
        + f'\n{{ record(id: "{rid}") {{ relations(first: 1) {{ ...F12 }} }} }}',
        "record type, relations inside": bomb("Contact", "id relations(first: 1) { totalCount }")
        + '\n{ records(objectKey: "contact", first: 2) { edges { node { ...F12 } } } }',
        "interface fragment": bomb("Record", "displayName")
        + f'\n{{ node(id: "{rid}") {{ ...F12 }} }}',
        "nested connections": nested_bomb()
        + f'\n{{ record(id: "{rid}") {{ relations(first: 1) {{ ...N5 }} }} }}',
    }


@pytest.mark.parametrize("execution", ["shaped", "standard"])
async def test_fragment_bombs_are_linear(
    server: Served, linked: dict[str, str], execution: str
) -> None:
    headers = {"x-relata-execution": "standard"} if execution == "standard" else {}
    async with httpx.AsyncClient(timeout=120) as client:
        for name, query in _shapes(linked).items():
            assert len(query) < 2_000, name
            started = time.perf_counter()
            body = await _post(client, server, query, **headers)
            elapsed = time.perf_counter() - started
            assert elapsed < BOUND_S, f"{name}: {elapsed:.1f} s"
            assert "errors" not in body, (name, body)


async def test_server_stays_responsive_during_bombs(server: Served, linked: dict[str, str]) -> None:
    """Several bombs at once: the event loop keeps serving /healthz between them."""
    query = _shapes(linked)["record relations"]
    async with httpx.AsyncClient(timeout=120) as client:
        bombs = [asyncio.create_task(_post(client, server, query)) for _ in range(8)]
        worst = 0.0
        while not all(b.done() for b in bombs):
            started = time.perf_counter()
            assert (await client.get(server.url + "/healthz")).status_code == 200
            worst = max(worst, time.perf_counter() - started)
            await asyncio.sleep(0.01)
        for b in bombs:
            assert "errors" not in b.result()
        assert worst < BOUND_S / 2, f"/healthz waited {worst:.1f} s behind the bombs"
