"""Load driver: runs Relata's canonical operations (and PostGraphile's equivalents, and the
hand-written SQL floor) against a generated data set and prints one table.

    .venv/bin/python -m bench.run                         # the default data set (10^6 relations)
    .venv/bin/python -m bench.run --relations 20000 --duration 5
    .venv/bin/python -m bench.run --ops Q1,M2 --no-peer --no-floor
    .venv/bin/python -m bench.run --rev HEAD   # serve a committed revision, not the work tree
                                               # (git archive into the data dir)
    .venv/bin/python -m bench.run --url http://host:8000/graphql --token TOKEN   # a running server

It starts `relata serve` itself (DATABASE_URL = the bench database) unless --url is given, and
PostGraphile 5 from bench/peer (installed there by bench/peer/install.sh) unless --no-peer.
Per measurement: requests/s, p50/p95/p99 latency, errors, SQL statements per request (the
server's x-relata-sql-statements header) and CPU time per request of the server process, of
PostgreSQL (postmaster and its children) and of this driver, read from /proc before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.common import (
    BENCH,
    DEFAULT_DATA_DIR,
    DEFAULT_RELATIONS,
    ROOT,
    bench_dsn,
    load_state,
    say,
    socket_dir,
)

QUERIES = BENCH / "queries"
PEER = BENCH / "peer"
TICK = os.sysconf("SC_CLK_TCK")


def query(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text()


def as_uuid(record_id: str) -> str:
    return str(uuid.UUID(hex=record_id.split("_", 1)[1]))


# --------------------------------------------------------------------------------- CPU probes


def proc_cpu(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of one process, in seconds (0 when it is gone); with `reaped_children`,
    plus the time of its children that have exited (cutime + cstime)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
                out.append(int(entry))
    return out


class CpuProbe:
    """CPU seconds spent by a set of processes (a process and, optionally, its children)."""

    def __init__(self, pid: int | None, with_children: bool = False) -> None:
        self.pid, self.with_children = pid, with_children

    def read(self) -> float:
        if self.pid is None:
            return float("nan")
        if not self.with_children:
            return proc_cpu(self.pid)
        # live children plus those that exited (backends, autovacuum workers) since the start
        return proc_cpu(self.pid, reaped_children=True) + sum(
            proc_cpu(p) for p in children_of(self.pid)
        )


def postmaster_pid(dsn: str) -> int | None:
    sock = socket_dir(dsn)
    if not sock:
        return None
    try:
        return int((Path(sock) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ------------------------------------------------------------------------------- measurement


@dataclass
class Result:
    name: str
    target: str
    concurrency: int
    duration: float = 0.0
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    mean: float = 0.0
    statements: float | None = None
    server_cpu_ms: float | None = None
    pg_cpu_ms: float | None = None
    driver_cpu_ms: float | None = None
    first_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, round(q * (len(sorted_ms) - 1)))]


def merged(parts: list[Result], latencies: list[float]) -> Result:
    """One measurement from its slices: counts summed, percentiles over every latency, CPU and
    statements per request weighted by each slice's requests."""
    first = parts[0]
    requests = sum(p.requests for p in parts)
    duration = sum(p.duration for p in parts)
    latencies.sort()

    def per_request(attr: str) -> float | None:
        values = [(getattr(p, attr), p.requests) for p in parts]
        if any(v is None for v, _ in values) or not requests:
            return None
        return float(sum(v * n for v, n in values) / requests)

    r = Result(
        name=first.name,
        target=first.target,
        concurrency=first.concurrency,
        duration=duration,
        requests=requests,
        errors=sum(p.errors for p in parts),
        rps=requests / duration if duration else 0.0,
        p50=pct(latencies, 0.50),
        p95=pct(latencies, 0.95),
        p99=pct(latencies, 0.99),
        mean=statistics.fmean(latencies) if latencies else float("nan"),
        statements=per_request("statements"),
        server_cpu_ms=per_request("server_cpu_ms"),
        pg_cpu_ms=per_request("pg_cpu_ms"),
        driver_cpu_ms=per_request("driver_cpu_ms"),
        first_error=next((p.first_error for p in parts if p.first_error), None),
    )
    r.extra["rounds"] = [round(p.rps, 1) for p in parts]
    return r


