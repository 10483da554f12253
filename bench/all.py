"""One command: generate (if the data set is missing) -> serve -> measure -> print the table.

    .venv/bin/python -m bench.all                     # 10^6 relations, every operation, the peer
    .venv/bin/python -m bench.all --relations 20000 --duration 5    # a quick smoke run
    .venv/bin/python -m bench.all --rev HEAD          # measure the last commit, not the work tree

Extra arguments after `--` go to bench.run (e.g. `-- --ops Q2 --no-floor`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench import generate
from bench import run as driver
from bench.common import DEFAULT_DATA_DIR, DEFAULT_RELATIONS, say, state_path


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, passthrough = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(
        prog="python -m bench.all",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--relations", type=int, default=DEFAULT_RELATIONS)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--rev")
    p.add_argument("--regenerate", action="store_true")
    args = p.parse_args(argv)
    if args.regenerate or not state_path(args.data_dir, args.relations).exists():
        say(f"generating the data set ({args.relations} relations)")
        generate.main(["--relations", str(args.relations), "--data-dir", args.data_dir])
    run_argv = [
        "--relations",
        str(args.relations),
        "--data-dir",
        args.data_dir,
        "--duration",
        str(args.duration),
    ]
    if args.rev:
        run_argv += ["--rev", args.rev]
    asyncio.run(driver.run(driver.build_parser().parse_args(run_argv + passthrough)))


if __name__ == "__main__":
    main()
