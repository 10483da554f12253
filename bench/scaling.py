"""Scaling curve: Q1 and M2 latency at 10^4, 10^5, 10^6 (and 10^7) relations, same record counts.

    .venv/bin/python -m bench.scaling                       # 10^4, 10^5, 10^6
    .venv/bin/python -m bench.scaling --sizes 10000000      # the 10^7 point alone (long load)
    .venv/bin/python -m bench.scaling --sizes 10000,100000,1000000,10000000

Data sets that do not exist yet are generated first (bench.generate). Each size lives in its own
database, so a size's indexes hold only its own relations. Results accumulate in
<data dir>/scaling.json, so the 10^7 point can be added by a later, separate command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bench import generate
from bench import run as driver
from bench.common import DEFAULT_DATA_DIR, say, state_path


def table(points: dict[str, Any]) -> str:
    lines = [
        "| relations | Q1 p50 ms (1 client) | Q1 p99 ms (1 client) | Q1 p50 ms (16)"
        " | Q1 p99 ms (16)"
        " | M2 p50 ms (16) | M2 p99 ms (16) | M2 req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in sorted(points, key=int):
        by = {(r["name"], r["concurrency"]): r for r in points[size]["results"]}
        q1a, q1 = by.get(("Q1", 1), {}), by.get(("Q1", 16), {})
        m2 = by.get(("M2", 16), {})

        def f(r: dict[str, Any], k: str) -> str:
            return f"{r[k]:.1f}" if r else "-"

        lines.append(
            f"| {int(size):,} | {f(q1a, 'p50')} | {f(q1a, 'p99')} | {f(q1, 'p50')} | {f(q1, 'p99')}"
            f" | {f(m2, 'p50')} | {f(m2, 'p99')} | {f(m2, 'rps')} |"
        )
    sizes = sorted(points, key=int)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for name, conc in (("Q1", 1), ("Q1", 16), ("M2", 16)):
            a = next(
                (
                    r
                    for r in points[lo]["results"]
                    if r["name"] == name and r["concurrency"] == conc
                ),
                None,
            )
            b = next(
                (
                    r
                    for r in points[hi]["results"]
                    if r["name"] == name and r["concurrency"] == conc
                ),
                None,
            )
            if a and b:
                lines.append(
                    f"\n{name} ({conc} clients) p50 at {int(hi):,} / at {int(lo):,}:"
                    f" {b['p50'] / a['p50']:.2f}x (target <= 1.5x)"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--rev", help="serve this git revision instead of the work tree")
    p.add_argument("--regenerate", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.data_dir) / "scaling.json"
    points: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        if args.regenerate or not state_path(args.data_dir, size).exists():
            say(f"generating {size} relations")
            t0 = time.monotonic()
            generate.main(["--relations", str(size), "--data-dir", args.data_dir])
            say(f"generated {size} relations in {time.monotonic() - t0:.0f}s")
        run_args = [
            "--relations",
            str(size),
            "--data-dir",
            args.data_dir,
            "--ops",
            "Q1,M2",
            "--no-peer",
            "--no-floor",
            "--duration",
            str(args.duration),
        ]
        if args.rev:
            run_args += ["--rev", args.rev]
        report = asyncio.run(driver.run(driver.build_parser().parse_args(run_args)))
        points[str(size)] = report
        out.write_text(json.dumps(points, indent=1))
    print(table(points))


if __name__ == "__main__":
    main()
