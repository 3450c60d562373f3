"""LLM concurrency: 200 tickets against the scripted server at 1 s per call.

Usage: .venv/bin/python benchmarks/llm_concurrency.py [--quick] [--tickets N] [--workers N]
       [--latency S]

The scripted OpenAI-compatible server (tests/llm/scripted_server.py) runs as its own process,
answering every request after `--latency` seconds (streamed, with usage). The daemon runs
here: the mails are ingested from a Maildir, then `process_pending` moves them through the
whole pipeline (route: one triage call; draft: one call) with `[pipeline] workers` =
`[llm] max_concurrent_requests` = `--workers`. The baseline, measured in the same run, is the
ideal wall time `calls × latency / concurrency` for the calls the daemon actually made (one
usage row each). Compared with it: the LLM phase (first request's start to the end; the
pipeline threads, parses and screens the batch one message at a time before routing, which no
LLM concurrency can shorten — printed separately, and whole-run wall too). Also printed: the
daemon's own CPU per ticket (this process only; the server is elsewhere). Aim: the LLM phase
within 1.3× of the ideal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.app import build_services  # noqa: E402
from daemon.config import Settings, resolve_paths  # noqa: E402
from daemon.cycle import poll_all  # noqa: E402
from daemon.pipeline import process_pending  # noqa: E402
from daemon.tables import Message, Usage  # noqa: E402

QUESTIONS = (
    "How long does shipping to Austria usually take?",
    "The app crashes when I open the settings page, what can I do?",
    "Can I change the email address of my account?",
    "Do you offer gift wrapping for presents?",
)


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.llm.scripted_server", "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the scripted server did not start: {url!r}")
    return proc, url


def write_mails(inbox: Path, count: int) -> None:
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = f"Customer {i} <customer{i}@example.org>"
        msg["To"] = "support@example.com"
        msg["Subject"] = f"Question {i}"
        msg["Message-ID"] = f"<bench-{i}@example.org>"
        msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0000"
        msg.set_content(f"Hello,\n\n{QUESTIONS[i % len(QUESTIONS)]}\n\nThanks, customer {i}\n")
        (inbox / "new" / f"{i:05d}.bench.eml").write_bytes(msg.as_bytes())


def settings_for(base: Path, url: str, workers: int) -> Settings:
    data = {
        "state_dir": "state",
        "sources": [{"kind": "maildir", "name": "inbox", "path": "mail/inbox"}],
        "outbox": {"kind": "maildir", "path": "mail/outbox"},
        "pipeline": {"workers": workers},
        "llm": {
            "base_url": url,
            "max_concurrent_requests": workers,
            "timeout_seconds": 30,
            "stream_idle_seconds": 10,
        },
        "models": {"triage": {"model": "llama-3.3-70b", "tokenizer": "llama3"}},
        "screen": {"burst_messages": 100_000},
    }
    return resolve_paths(Settings(**data), base)  # type: ignore[arg-type]


def run(tickets: int, workers: int, latency: float) -> float:
    proc, url = start_server(latency)
    try:
        with tempfile.TemporaryDirectory(prefix="llm-bench-") as tmp:
            base = Path(tmp)
            write_mails(base / "mail" / "inbox", tickets)
            services = build_services(settings_for(base, url, workers))
            try:
                poll_all(services)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                process_pending(services)
                wall = time.perf_counter() - wall0
                cpu = time.process_time() - cpu0
                ended = datetime.now(UTC)
                with Session(services.engine) as session:
                    usage = session.exec(select(Usage)).all()
                    states = Counter(session.exec(select(Message.state)).all())
            finally:
                services.close()
    finally:
        proc.terminate()
        proc.wait(5)
    # The LLM phase: from the first request's start (its row's time minus its latency) to the end.
    first = min(u.at - timedelta(milliseconds=u.latency_ms) for u in usage)
    llm_wall = (ended - first.replace(tzinfo=UTC)).total_seconds()
    failed = sum(not u.ok for u in usage)
    return report(tickets, workers, latency, len(usage), failed, states, wall, llm_wall, cpu)


def report(
    tickets: int,
    workers: int,
    latency: float,
    calls: int,
    failed: int,
    states: Counter[str],
    wall: float,
    llm_wall: float,
    cpu: float,
) -> float:
    ideal = calls * latency / workers
    ratio = llm_wall / ideal if ideal else float("inf")
    cpus = os.cpu_count()
    print(f"tickets {tickets}, concurrency {workers}, {latency:g} s per call, {cpus} cpus")
    print(f"LLM calls: {calls} ({calls / tickets:.2f} per ticket, {failed} failed)")
    print(f"final states: {dict(states)}")
    print(f"ideal  calls x {latency:g} s / {workers}: {ideal:7.2f} s   1.00x")
    print(f"LLM phase (first call -> end): {llm_wall:7.2f} s   {ratio:.2f}x  (aim <= 1.30x)")
    print(
        f"whole run incl. parse+screen:  {wall:7.2f} s   {wall / ideal:.2f}x  "
        f"(parse/thread/screen run one message at a time before routing: "
        f"{wall - llm_wall:.2f} s)"
    )
    print(f"daemon CPU: {cpu:.2f} s in all, {cpu / tickets * 1000:.1f} ms per ticket")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 tickets")
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    tickets = 40 if args.quick else args.tickets
    ratio = run(tickets, args.workers, args.latency)
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
