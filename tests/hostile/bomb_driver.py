"""Runs one bomb in its own process and prints what happened as JSON (for tests/hostile).

`python -m tests.hostile.bomb_driver parse NAME`: parse the bomb, print the seconds taken, the
peak RSS and what the parse kept. Run as a subprocess so that the time and memory of one case
are measured alone, with generous bounds, never in the test process itself.
"""

from __future__ import annotations

import json
import resource
import sys
import time
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


def main(name: str) -> None:
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
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[2] if sys.argv[1] == "parse" else sys.argv[1])
