"""Single node against a Citus cluster, in one run: the same data set on the embedded
PostgreSQL and on a fresh Citus cluster (coordinator + 2 workers, ci/citus/cluster.py), one
`relata serve` on each, Q1, Q2 and M1 against both with the same clients and duration, and one
table: the cost of the distributed path.

    .venv/bin/python -m bench.citus             # 10^5 relations, 3 rounds of 6 s a measurement
    .venv/bin/python -m bench.citus --relations 1000000 --duration 15 --rounds 1

Steps: ci/citus/build.sh (Citus into the venv's PostgreSQL; cached) -> bench.generate into the
embedded server (rb_<N>, recreated) -> cluster.py start --database rb_<N> under --root (any
cluster left there is stopped first) -> the nodes set like the single node (fsync and
full_page_writes on, statement statistics off) -> bench.generate --dsn <coordinator> (relata
migrate distributes the schema) -> both servers started -> each measurement taken on one target
then the other (the order alternates from row to row and round to round, so drift in the
machine's load falls on both), --rounds times, the relations M1 created removed from both after
each round -> the table (medians over the rounds) -> the cluster stopped and deleted, whatever
happened (unless --keep-cluster).

"other load" is the machine's CPU not spent by this bench (driver, measured server, measured
Postgres nodes) during a measurement, in cores: other work sharing the machine.

Relata reaches both databases over a Unix socket; the coordinator reaches the workers over TCP on
127.0.0.1. The cluster keeps `citus.multi_task_query_log_level = error` from cluster.py: a
multi-shard statement would show as errors in the table. The bench data set is one location,
so all of it lives in one shard group on one worker: every request goes server -> coordinator ->
that worker. Postgres CPU per request on the cluster is the sum over the three nodes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import generate
from bench import run as driver
from bench.common import DEFAULT_DATA_DIR, ROOT, bench_dsn, load_state, say

CLUSTER = [sys.executable, str(ROOT / "ci" / "citus" / "cluster.py")]
DEFAULT_ROOT = "/tmp/relata-bench-citus"  # short: Unix socket paths stay under 107 characters

# The CI cluster is tuned for tests (no fsync, every statement tracked); the bench compares it
# with the embedded server at its defaults, so the nodes are set back to those.
MATCH_SINGLE_NODE = {
    "fsync": "on",
    "full_page_writes": "on",
    "citus.stat_statements_track": "none",
    "pg_stat_statements.track": "none",
}


def machine_busy() -> float:
    """CPU seconds all cores spent on anything but idle and I/O wait, since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / driver.TICK


def others_load(r: dict[str, Any]) -> float | None:
    """Cores busy with something else than this bench (its driver, the measured server and
    the measured Postgres nodes) during a measurement: other work on the shared machine."""
    busy = r["extra"].get("machine_cpu_s")
    if busy is None or not r["duration"]:
        return None
    ours: float = (r["server_cpu_ms"] + r["pg_cpu_ms"] + r["driver_cpu_ms"]) * r["requests"] / 1000
    return max(0.0, float(busy) - ours) / float(r["duration"])


class Probes:
    """CPU seconds of several process trees (the cluster's three postmasters)."""

    def __init__(self, probes: list[driver.CpuProbe]) -> None:
        self.probes = probes

    def read(self) -> float:
        return sum(p.read() for p in self.probes)


