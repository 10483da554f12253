"""`relata`: serve, migrate, manage tokens, export the schema, deliver webhooks."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import quote

from app.config import Settings

DEFAULT_LOCATION = "default"


def _print(*lines: str) -> None:
    print("\n".join(lines), flush=True)


async def _with_db(settings: Settings, fn):  # type: ignore[no-untyped-def]
    from db import Database
    from db.migrate import apply_migrations

    dsn = settings.resolve_dsn()
    await apply_migrations(dsn)
    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        return await fn(db)
    finally:
        await db.close()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from db.migrate import apply_migrations

    applied = asyncio.run(apply_migrations(settings.resolve_dsn()))
    _print(f"applied {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.tokens import create_token

    async def run(db):  # type: ignore[no-untyped-def]
        return await create_token(db, args.location, args.role, args.scope)

    token = asyncio.run(_with_db(settings, run))
    print(
        f"# token for location {args.location!r}, role {args.role};"
        " it is shown once and stored only as a hash",
        file=sys.stderr,
    )
    print(token, flush=True)
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.tokens import revoke_token

    async def run(db):  # type: ignore[no-untyped-def]
        return await revoke_token(db, args.token)

    if asyncio.run(_with_db(settings, run)):
        _print("token revoked")
        return 0
    print("no active token matches", file=sys.stderr)
    return 1


def cmd_events_prune(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.events import prune

    days = (
        args.older_than_days if args.older_than_days is not None else settings.event_retention_days
    )
    if days is None:
        _print(
            "nothing pruned: events are kept for good unless RELATA_EVENT_RETENTION_DAYS or"
            " --older-than-days says otherwise"
        )
        return 0

    async def run(db):  # type: ignore[no-untyped-def]
        return await prune(db, older_than_days=days, location_id=args.location)

    where = f"location {args.location!r}" if args.location else "every location"
    print(f"pruning events older than {days:g} days in {where} ...", file=sys.stderr, flush=True)
    removed = asyncio.run(_with_db(settings, run))
    _print(f"pruned {removed} event(s) older than {days:g} days from {where}")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


async def _first_start(settings: Settings, demo: bool) -> tuple[str | None, str]:
    """Create the default location and an admin token when the database is empty."""
    from app.services.locations import any_location
    from app.services.tokens import authenticate, create_token

    async def run(db):  # type: ignore[no-untyped-def]
        token_file = Path(settings.data_dir) / "admin-token"
        token: str | None = None
        if not await any_location(db):
            token = await create_token(
                db, DEFAULT_LOCATION, "admin", None, location_name="Default location"
            )
            if not settings.database_url:
                token_file.parent.mkdir(parents=True, exist_ok=True)
                token_file.write_text(token + "\n")
                token_file.chmod(0o600)
        elif token_file.exists() and not settings.database_url:
            saved = token_file.read_text().strip()
            try:
                await authenticate(db, saved)
                token = saved
            except Exception:  # noqa: BLE001 - a revoked saved token is simply not shown
                token = None
        location = DEFAULT_LOCATION
        if demo:
            from app.demo import load_demo

            loaded = await load_demo(db, location)
            if loaded:
                _print("loaded demo data: " + ", ".join(f"{v} {k}" for k, v in loaded.items()))
        return token, location

    return await _with_db(settings, run)  # type: ignore[no-any-return]


def tune_gc() -> None:
    """Fewer cyclic-GC passes: responses allocate many short-lived, acyclic objects (freed by
    reference counting anyway), and with the default gen-0 threshold the collector took ~40%
    of the server's CPU on a list view (bench/README.md). Start-up objects are frozen out of
    every later pass."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _browsable(host: str) -> str:
    """The address to print for a bind address: a wildcard is reached on loopback."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def graphiql_link(graphql_url: str, token: str) -> str:
    return f"{graphql_url}#token={quote(token, safe='')}"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.services.token_cache import TokenCache
    from app.web import create_app

    if settings.auth_cache_seconds != 0:
        try:  # refused before anything starts (create_app builds the cache from the same values)
            TokenCache(settings.auth_cache_seconds, settings.auth_cache_entries)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    host = args.host or settings.host
    port = args.port or settings.port
    if not settings.database_url:
        _print(f"starting embedded PostgreSQL in {os.path.abspath(settings.data_dir)}/pg ...")
    dsn = settings.resolve_dsn()
    token, location = asyncio.run(_first_start(settings, args.demo))
    url = f"http://{_browsable(host)}:{port}/graphql"
    _print("", f"Relata is serving GraphQL at {url}")
    if token:
        _print(
            f"admin token for location {location!r}:",
            f"  {token}",
            "try:",
            f"  curl -s {url} -H 'Authorization: Bearer {token}' \\",
            "    -H 'Content-Type: application/json' \\",
            '    -d \'{"query":"{ viewer { location { locationId } role }'
            " objectSchemas { key } }\"}'",
        )
        if settings.graphiql:
            # The fragment never reaches the server (nor its logs); the page moves the token
            # into GraphiQL's headers and out of the address bar.
            _print(f"GraphiQL: {graphiql_link(url, token)}")
    else:
        _print("create a token with: relata token create --location default --role admin")
        if settings.graphiql:
            _print(f"GraphiQL: {url} (it asks for a token; or add #token=<token> to the link)")
    _print("")
    app = create_app(settings, dsn=dsn)
    tune_gc()
    from app.request_log import configure_access_log

    configure_access_log()  # JSON lines from app.request_log replace uvicorn's access log
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; turning that into a normal
    # exit lets the embedded PostgreSQL be stopped cleanly instead of being left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=args.log_level,
            timeout_graceful_shutdown=20,
            access_log=False,
        )
    finally:
        if not settings.database_url:
            from db.embedded import stop_embedded

            stop_embedded(settings.data_dir)
    return 0


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    """The webhook delivery worker alone, until SIGTERM or Ctrl-C."""
    from app.webhooks.worker import WebhookWorker
    from db import Database
    from db.migrate import apply_migrations

    async def run() -> None:
        dsn = settings.resolve_dsn()
        await apply_migrations(dsn)
        db = await Database.connect(
            dsn,
            min_size=1,
            max_size=max(1, settings.webhook_pool_size),
            statement_timeout_ms=settings.statement_timeout_ms,
            acquire_timeout=settings.pool_timeout,
        )
        worker = WebhookWorker(db, settings, name="relata-deliver")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.start()
        _print("delivering webhooks; stop with Ctrl-C or SIGTERM")
        try:
            await stop.wait()
        finally:
            await worker.stop()
            await db.close()

    try:
        asyncio.run(run())
    finally:
        if not settings.database_url:
            from db.embedded import stop_embedded

            stop_embedded(settings.data_dir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relata",
        description="Relata: labeled associations between CRM records, over GraphQL and REST.",
        epilog="Configuration: DATABASE_URL (else an embedded PostgreSQL under RELATA_DATA_DIR,"
        " default ./.data), RELATA_HOST, RELATA_PORT.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="apply migrations and serve GraphQL (and GraphiQL)")
    serve.add_argument("--host", help="address to bind (default RELATA_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default RELATA_PORT or 8000)")
    serve.add_argument(
        "--demo", action="store_true", help="load a small demo data set into the default location"
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations (safe to re-run)")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="create or revoke API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser(
        "create", help="create a token; it is printed alone on the last line of stdout"
    )
    create.add_argument("--location", required=True, help="location (tenant) id; created if new")
    create.add_argument("--role", required=True, choices=["admin", "user"])
    create.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="grant only this scope (repeatable); default: every scope",
    )
    create.set_defaults(func=cmd_token_create)
    revoke = token_sub.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token")
    revoke.set_defaults(func=cmd_token_revoke)

    deliver = sub.add_parser(
        "deliver",
        help="run only the webhook delivery worker (relata serve runs one too)",
        description="Send webhook deliveries: turn new change events into signed POSTs to the"
        " location's webhooks, retry failures with back-off, resume what a stopped worker left."
        " Any number of workers (and servers) may run at once; each delivery is sent by one at"
        " a time. `relata serve` runs a worker unless RELATA_WEBHOOK_WORKER=0: run `relata"
        " deliver` beside servers started with it off to scale sending apart from the API.",
        epilog="Configuration: DATABASE_URL, RELATA_WEBHOOK_TIMEOUT (10 s),"
        " RELATA_WEBHOOK_MAX_ATTEMPTS (12), RELATA_WEBHOOK_RETRY_BASE (5 s),"
        " RELATA_WEBHOOK_RETRY_MAX (21600 s), RELATA_WEBHOOK_LEASE (60 s),"
        " RELATA_WEBHOOK_CONCURRENCY (32), RELATA_WEBHOOK_ENDPOINT_CONCURRENCY (4),"
        " RELATA_WEBHOOK_POLL_INTERVAL (0.5 s), RELATA_WEBHOOK_POOL_SIZE (2),"
        " RELATA_WEBHOOK_ALLOW_PRIVATE (0). See docs/webhooks.md.",
    )
    deliver.set_defaults(func=cmd_deliver)
    events = sub.add_parser("events", help="maintain the change log (history, webhooks)")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    prune = events_sub.add_parser(
        "prune",
        help="delete events older than the retention",
        description="Delete events older than --older-than-days, or RELATA_EVENT_RETENTION_DAYS"
        " when not given (unset: keep everything, prune nothing). A client resuming from a"
        " pruned position gets a clear error, never a silent gap.",
    )
    prune.add_argument(
        "--older-than-days",
        type=float,
        metavar="DAYS",
        help="keep only the last DAYS days (default RELATA_EVENT_RETENTION_DAYS)",
    )
    prune.add_argument("--location", help="only this location (default: every location)")
    prune.set_defaults(func=cmd_events_prune)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from app.errors import AppError

        if isinstance(exc, AppError):
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
