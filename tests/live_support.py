"""What the live-update tests share: a real `relata serve`, a location with tokens, writes over
HTTP, and the clients (gql over graphql-transport-ws, raw websockets, httpx over SSE)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from app.services.tokens import create_token
from db import Database
from tests.test_failures import Served

EVENT_FIELDS = (
    "id position type recordId relationId associationKey firstRecordId secondRecordId"
    " firstObjectLabel secondObjectLabel data"
)
EVENTS = (
    "subscription($after: String, $types: [EventType!]) {"
    f" events(after: $after, types: $types) {{ {EVENT_FIELDS} }} }}"
)
RECORD_CHANGED = (
    "subscription($id: ID!, $after: String) {"
    f" recordChanged(id: $id, after: $after) {{ {EVENT_FIELDS} }} }}"
)
RELATION_EVENTS = (
    "subscription($a: String, $o: String, $after: String) {"
    f" relationEvents(associationKey: $a, objectKey: $o, after: $after) {{ {EVENT_FIELDS} }} }}"
)


def ws_url(served: Served) -> str:
    return served.url.replace("http://", "ws://") + "/graphql"


@dataclass
class Place:
    """A fresh location on a served process: an admin token and a writer over HTTP."""

    served: Served
    location: str
    token: str

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                self.served.url + "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"authorization": f"Bearer {self.token}"},
            )
        body = r.json()
        assert not body.get("errors"), body
        return body["data"]

    async def contact(self, name: str) -> str:
        data = await self.gql(
            'mutation($p: JSON!) { createRecord(input: {objectKey: "contact", properties: $p})'
            " { id } }",
            {"p": {"firstName": name}},
        )
        return str(data["createRecord"]["id"])

    async def update(self, record_id: str, **properties: Any) -> None:
        await self.gql(
            "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
            {"i": {"id": record_id, "properties": properties}},
        )

    async def token_for(
        self, db: Database, role: str = "admin", scopes: list[str] | None = None
    ) -> str:
        return await create_token(db, self.location, role, scopes)


async def place(db: Database, served: Served, prefix: str = "live") -> Place:
    location = f"{prefix}-{uuid.uuid4().hex[:10]}"
    return Place(served, location, await create_token(db, location, "admin"))


def gql_client(served: Served, token: str, **payload: Any) -> Client:
    transport = WebsocketsTransport(
        url=ws_url(served),
        init_payload=payload or {"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        keep_alive_timeout=None,
    )
    return Client(transport=transport, execute_timeout=30)


async def take(source: AsyncIterator[Any], n: int, seconds: float = 20) -> list[Any]:
    """The next `n` results of a subscription, waiting at most `seconds` in all."""
    out: list[Any] = []

    async def collect() -> None:
        async for item in source:
            out.append(item)
            if len(out) == n:
                return

    await asyncio.wait_for(collect(), seconds)
    return out


async def quiet(source: AsyncIterator[Any], seconds: float) -> list[Any]:
    """Whatever arrives within `seconds` (expected: nothing)."""
    out: list[Any] = []

    async def collect() -> None:
        async for item in source:
            out.append(item)

    try:
        await asyncio.wait_for(collect(), seconds)
    except TimeoutError:
        pass
    return out


def request(query: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(query, variable_values=variables)


class RawSocket:
    """A bare graphql-transport-ws connection, for what a client library hides (close codes,
    error payloads, not reading)."""

    def __init__(self, served: Served, **connect: Any) -> None:
        self.url, self.connect = ws_url(served), connect
        self.ws: Any = None

    async def __aenter__(self) -> RawSocket:
        self.ws = await websockets.connect(
            self.url,
            subprotocols=["graphql-transport-ws"],
            **self.connect,  # type: ignore[list-item]
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, seconds: float = 20) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), seconds))  # type: ignore[no-any-return]

    async def init(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload})
        return await self.recv()

    async def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        await self.send(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )


async def sse(
    served: Any, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[tuple[str, Any]]:
    """GraphQL over SSE (distinct connections): (event, data) pairs as they arrive."""
    headers = {"accept": "text/event-stream"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client:
        async with client.stream(
            "POST",
            served.url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        ) as r:
            if r.status_code != 200:
                yield "status", (r.status_code, json.loads(await r.aread()))
                return
            assert r.headers["content-type"].startswith("text/event-stream"), r.headers
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data:") and event is not None:
                    data = line.removeprefix("data:").strip()
                    yield event, json.loads(data) if data else None
                    if event == "complete":
                        return
                    event = None


@dataclass
class InProcess:
    """`create_app` served by uvicorn inside the test's event loop, sharing the test pool (its
    lifespan starts the live hub): for tests that need a real socket but no subprocess."""

    url: str
    server: Any
    task: asyncio.Task[None]


async def serve_in_process(db: Database, dsn: str, **settings: Any) -> InProcess:
    import uvicorn

    from app.config import Settings
    from app.web import create_app
    from tests.test_failures import free_port

    port = free_port()
    app = create_app(Settings(webhook_worker=False, **settings), database=db, dsn=dsn)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.025)
    assert server.started, "uvicorn did not start"
    return InProcess(f"http://127.0.0.1:{port}", server, task)


async def stop_in_process(running: InProcess) -> None:
    running.server.should_exit = True
    await asyncio.wait_for(running.task, 10)


async def first_sse_result(
    url: str, token: str, query: str, variables: dict[str, Any], seconds: float = 10
) -> dict[str, Any]:
    """The first result of a subscription over SSE (a `next` message's payload)."""

    async def first() -> dict[str, Any]:
        async for event, data in sse(SimpleNamespace(url=url), token, query, variables):
            if event == "status":
                return data[1]  # type: ignore[no-any-return]
            if event == "next":
                return data  # type: ignore[no-any-return]
        raise AssertionError("the subscription completed without a result")

    return await asyncio.wait_for(first(), seconds)
