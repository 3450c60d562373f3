"""Start-up time of the CLI commands that agents, cron jobs and monitoring call often.

Each command runs in a fresh interpreter against a small state directory (embedded defaults
plus a database already migrated), several rounds, best of; the figure is the ratio to
`python -c pass` measured in the same run, so a loaded or slow machine does not move it.

    PYTHONPATH=. .venv/bin/python benchmarks/startup.py [--rounds 7] [--compare OTHER_CHECKOUT]

`--compare` runs the same commands from another checkout (e.g. the main branch) in the same
run, alternating with this one, so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    ["--help"],
    ["status"],
    ["drafts", "list"],
    ["drafts", "list", "--json"],
    ["escalations", "list"],
    ["outbox", "list"],
    ["tickets", "list"],
    ["check-config"],
)


def best_of(argv: list[str], rounds: int, cwd: Path, root: Path = ROOT) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("HELPDESKD_CONFIG", None)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--compare", type=Path, help="another checkout to measure alongside")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 3
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        cli = [sys.executable, "-m", "daemon.cli"]
        best_of([*cli, "status"], 1, cwd)  # create and migrate the database once
        bases, ours, theirs = [], {}, {}
        for command in COMMANDS:  # the baseline again beside each command: load varies
            bases.append(best_of([sys.executable, "-c", "pass"], args.rounds, cwd))
            ours[" ".join(command)] = best_of([*cli, *command], args.rounds, cwd)
            if args.compare:
                other = args.compare.resolve()
                theirs[" ".join(command)] = best_of([*cli, *command], args.rounds, cwd, other)
        report(min(bases), ours, theirs, args)


def report(base: float, ours: dict[str, float], theirs: dict[str, float], args: Any) -> None:
    print(f"python -c pass: {base * 1000:.0f} ms (best of {args.rounds} x {len(ours)})")
    for name, t in ours.items():
        line = f"helpdeskd {name:<26} {t * 1000:6.0f} ms {t / base:6.1f}x pass"
        if name in theirs:
            other = theirs[name]
            line += f"   {args.compare.name}: {other * 1000:6.0f} ms {other / base:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
