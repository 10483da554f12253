"""The CLI as an operator uses it: real processes, real output."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def relata(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_token_create_revoke_flow(pg_dsn):
    env = {"DATABASE_URL": pg_dsn}
    created = relata(
        "token",
        "create",
        "--location",
        "cli-loc",
        "--role",
        "user",
        "--scope",
        "objects/record.readonly",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rlt.")
    assert token not in created.stderr
    assert relata("token", "revoke", token, env=env).returncode == 0
    again = relata("token", "revoke", token, env=env)
    assert again.returncode == 1


def test_token_create_rejects_bad_role_and_scope(pg_dsn):
    env = {"DATABASE_URL": pg_dsn}
    bad_role = relata("token", "create", "--location", "x", "--role", "root", env=env)
    assert bad_role.returncode != 0 and "invalid choice" in bad_role.stderr
    bad_scope = relata(
        "token", "create", "--location", "x", "--role", "user", "--scope", "nope", env=env
    )
    assert bad_scope.returncode == 2 and "unknown scope" in bad_scope.stderr
    assert "Traceback" not in bad_scope.stderr


def test_help_lists_every_command():
    out = relata("--help", env={}).stdout
    for command in ("serve", "migrate", "token", "export-schema"):
        assert command in out


def test_first_start_prints_a_working_token_and_serves_graphql():
    """The README's promise: an empty data dir, one command, a token, GraphQL answering."""
    data_dir = tempfile.mkdtemp(prefix="rs-", dir="/tmp")
    port = free_port()
    env = {**os.environ, "RELATA_DATA_DIR": data_dir, "RELATA_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines: list[str] = []
    token = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("rlt."):
                token = line.strip()
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        assert token, "".join(lines)
        assert any("curl" in line for line in lines)
        link = f"GraphiQL: http://127.0.0.1:{port}/graphql#token={token}"
        assert link in [line.strip() for line in lines], "".join(lines)
        url = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(url + "/readyz").json()["status"] == "ready"
        r = httpx.post(
            url + "/graphql",
            json={
                "query": "{ viewer { location { locationId } role } objectSchemas { key }"
                ' records(objectKey: "contact") { totalCount } }'
            },
            headers={"authorization": f"Bearer {token}"},
        )
        data = r.json()["data"]
        assert data["viewer"] == {"location": {"locationId": "default"}, "role": "ADMIN"}
        assert "custom_objects.property" in {o["key"] for o in data["objectSchemas"]}
        assert data["records"]["totalCount"] >= 6
        page = httpx.get(url + "/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    # The data dir is reused: a second start finds the database and the saved token.
    assert (Path(data_dir) / "admin-token").read_text().strip() == token
    assert proc.returncode == 0
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists(), "embedded server left running"
    # A later start prints the GraphiQL link again, with the saved token.
    again = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    later: list[str] = []
    try:
        assert again.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = again.stdout.readline()
            if not line:
                break
            later.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
    finally:
        again.send_signal(signal.SIGTERM)
        try:
            again.wait(timeout=30)
        except subprocess.TimeoutExpired:
            again.kill()
    assert link in [line.strip() for line in later], "".join(later)
    assert not (Path(data_dir) / "pg" / "postmaster.pid").exists(), "embedded server left running"
    shutil.rmtree(data_dir, ignore_errors=True)