async def measure(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    make_body: Callable[[int], bytes],
    *,
    name: str,
    target: str,
    concurrency: int,
    duration: float,
    warmup: float,
    server: CpuProbe,
    pg: CpuProbe,
    probes: dict[str, Callable[[], float]] | None = None,
    keep: list[float] | None = None,
) -> Result:
    """`probes`: more counters read before and after the timed part; their differences go to
    the result's `extra`. `keep` receives the latencies (to merge slices of one measurement)."""
    latencies: list[float] = []
    statements: list[int] = []
    errors = 0
    first_error: str | None = None
    counter = 0
    recording = False
    stop_at = 0.0

    async def worker() -> None:
        nonlocal counter, errors, first_error
        while time.monotonic() < stop_at:
            counter += 1
            body = make_body(counter)
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    status = resp.status
                    n = resp.headers.get("x-relata-sql-statements")
            except aiohttp.ClientError as exc:
                raw, status, n = str(exc).encode(), 0, None
            ms = (time.perf_counter() - t0) * 1000
            if not recording:
                continue
            latencies.append(ms)
            if n is not None:
                statements.append(int(n))
            if status != 200 or b'"errors"' in raw[:64] or b'"errors":' in raw[-4096:]:
                errors += 1
                if first_error is None:
                    first_error = f"HTTP {status}: {raw[:300].decode(errors='replace')}"

    if warmup > 0:
        stop_at = time.monotonic() + warmup
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    recording = True
    s0, p0, d0 = server.read(), pg.read(), time.process_time()
    x0 = {k: f() for k, f in (probes or {}).items()}
    t0 = time.monotonic()
    stop_at = t0 + duration
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - t0
    s1, p1, d1 = server.read(), pg.read(), time.process_time()
    x1 = {k: f() for k, f in (probes or {}).items()}
    latencies.sort()
    if keep is not None:
        keep.extend(latencies)
    n = len(latencies) or 1
    r = Result(
        name=name,
        target=target,
        concurrency=concurrency,
        duration=elapsed,
        requests=len(latencies),
        errors=errors,
        rps=len(latencies) / elapsed,
        p50=pct(latencies, 0.50),
        p95=pct(latencies, 0.95),
        p99=pct(latencies, 0.99),
        mean=statistics.fmean(latencies) if latencies else float("nan"),
        statements=statistics.fmean(statements) if statements else None,
        server_cpu_ms=(s1 - s0) * 1000 / n,
        pg_cpu_ms=(p1 - p0) * 1000 / n,
        driver_cpu_ms=(d1 - d0) * 1000 / n,
        first_error=first_error,
    )
    if statements:
        r.extra["statements_min_max"] = [min(statements), max(statements)]
    r.extra.update({k: x1[k] - x0[k] for k in x0})
    say(
        f"{name:<7} {target:<12} c={concurrency:<3} {r.rps:8.1f} req/s  p50 {r.p50:7.1f}"
        f"  p95 {r.p95:7.1f}  p99 {r.p99:7.1f} ms  errors {errors}"
        f"  stmts {r.statements if r.statements is not None else '-'}"
        f"  server {r.server_cpu_ms:.1f} ms  pg {r.pg_cpu_ms:.1f} ms cpu/req"
    )
    if first_error:
        say(f"  first error: {first_error}")
    return r


# ---------------------------------------------------------------------------- the operations