def cluster(root: str, *args: str) -> str:
    out = subprocess.run([*CLUSTER, "--root", root, *args], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise SystemExit(f"cluster.py {' '.join(args)} failed (status {out.returncode})")
    return out.stdout


def cluster_nodes(root: str) -> tuple[str, list[dict[str, Any]]]:
    state = json.loads((Path(root) / "cluster.json").read_text())
    return state["database"], state["nodes"]


def socket_dsn(node: dict[str, Any], database: str) -> str:
    """The node over its Unix socket (cluster.py puts it in the node's home directory)."""
    home = Path(node["data"]).parent
    return f"postgresql://postgres@/{database}?host={home}&port={node['port']}"


async def match_single_node(nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        conn = await asyncpg.connect(socket_dsn(node, "postgres"))
        try:
            for name, value in MATCH_SINGLE_NODE.items():
                await conn.execute(f"alter system set {name} = '{value}'")
            await conn.execute("select pg_reload_conf()")
            await asyncio.sleep(0.2)
            got = {n: await conn.fetchval(f"show {n}") for n in MATCH_SINGLE_NODE}
        finally:
            await conn.close()
        if got != MATCH_SINGLE_NODE:
            raise SystemExit(f"{node['name']}: settings not applied: {got}")
    say(f"cluster nodes set like the single node: {MATCH_SINGLE_NODE}")


def postmaster(node: dict[str, Any]) -> int:
    return int((Path(node["data"]) / "postmaster.pid").read_text().split()[0])


class Target:
    def __init__(self, name: str, dsn: str, data_dir: str, relations: int, pg: Any) -> None:
        self.name, self.dsn, self.pg = name, dsn, pg
        self.state = load_state(data_dir, relations)
        self.ops = driver.Ops(self.state)
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.since: Any = None


def plan(ops: list[str], concurrency: int, single: bool) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for op in ops:
        if op in ("Q1", "Q2"):
            if single:
                rows.append((op, 1))
            rows.append((op, concurrency))
        elif op == "M1":
            rows.append((op, 1))  # as bench.run: one client, 1,000 links a request
        else:
            raise SystemExit(f"unknown operation {op!r} (Q1, Q2, M1)")
    return rows


async def compare(args: argparse.Namespace, targets: list[Target]) -> list[dict[str, Any]]:
    logs = Path(args.data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    sessions: list[aiohttp.ClientSession] = []
    try:
        for t, port in zip(targets, (args.port, args.cluster_port), strict=True):
            t.proc = driver.start_relata(t.dsn, port, ROOT, logs / f"relata-{t.name}.log")
            t.url = f"http://127.0.0.1:{port}/graphql"
        for t, port in zip(targets, (args.port, args.cluster_port), strict=True):
            assert t.proc is not None
            await driver.wait_http(f"http://127.0.0.1:{port}/readyz", t.proc)
            conn = await asyncpg.connect(t.dsn)
            t.since = await conn.fetchval("select now()")
            await conn.close()
            say(f"relata on {t.name} (pid {t.proc.pid}) at {t.url}")
        timeout = aiohttp.ClientTimeout(total=120)
        for _ in targets:
            # Idle connections dropped before uvicorn's 5 s keep-alive closes them: otherwise a
            # request sent as the server closes its connection fails ("Server disconnected").
            connector = aiohttp.TCPConnector(limit=max(args.concurrency, 16), keepalive_timeout=3)
            sessions.append(aiohttp.ClientSession(connector=connector, timeout=timeout))
        rows = plan(args.ops, args.concurrency, args.single)
        for round_ in range(args.rounds):
            if round_:  # every round starts from the generated data set
                await remove_m1_relations(targets)
            for i, (op, clients) in enumerate(rows):
                order = list(zip(targets, sessions, strict=True))
                if (i + round_) % 2:
                    order.reverse()
                for t, session in order:
                    assert t.proc is not None
                    r = await driver.measure(
                        session,
                        t.url,
                        {
                            "content-type": "application/json",
                            "authorization": f"Bearer {t.state['token']}",
                        },
                        getattr(t.ops, op),
                        name=op,
                        target=t.name,
                        concurrency=clients,
                        duration=args.duration,
                        warmup=args.warmup,
                        server=driver.CpuProbe(t.proc.pid),
                        pg=t.pg,
                        probes={"machine_cpu_s": machine_busy},
                    )
                    results.append(dict(vars(r), round=round_ + 1))
    finally:
        for s in sessions:
            await s.close()
        for t in targets:
            driver.stop(t.proc)
        await remove_m1_relations(targets)
    return results


async def remove_m1_relations(targets: list[Target]) -> None:
    for t in targets:
        if t.since is None:
            continue
        conn = await asyncpg.connect(t.dsn)
        now = await conn.fetchval("select now()")
        await conn.close()
        removed = await driver.remove_created_relations(t.dsn, t.state["location"], t.since)
        t.since = now
        say(f"{t.name}: removed the {removed} relations M1 created")


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def medians(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One measurement's rounds as one: the median of each figure, errors and requests summed."""
    if not rows:
        return None
    out: dict[str, Any] = {}
    for key in ("rps", "p50", "p99", "statements", "pg_cpu_ms", "server_cpu_ms"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = statistics.median(values) if values else None
    loads = [x for x in map(others_load, rows) if x is not None]
    out["others"] = statistics.median(loads) if loads else None
    out["errors"] = sum(r["errors"] for r in rows)
    out["requests"] = sum(r["requests"] for r in rows)
    return out


def paired(single: list[dict[str, Any]], cluster: list[dict[str, Any]], key: str) -> list[float]:
    """cluster / single of one figure, round by round: the two were measured back to back, so
    each ratio sees the machine in one state even when its speed drifts between rounds."""
    by_round = {r["round"]: r for r in single}
    return [c[key] / by_round[c["round"]][key] for c in cluster if c["round"] in by_round]


def ratio(values: list[float]) -> str:
    if not values:
        return "-"
    mid = f"{statistics.median(values):.2f}×"
    return mid if len(values) == 1 else f"{mid} ({min(values):.2f}–{max(values):.2f})"


def markdown(report: dict[str, Any]) -> str:
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in report["results"]:
        groups.setdefault((r["name"], r["concurrency"], r["target"]), []).append(r)
    rounds = report["rounds"]
    lines = [
        f"relations: {report['relations_loaded']}, {report['duration']:g} s a measurement after"
        f" {report['warmup']:g} s warm-up, {report['when']}"
        + (
            f"; {rounds} rounds: figures are medians, ratios the median of the per-round ratios"
            " (range in brackets)"
            if rounds > 1
            else ""
        ),
        "",
        "| op | clients | single req/s | single p50 ms | single p99 ms | cluster req/s"
        " | cluster p50 ms | cluster p99 ms | req/s cluster/single | p50 cluster/single"
        " | SQL stmts/req single / cluster | Postgres CPU ms/req single / cluster"
        " | errors single / cluster | other load, cores, single / cluster |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op, clients in report["plan"]:
        single = groups.get((op, clients, "single"), [])
        cluster = groups.get((op, clients, "cluster"), [])
        s, c = medians(single), medians(cluster)
        if not s or not c:
            continue
        lines.append(
            f"| {op} | {clients} | {s['rps']:.1f} | {s['p50']:.1f} | {s['p99']:.1f}"
            f" | {c['rps']:.1f} | {c['p50']:.1f} | {c['p99']:.1f}"
            f" | **{ratio(paired(single, cluster, 'rps'))}**"
            f" | {ratio(paired(single, cluster, 'p50'))}"
            f" | {fmt(s['statements'])} / {fmt(c['statements'])}"
            f" | {fmt(s['pg_cpu_ms'])} / {fmt(c['pg_cpu_ms'])}"
            f" | {s['errors']}/{s['requests']} / {c['errors']}/{c['requests']}"
            f" | {fmt(s['others'], 2)} / {fmt(c['others'], 2)} |"
        )
    return "\n".join(lines)


def interrupt_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop the servers and the cluster."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.citus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--relations", type=int, default=100_000)
    p.add_argument("--duration", type=float, default=6.0, help="seconds per measurement")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--ops", default="Q1,Q2,M1")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure everything this many times (the table shows medians)",
    )
    p.add_argument(
        "--single",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure Q1/Q2 from one client",
    )
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--root", default=DEFAULT_ROOT, help="the cluster's directory")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=8775, help="relata on the single node")
    p.add_argument("--cluster-port", type=int, default=8776, help="relata on the cluster")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    p.add_argument("--report", metavar="JSON", help="print the table of a saved run and exit")
    args = p.parse_args(argv)
    if args.report:
        print(markdown(json.loads(Path(args.report).read_text())))
        return
    args.ops = [o.strip().upper() for o in args.ops.split(",") if o.strip()]
    if os.environ.pop("DATABASE_URL", None):
        say("DATABASE_URL ignored: the single node is the embedded server under --data-dir")
    interrupt_on_sigterm()
    t0 = time.monotonic()
    n = str(args.relations)

    build = subprocess.run(["bash", str(ROOT / "ci" / "citus" / "build.sh")])
    if build.returncode == 77:
        raise SystemExit("no Citus source (ci/citus/build.sh skipped): nothing to compare")
    if build.returncode != 0:
        raise SystemExit(f"ci/citus/build.sh failed (status {build.returncode})")

    say(f"single node: generating {args.relations} relations into the embedded server")
    generate.main(["--relations", n, "--data-dir", args.data_dir])
    single_dsn = bench_dsn(args.data_dir, args.relations)
    cluster_dir = str(Path(args.data_dir) / "citus")
    try:
        cluster(args.root, "stop")
        t1 = time.monotonic()
        cluster(args.root, "start", "--workers", str(args.workers), "--database", f"rb_{n}")
        say(f"cluster started in {time.monotonic() - t1:.1f} s under {args.root}")
        database, nodes = cluster_nodes(args.root)
        asyncio.run(match_single_node(nodes))
        coordinator = socket_dsn(nodes[0], database)
        say(f"cluster: generating {args.relations} relations through the coordinator")
        generate.main(["--relations", n, "--data-dir", cluster_dir, "--dsn", coordinator])
        single_pg = driver.CpuProbe(driver.postmaster_pid(single_dsn), with_children=True)
        cluster_pg = Probes([driver.CpuProbe(postmaster(x), with_children=True) for x in nodes])
        targets = [
            Target("single", single_dsn, args.data_dir, args.relations, single_pg),
            Target("cluster", coordinator, cluster_dir, args.relations, cluster_pg),
        ]
        say(f"setup took {time.monotonic() - t0:.0f} s; measuring")
        results = asyncio.run(compare(args, targets))
    finally:
        if args.keep_cluster:
            say(f"cluster left running under {args.root}: cluster.py --root {args.root} stop")
        else:
            cluster(args.root, "stop")
    report = {
        "relations": args.relations,
        "relations_loaded": targets[0].state.get("relations_loaded"),
        "cluster_relations_loaded": targets[1].state.get("relations_loaded"),
        "workers": args.workers,
        "duration": args.duration,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "plan": plan(args.ops, args.concurrency, args.single),
        "results": results,
        "took_s": round(time.monotonic() - t0, 1),
    }
    print(markdown(report))
    out = Path(args.data_dir) / f"results-citus-{args.relations}.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    say(f"results in {out}; the whole run took {report['took_s']:.0f} s")


if __name__ == "__main__":
    main()
