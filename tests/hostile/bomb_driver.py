"""Runs one bomb in its own process and prints what happened as JSON (for tests/hostile).

    python -m tests.hostile.bomb_driver parse NAME        # parse the bomb
    python -m tests.hostile.bomb_driver run [--slow] ARGS  # `helpdeskd ARGS`, e.g. run --once

`parse` prints the seconds taken, the peak RSS and what the parse kept; `run` prints the peak
RSS and the CPU seconds of the whole command at its end. With `--slow` the parse stage takes
its time (a loop of short sleeps, printing `parsing slowly` once) on every message carrying an
`X-Slow` header: a stand-in for a parse stuck on hostile structure. Run as a subprocess so
that the time and memory of one case are measured alone, never in the test process itself.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

from daemon.mail.message import parse_bytes
from tests.hostile.bombs import BOMBS


def peak_rss_mib() -> float:
    """This process's peak RSS since its exec (VmHWM): `getrusage` would also count what the
    forking test process held, which Linux carries over into the child's maximum."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse(name: str) -> None:
    raw = BOMBS[name]()
    started = time.perf_counter()
    parsed = parse_bytes(raw)
    seconds = time.perf_counter() - started
    report = {
        "seconds": seconds,
        "rss_mib": peak_rss_mib(),
        "subject": parsed.subject,
        "text": parsed.text[:200],
        "text_chars": len(parsed.text),
        "attachments": [[a.content_type, a.size] for a in parsed.attachments],
        "defects": list(parsed.defects),
    }
    print(json.dumps(report), flush=True)


def slow_parse_stage(seconds: float = 120.0) -> None:
    """Make the parse step dawdle on `X-Slow` mail (at most `seconds`, then parse it)."""
    from daemon import pipeline
    from daemon.stages import parse as parse_stage
    from daemon.tables import State

    def dawdle(item, ctx):  # type: ignore[no-untyped-def]
        if b"X-Slow:" in item.raw:
            print("parsing slowly", flush=True)
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                time.sleep(0.01)
        return parse_stage.run(item, ctx)

    step = pipeline.STEPS[State.received]
    pipeline.STEPS[State.received] = replace(step, stages=(dawdle,))


def run(argv: list[str]) -> None:
    if argv[:1] == ["--slow"]:
        slow_parse_stage()
        argv = argv[1:]
    from daemon.cli import main as helpdeskd

    try:
        helpdeskd(argv, prog_name="helpdeskd", standalone_mode=False)
    finally:
        report = {"rss_mib": peak_rss_mib(), "cpu_seconds": cpu_seconds()}
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "parse":
        parse(sys.argv[2])
    else:
        run(sys.argv[2:])