def gql(text: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": text, "variables": variables or {}}).encode()


class Ops:
    """Request bodies for every operation, rotating through the data set's sample ids."""

    def __init__(self, state: dict[str, Any], seed: int = 7) -> None:
        self.s = state
        self.rng = random.Random(seed)
        self.q1, self.q2, self.q3 = query("q1"), query("q2"), query("q3")
        self.m1, self.m2 = query("m1"), query("m2")
        self.pq1, self.pq2 = query("pg_q1"), query("pg_q2")
        self.q2_body = gql(self.q2)
        self.pq2_body = gql(self.pq2)
        self.member = state["associations"]["project_member"]["id"]
        self.colleague = state["associations"]["colleague"]["id"]

    def Q1(self, i: int) -> bytes:
        ids = self.s["q1_records"]
        return gql(self.q1, {"id": ids[i % len(ids)]})

    def PQ1(self, i: int) -> bytes:
        ids = self.s["q1_records"]
        return gql(self.pq1, {"id": as_uuid(ids[i % len(ids)])})

    def Q2(self, i: int) -> bytes:
        return self.q2_body

    def PQ2(self, i: int) -> bytes:
        return self.pq2_body

    def Q3(self, i: int) -> bytes:
        ids = self.s["q3_companies"]
        return gql(self.q3, {"recordId": ids[i % len(ids)]})

    def M1(self, i: int) -> bytes:
        contacts, projects = self.s["contacts"], self.s["projects"]
        links: set[tuple[str, str, str]] = set()
        while len(links) < 500:
            links.add((self.member, self.rng.choice(contacts), self.rng.choice(projects)))
        while len(links) < 1000:
            a, b = self.rng.sample(contacts, 2)
            links.add((self.colleague, a, b))
        items = [{"associationId": x, "firstRecordId": f, "secondRecordId": s} for x, f, s in links]
        return gql(self.m1, {"input": items})

    def M2(self, i: int) -> bytes:
        f = self.rng.choice(self.s["contacts"])
        s = self.rng.choice(self.s["projects"])
        return gql(
            self.m2,
            {"input": {"associationId": self.member, "firstRecordId": f, "secondRecordId": s}},
        )


# ------------------------------------------------------------------------------------ floor

REL_LEVEL = """
    select coalesce(json_agg(json_build_object(
             'label', e.label,
             'node', json_build_object('id', 'rec_' || replace(n.id::text, '-', ''),
                                       'objectKey', n.object_key, 'displayName', n.display_name
                                       {more})) order by e.rel_id), '[]'::json) as edges
    from (
      select * from (
        (select rel.id as rel_id, rel.second_record_id as other_id,
                coalesce(a.second_object_label, a.first_object_label) as label
         from relations rel join associations a
           on a.location_id = rel.location_id and a.id = rel.association_id
         where rel.location_id = $1 and rel.first_record_id = {parent}
         order by rel.id limit {limit})
        union all
        (select rel.id, rel.first_record_id, a.first_object_label
         from relations rel join associations a
           on a.location_id = rel.location_id and a.id = rel.association_id
         where rel.location_id = $1 and rel.second_record_id = {parent}
         order by rel.id limit {limit})
      ) both_sides order by rel_id limit {limit}
    ) e
    join records n on n.location_id = $1 and n.id = e.other_id
    {lateral}
"""


def floor_q1_sql() -> str:
    level = REL_LEVEL.format(more="", parent="$2", limit=50, lateral="")
    return (
        "select json_build_object('record', json_build_object("
        " 'id', 'rec_' || replace(r.id::text, '-', ''), 'objectKey', r.object_key,"
        " 'displayName', r.display_name, 'relations', json_build_object('edges', l.edges)))::text"
        f" from records r cross join lateral ({level}) l"
        " where r.location_id = $1 and r.id = $2"
    )


def floor_q2_sql() -> str:
    leaf = REL_LEVEL.format(more="", parent="n.id", limit=5, lateral="")
    leaf = leaf.replace(" e.", " e2.").replace("(e.", "(e2.").replace(") e\n", ") e2\n")
    leaf = leaf.replace(" n.", " n2.").replace("(n.", "(n2.").replace("records n ", "records n2 ")
    leaf = leaf.replace("= n2.id", "= n.id").replace("both_sides", "both_sides2")
    mid = REL_LEVEL.format(
        more=", 'relations', json_build_object('edges', l2.edges)",
        parent="ro.id",
        limit=10,
        lateral=f"cross join lateral ({leaf}) l2",
    )
    return (
        "select json_build_object('records', json_build_object('edges', json_agg("
        " json_build_object('node', json_build_object("
        "  'id', 'rec_' || replace(ro.id::text, '-', ''), 'displayName', ro.display_name,"
        "  'relations', json_build_object('edges', l1.edges))) order by ro.id)))::text"
        " from (select id, display_name from records where location_id = $1"
        "  and object_key = 'contact' order by id limit 100) ro"
        f" cross join lateral ({mid}) l1"
    )


class Floor:
    """One hand-written statement per operation, through asyncpg, no HTTP, one client; measured
    in slices between the servers' turns (`slice`), reported as one figure per operation."""

    def __init__(self, conn: asyncpg.Connection, state: dict[str, Any]) -> None:
        self.conn = conn
        loc = state["location"]
        ids = [uuid.UUID(as_uuid(x)) for x in state["q1_records"]]
        self.statements: dict[str, tuple[str, Callable[[int], tuple[Any, ...]]]] = {
            "Q1": (floor_q1_sql(), lambda i: (loc, ids[i % len(ids)])),
            "Q2": (floor_q2_sql(), lambda i: (loc,)),
        }
        self.times: dict[str, list[float]] = {}
        self.size: dict[str, int] = {}

    @classmethod
    async def open(cls, dsn: str, state: dict[str, Any]) -> Floor:
        return cls(await asyncpg.connect(dsn), state)

    async def close(self) -> None:
        await self.conn.close()

    async def slice(self, name: str, duration: float) -> None:
        sql, args = self.statements[name]
        stmt = await self.conn.prepare(sql)
        for i in range(5):
            await stmt.fetchval(*args(i))
        times = self.times.setdefault(name, [])
        end = time.monotonic() + duration
        i = 0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            text = await stmt.fetchval(*args(i))
            times.append((time.perf_counter() - t0) * 1000)
            self.size[name] = len(text)
            i += 1

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, times in self.times.items():
            times.sort()
            out[name] = {
                "p50": pct(times, 0.5),
                "mean": statistics.fmean(times),
                "requests": len(times),
                "bytes": self.size[name],
            }
            say(
                f"floor   {name}  p50 {out[name]['p50']:.2f} ms  mean {out[name]['mean']:.2f} ms"
                f"  ({len(times)} runs, {self.size[name]} bytes)"
            )
        return out


# ------------------------------------------------------------------------------------ servers


def export_rev(rev: str, data_dir: str) -> Path:
    """`git archive` a revision into the data dir, so a half-edited work tree is not measured."""
    sha = subprocess.check_output(["git", "rev-parse", rev], cwd=ROOT, text=True).strip()
    dest = Path(data_dir) / f"src-{sha[:10]}"
    if not dest.exists():
        dest.mkdir(parents=True)
        archive = subprocess.Popen(["git", "archive", sha], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.check_call(["tar", "-x", "-C", str(dest)], stdin=archive.stdout)
        archive.wait()
    return dest


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:  # noqa: ASYNC109
    end = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise SystemExit(f"{proc.args!r} exited with {proc.returncode}")
            try:
                async with s.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def require_free_port(port: int) -> None:
    import socket

    with socket.socket() as sock:
        # As uvicorn binds: connections of a server stopped a minute ago (TIME_WAIT) are no
        # obstacle, a listening socket is.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(
                f"port {port} is in use: stop what listens there or pass another"
            ) from None


def start_relata(dsn: str, port: int, src: Path, log: Path) -> subprocess.Popen[bytes]:
    require_free_port(port)
    # One token drives all the load: the per-token rate limit would measure itself, not Relata.
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "RELATA_PORT": str(port),
        "RELATA_RATE_LIMIT_PER_SECOND": "0",
    }
    env["PYTHONPATH"] = str(src)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=src,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


