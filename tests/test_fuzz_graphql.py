"""Schemathesis (GraphQL mode) against a live `relata serve` with a valid admin token: whatever
the generated query and arguments, never an HTTP 5xx and never INTERNAL_SERVER_ERROR.

Bounded here: RELATA_FUZZ_EXAMPLES (default 15) examples for each of the 20 root fields, ~300 in
all. For a long run: `RELATA_FUZZ_EXAMPLES=500 .venv/bin/pytest -q tests/test_fuzz_graphql.py`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.graphql.scalar_defaults import literal
from tests.test_failures import free_port

# Values of the JSON scalar (record properties), as GraphQL literals: nested objects and lists,
# unbounded integers, any text (NUL included), floats.
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,8}", fullmatch=True), inner,
                      max_size=4),
    max_leaves=12,
)  # fmt: skip
schemathesis.graphql.scalar("JSON", _json.map(literal))

SCHEMA = schemathesis.graphql.from_path(Path(__file__).parent.parent / "schema.graphql")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = int(os.environ.get("RELATA_FUZZ_EXAMPLES", "15"))


class Live:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token


@pytest.fixture(scope="module")
def live(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    env = {**os.environ, "DATABASE_URL": pg_dsn}
    location = f"fuzz-{uuid.uuid4().hex[:8]}"
    token = subprocess.run(
        [sys.executable, "-m", "app.cli", "token", "create", "--location", location,
         "--role", "admin"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    port = free_port()
    log = tmp_path_factory.mktemp("fuzz") / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level",
             "warning"],
            env={**env, "RELATA_RATE_LIMIT_PER_SECOND": "0"},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Live(url + "/graphql", token)
    finally:
        proc.terminate()
        proc.wait(20)
    # The server logs an unexpected error with its traceback: there must be none.
    assert "unexpected error" not in log.read_text(), log.read_text()[-5000:]


def check(response: Any, body_sent: Any) -> None:
    assert response.status_code < 500, (body_sent, response.status_code, response.text)
    payload = response.json()
    for error in payload.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL_SERVER_ERROR", (body_sent, error)
        assert code, (body_sent, error)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_server_error_from_any_generated_input(live: Live, operation: Any) -> None:
    headers = {"Authorization": f"Bearer {live.token}"}
    seen = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        nonlocal seen
        seen += 1
        response = case.call(base_url=live.url, headers=headers)
        check(response, case.body)

    fuzz()
    print(f"{operation.label}: {seen} generated cases, no server error")
    assert seen > 0