async def start_peer(dsn: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    require_free_port(port)
    if not (PEER / "node_modules" / ".bin" / "postgraphile").exists():
        say("installing PostGraphile 5 into bench/peer (bench/peer/install.sh)")
        subprocess.check_call(["bash", str(PEER / "install.sh")])  # noqa: ASYNC221
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((PEER / "peer.sql").read_text())
    finally:
        await conn.close()
    env = dict(os.environ)
    env["NODE_OPTIONS"] = f"--require {PEER / 'polyfill.cjs'}"
    env["GRAPHILE_ENV"] = "production"
    sock = socket_dir(dsn)
    if sock:  # the embedded server listens on a Unix socket only
        from urllib.parse import urlsplit

        env.update(PGHOST=sock, PGUSER="postgres", PGDATABASE=urlsplit(dsn).path.lstrip("/"))
        conn_str = f"postgres:///{env['PGDATABASE']}"
    else:
        conn_str = dsn
    return subprocess.Popen(  # noqa: ASYNC220
        [
            str(PEER / "node_modules" / ".bin" / "postgraphile"),
            "-P",
            "postgraphile/presets/amber",
            "-c",
            conn_str,
            "-s",
            "public,peer",
            "-p",
            str(port),
            "-n",
            "127.0.0.1",
        ],
        cwd=PEER,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------------- cleanup


async def remove_created_relations(dsn: str, location: str, since: Any) -> int:
    """Delete the relations created since `since` and count their ends down in
    relation_counters, in one transaction, as the server does (its statements keep the counters;
    no trigger does). Every statement pins the location: single-shard router statements on
    Citus too."""
    sys.path.insert(0, str(ROOT))
    from db.relations import bump_counters

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            rows = await conn.fetch(
                "select r.id, r.association_id, r.first_record_id, r.second_record_id,"
                " a.is_symmetric from relations r join associations a"
                " on a.location_id = $1 and a.id = r.association_id"
                " where r.location_id = $1 and r.created_at >= $2 order by r.id for update of r",
                location,
                since,
            )
            deltas: dict[tuple[uuid.UUID, uuid.UUID, int], int] = {}
            for r in rows:
                ends = ((r["first_record_id"], 1), (r["second_record_id"], 2))
                for record, side in ends:
                    key = (r["association_id"], record, 0 if r["is_symmetric"] else side)
                    deltas[key] = deltas.get(key, 0) - 1
            ids = [r["id"] for r in rows]
            for i in range(0, len(ids), 10_000):
                await conn.execute(
                    "delete from relations where location_id = $1 and id = any($2::uuid[])",
                    location,
                    ids[i : i + 10_000],
                )
            changes = [(a, rec, side, n) for (a, rec, side), n in deltas.items()]
            for i in range(0, len(changes), 5_000):  # 4 parameters a row, at most 32767
                await bump_counters(conn, location, changes[i : i + 5_000])
    finally:
        await conn.close()
    return len(rows)


# ---------------------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    state = load_state(args.data_dir, args.relations)
    dsn = bench_dsn(args.data_dir, args.relations)
    ops = Ops(state)
    wanted = [o.strip().upper() for o in args.ops.split(",") if o.strip()]
    logs = Path(args.data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    relata = peer = None
    results: list[Result] = []
    floor: dict[str, Any] = {}
    floor_conn: Floor | None = None
    db_start = None
    try:
        if args.url:
            url, token, server_pid = args.url, args.token or state["token"], args.server_pid
        else:
            src = export_rev(args.rev, args.data_dir) if args.rev else ROOT
            relata = start_relata(dsn, args.port, src, logs / "relata.log")
            url, token, server_pid = (
                f"http://127.0.0.1:{args.port}/graphql",
                state["token"],
                relata.pid,
            )
            await wait_http(f"http://127.0.0.1:{args.port}/readyz", relata)
            say(f"relata serving {src} (pid {relata.pid}) on {url}")
        want_peer = args.peer and any(o in wanted for o in ("Q1", "Q2"))
        if want_peer:
            peer = await start_peer(dsn, args.peer_port, logs / "postgraphile.log")
            await wait_http(f"http://127.0.0.1:{args.peer_port}/graphql", peer)
            say(f"postgraphile serving (pid {peer.pid}) on port {args.peer_port}")
        pg = CpuProbe(postmaster_pid(dsn), with_children=True)
        if args.floor and any(o in wanted for o in ("Q1", "Q2")):
            floor_conn = await Floor.open(dsn, state)
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        peer_url = f"http://127.0.0.1:{args.peer_port}/graphql"
        peer_headers = {"content-type": "application/json"}
        conn = await asyncpg.connect(dsn)
        db_start = await conn.fetchval("select now()")
        await conn.close()
        c = args.concurrency
        connector = aiohttp.TCPConnector(limit=max(c, 16), force_close=False)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            def m(
                name: str,
                target: str,
                conc: int,
                make: Callable[[int], bytes],
                duration: float | None = None,
                warmup: float | None = None,
                keep: list[float] | None = None,
            ) -> Any:
                is_peer = target == "postgraphile"
                return measure(
                    session,
                    peer_url if is_peer else url,
                    peer_headers if is_peer else headers,
                    make,
                    name=name,
                    target=target,
                    concurrency=conc,
                    duration=duration or args.duration,
                    warmup=args.warmup if warmup is None else warmup,
                    keep=keep,
                    server=CpuProbe(peer.pid if is_peer and peer else server_pid),
                    pg=pg,
                )

            for name in ("Q1", "Q2"):
                if name not in wanted:
                    continue
                runs: list[tuple[str, int, Callable[[int], bytes]]] = []
                if args.single:
                    runs.append(("relata", 1, getattr(ops, name)))
                runs.append(("relata", c, getattr(ops, name)))
                if peer is not None:
                    runs.append(("postgraphile", c, getattr(ops, "P" + name)))
                    if args.single:
                        runs.append(("postgraphile", 1, getattr(ops, "P" + name)))
                # The servers take turns, `rounds` slices each, so a machine whose speed drifts
                # during the run (a shared VM's does, by tens of percent) slows both alike.
                parts: list[list[Result]] = [[] for _ in runs]
                kept: list[list[float]] = [[] for _ in runs]
                rounds = max(1, args.rounds)
                for turn in range(rounds):
                    for i, (target, conc, make) in enumerate(runs):
                        parts[i].append(
                            await m(
                                name,
                                target,
                                conc,
                                make,
                                duration=args.duration / rounds,
                                warmup=args.warmup if turn == 0 else min(args.warmup, 0.5),
                                keep=kept[i],
                            )
                        )
                    if floor_conn is not None and args.single:
                        await floor_conn.slice(name, args.floor_duration / rounds)
                results.extend(merged(p, k) for p, k in zip(parts, kept, strict=True))
            if "Q3" in wanted:
                results.append(await m("Q3", "relata", c, ops.Q3))
            if "M1" in wanted:
                results.append(await m("M1", "relata", 1, ops.M1))
            if "M2" in wanted:
                results.append(await m("M2", "relata", args.m2_concurrency, ops.M2))
        if floor_conn is not None:
            for name in ("Q1", "Q2"):
                if name in wanted and name not in floor_conn.times:
                    await floor_conn.slice(name, args.floor_duration)
            floor = floor_conn.report()
    finally:
        if floor_conn is not None:
            await floor_conn.close()
        stop(relata)
        stop(peer)
        if db_start is not None and not args.keep_mutations:
            removed = await remove_created_relations(dsn, state["location"], db_start)
            say(f"removed the {removed} relations the mutations created (counters counted down)")
    report = {
        "relations": args.relations,
        "relations_loaded": state.get("relations_loaded"),
        "concurrency": args.concurrency,
        "duration": args.duration,
        "rev": args.rev or "work tree",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "results": [asdict(r) for r in results],
        "floor": floor,
    }
    print(markdown(report))
    out = Path(args.data_dir) / f"results-{args.relations}.json"
    out.write_text(json.dumps(report, indent=1))
    say(f"results in {out}")
    return report


def markdown(report: dict[str, Any]) -> str:
    rows = report["results"]
    lines = [
        f"relations: {report['relations_loaded']}, rev: {report['rev']}, {report['when']}",
        "",
        "| op | server | clients | req/s | p50 ms | p95 ms | p99 ms | errors | SQL stmts/req"
        " | server CPU ms/req | Postgres CPU ms/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        st = "-" if r["statements"] is None else f"{r['statements']:.1f}"
        lines.append(
            f"| {r['name']} | {r['target']} | {r['concurrency']} | {r['rps']:.1f} | {r['p50']:.1f}"
            f" | {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']}/{r['requests']} | {st}"
            f" | {r['server_cpu_ms']:.1f} | {r['pg_cpu_ms']:.1f} |"
        )
    by = {(r["name"], r["target"], r["concurrency"]): r for r in rows}
    extra = []
    for name in ("Q1", "Q2"):
        c = report["concurrency"]
        rel, peer = by.get((name, "relata", c)), by.get((name, "postgraphile", c))
        if rel and peer and peer["rps"]:
            extra.append(
                f"- {name} at {c} clients, Relata / PostGraphile: throughput"
                f" {rel['rps'] / peer['rps']:.2f}x, p99 {rel['p99'] / peer['p99']:.2f}x"
                " (throughput > 1 and p99 < 1 favour Relata)"
            )
        single = by.get((name, "relata", 1))
        fl = report["floor"].get(name)
        if single and fl:
            extra.append(
                f"- {name} Relata p50 at 1 client / hand-written SQL floor p50:"
                f" {single['p50']:.1f} / {fl['p50']:.2f} ms = {single['p50'] / fl['p50']:.1f}x"
            )
    return "\n".join(lines + [""] + extra)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--relations",
        type=int,
        default=DEFAULT_RELATIONS,
        help="which generated data set (its size)",
    )
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--ops", default="Q1,Q2,Q3,M1,M2")
    p.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--m2-concurrency", type=int, default=16)
    p.add_argument(
        "--single",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure Q1/Q2 from one client (the floor ratio uses it)",
    )
    p.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--floor-duration", type=float, default=5.0)
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Q1/Q2: each server's measurement (and the floor's) in this many slices, taken in"
        " turn, so drift in the machine's speed during the run hits all of them alike",
    )
    p.add_argument("--rev", help="serve this git revision (exported) instead of the work tree")
    p.add_argument("--url", help="measure a running server instead of starting one")
    p.add_argument("--token", help="bearer token for --url (default: the data set's)")
    p.add_argument("--server-pid", type=int, help="pid of the --url server, for its CPU time")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--peer-port", type=int, default=5678)
    p.add_argument(
        "--keep-mutations",
        action="store_true",
        help="keep the relations M1/M2 created (default: deleted after the run)",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
