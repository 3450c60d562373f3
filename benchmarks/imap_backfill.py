"""IMAP backfill: helpdeskd's whole ingest path against two baselines on the same mailbox.

Starts a private Dovecot (tests/peers/mail.py's configuration, as root with the vmail user),
fills one Maildir with N generated support mails of 10–50 KB (one in five with attachments),
then runs the phases, each in its own fresh process so its peak RSS is its own (for (c), the
main process's plus its parse workers', `[pipeline] parse_processes`: an upper bound, pages
they share counted twice):

  (a) bare      imapclient, debug formatting off, batched `FETCH BODY.PEEK[]` (100 a batch)
  (b) stdlib    (a) + `email.message_from_bytes(policy=default)` + plain body extraction
  (c0) record    `daemon.cli.backfill.run_backfill(screen=False)`: fetch -> record (the
                store's ingest, 50 rows per transaction with the cursor), for the breakdown
  (c1) in-process (c) with `parse_processes = 0`: one process does everything
  (c) helpdeskd `daemon.cli.backfill.run_backfill`: fetch -> record -> parse -> thread ->
                screen -> store, into a new SQLite state dir, parsing in
                `--parse-processes` workers (default 1, as the product's default)

and prints messages/second, the ratio (c)/(b) (aim >= 0.7) and each phase's peak RSS (aim
< 250 MB for (c), whatever N: nothing holds the mailbox in memory). (b) and (c) run
`--rounds` times, alternately, and the ratio is the median of each round's (c)/(b): on a
small, noisy machine one phase can be slowed by a neighbour and the other not.

    .venv/bin/python benchmarks/imap_backfill.py [--messages 10000 | --quick] [--seed 1]
        [--parse-processes 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = """order delivery parcel refund invoice account password login error update shipping
tracking please thanks hello question week days still nothing arrived help customer number
reference payment card bank transfer warehouse courier address""".split()  # noqa: SIM905


# -- the mailbox ----------------------------------------------------------------------------


def support_mail(rng: random.Random, n: int, to: str) -> bytes:
    """A 10–50 KB support mail; one in five carries one to three attachments."""
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <customer{n % 997}@shop.example>"
    msg["To"] = to
    msg["Subject"] = f"Order {100000 + n}: {' '.join(rng.choices(WORDS, k=5))}"
    msg["Date"] = format_datetime(_utc(n))
    msg["Message-ID"] = make_msgid(f"b{n}", domain="shop.example")
    target = rng.randint(10_000, 50_000)
    attachments = rng.randint(1, 3) if rng.random() < 0.2 else 0
    text_size = target // (attachments + 1)
    lines, size = [], 0
    while size < text_size:
        lines.append(" ".join(rng.choices(WORDS, k=12)) + "\n")
        size += len(lines[-1])
    msg.set_content("Hello,\n\n" + "".join(lines) + "\nThanks\n")
    for i in range(attachments):
        data = rng.randbytes((target - text_size) // attachments * 3 // 4)
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=f"scan-{i}.pdf")
    return msg.as_bytes().replace(b"\n", b"\r\n")


def _utc(n: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(1_700_000_000 + n * 60, UTC)


def fill_maildir(home: Path, count: int, seed: int, to: str, uid: int, gid: int) -> int:
    """Write the mails straight into Maildir/new (Dovecot indexes them at the first SELECT)."""
    new = home / "Maildir" / "new"
    for sub in ("new", "cur", "tmp"):
        (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    total = 0
    for n in range(count):
        raw = support_mail(rng, n, to)
        path = new / f"{1_700_000_000 + n}.M{n}P1.bench,S={len(raw)}"
        path.write_bytes(raw)
        os.chown(path, uid, gid)
        total += len(raw)
    for root, dirs, _files in os.walk(home):
        for d in (root, *(str(Path(root) / x) for x in dirs)):
            os.chown(d, uid, gid)
    return total


# -- the phases (each runs in a child process) ----------------------------------------------


def connect(port: int, user: str) -> Any:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=60)
    client._imap.debug = 0  # imapclient's debug formatting costs 6x (DEPENDENCIES.md)
    client.login(user, "secret")
    client.select_folder("INBOX", readonly=True)
    return client


def phase_fetch(port: int, user: str, parse: bool) -> int:
    import email
    import email.policy

    client = connect(port, user)
    uids = client.search(["ALL"])
    count = 0
    for start in range(0, len(uids), 100):
        data = client.fetch(uids[start : start + 100], ["BODY.PEEK[]"])
        for item in data.values():
            raw = item[b"BODY[]"]
            if parse:
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                body = msg.get_body(("plain",))  # type: ignore[attr-defined]
                _text = body.get_content() if body is not None else ""
            count += 1
    client.logout()
    return count


def phase_helpdeskd(
    port: int, user: str, state: str, screen: bool = True, processes: int = 1
) -> int:
    from daemon.app import build_services
    from daemon.cli.backfill import open_source, run_backfill
    from daemon.config import Settings

    settings = Settings(
        state_dir=Path(state),
        sources=[
            {
                "kind": "imap",
                "name": "bench",
                "host": "127.0.0.1",
                "port": port,
                "tls": "plain",
                "allow_plain": True,
                "username": user,
                "password_env": "BENCH_IMAP_PASSWORD",
            }
        ],
        screen={"burst_messages": 10**9, "replies_per_sender_per_hour": 10**9},
        pipeline={"parse_processes": processes},
        logging={"level": "WARNING"},
    )
    services = build_services(settings)
    gc.freeze()  # as the CLI's open_services does after start-up
    try:
        report = run_backfill(services, open_source(services, "bench"), screen=screen)
    finally:
        services.close()
    assert report.error is None, report.error
    return report.fetched


def run_phase(name: str, port: int, user: str, state: str, processes: int) -> dict[str, float]:
    """Run one phase in a fresh interpreter; its time, count and peak RSS (its own plus its
    workers')."""
    cmd = [sys.executable, __file__, "--phase", name, "--port", str(port), "--user", user]
    cmd += ["--parse-processes", str(processes)]
    env = {**os.environ, "BENCH_IMAP_PASSWORD": "secret", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([*cmd, "--state", state], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed ({proc.returncode})")
    result: dict[str, float] = json.loads(out)
    result["rss_mb"] = result.get("self_rss_mb", usage.ru_maxrss / 1024) + result.get(
        "workers_rss_mb", 0
    )
    return result


class FamilyRss(threading.Thread):
    """The RSS of this process and its children at the same moment, sampled every 10 ms: the
    memory the phase occupies at its worst moment (a per-process peak summed over processes
    overstates it when the peaks fall at different times)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak_mb = max(self.peak_mb, family_rss_mb())


def family_rss_mb() -> float:
    pids = [os.getpid()]
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(p) for p in (task / "children").read_text().split()]
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):  # IndexError: a zombie
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0])
    return total / 1024


def child(args: argparse.Namespace) -> None:
    sampler = FamilyRss()
    sampler.start()
    t0 = time.perf_counter()
    processes = args.parse_processes if args.phase == "helpdeskd" else 0
    if args.phase in ("record", "helpdeskd", "inprocess"):
        count = phase_helpdeskd(args.port, args.user, args.state, args.phase != "record", processes)
    else:
        count = phase_fetch(args.port, args.user, parse=args.phase == "stdlib")
    seconds = time.perf_counter() - t0
    sampler.done.set()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the largest waited-for child: the parse worker (each worker is as large as the others)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "count": count,
                "seconds": seconds,
                "self_rss_mb": own,
                "workers_rss_mb": workers * processes,
                "family_rss_mb": sampler.peak_mb,
            }
        )
    )


# -- main -----------------------------------------------------------------------------------


def start_dovecot(root: Path) -> Any:
    from tests.peers.mail import OAuthIntrospection, configure_dovecot

    if os.geteuid() != 0:
        raise SystemExit("run as root (Dovecot delivers as the vmail user): see PEERS.md")
    peer = configure_dovecot(root, OAuthIntrospection())
    peer.start()
    return peer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 messages instead")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--parse-processes", type=int, default=1, help="[pipeline] parse_processes for (c)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate runs of (b) and (c); median ratio"
    )
    for hidden in ("--phase", "--port", "--user", "--state"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        args.port = int(args.port)
        child(args)
        return
    if args.quick:
        args.messages = 1000
    with tempfile.TemporaryDirectory(prefix="helpdeskd-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "dovecot").mkdir()
        (root / "dovecot").chmod(0o755)
        peer = start_dovecot(root / "dovecot")
        try:
            user = "bench@example.test"
            uid, gid = (int(x) for x in _vmail_ids())
            t0 = time.perf_counter()
            size = fill_maildir(peer.root / "mail" / user, args.messages, args.seed, user, uid, gid)
            print(
                f"mailbox: {args.messages} messages, {size / 2**20:.0f} MB "
                f"(mean {size / args.messages / 1024:.1f} KB), written in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            phase_fetch(peer.imap_port, user, parse=False)  # Dovecot indexes the new mail

            def run(name: str, state: str) -> dict[str, float]:
                return run_phase(
                    name, peer.imap_port, user, str(root / state), args.parse_processes
                )

            results = {name: run(name, name) for name in ("bare", "record", "inprocess")}
            rounds = [
                (run("stdlib", f"stdlib{n}"), run("helpdeskd", f"helpdeskd{n}"))
                for n in range(max(args.rounds, 1))
            ]
        finally:
            peer.stop()
    report(results, rounds, args.messages)


def _vmail_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("vmail")
    return entry.pw_uid, entry.pw_gid


def rate(result: dict[str, float]) -> float:
    return result["count"] / result["seconds"]


def report(
    results: dict[str, dict[str, float]],
    rounds: list[tuple[dict[str, float], dict[str, float]]],
    expected: int,
) -> None:
    every = [*results.values(), *(r for pair in rounds for r in pair)]
    assert all(r["count"] == expected for r in every), [r["count"] for r in every]
    ratios = [rate(c) / rate(b) for b, c in rounds]
    ratio = statistics.median(ratios)
    base = statistics.median(rate(b) for b, _c in rounds)
    worst = max((c for _b, c in rounds), key=lambda c: c["rss_mb"])
    rows = {
        "bare": ("(a) imapclient FETCH BODY.PEEK[] x100", rate(results["bare"]), results["bare"]),
        "stdlib": ("(b) (a) + email.message_from_bytes + body", base, rounds[0][0]),
        "record": (
            "(c0) helpdeskd fetch + record only",
            rate(results["record"]),
            results["record"],
        ),
        "inprocess": (
            "(c1) (c) parsing in the main process",
            rate(results["inprocess"]),
            results["inprocess"],
        ),
        "helpdeskd": (
            "(c) helpdeskd backfill (record+parse+screen)",
            statistics.median(rate(c) for _b, c in rounds),
            worst,
        ),
    }
    print(f"{'phase':<42} {'msg/s':>8} {'ratio':>7} {'peak RSS':>10}")
    for name, (label, speed, r) in rows.items():
        relative = ratio if name == "helpdeskd" else speed / base  # (c): the rounds' median
        print(f"{label:<42} {speed:8.0f} {relative:6.2f}x {r['rss_mb']:8.0f} MB")
    print(
        f"(b) and (c): medians of {len(rounds)} alternate rounds; by round (b) / (c) msg/s: "
        + ", ".join(f"{rate(b):.0f} / {rate(c):.0f} = {rate(c) / rate(b):.2f}x" for b, c in rounds)
    )
    rss, family = worst["rss_mb"], max(c["family_rss_mb"] for _b, c in rounds)
    print(
        f"(c) peak RSS (largest round): main process {worst['self_rss_mb']:.0f} MB + parse "
        f"workers {worst['workers_rss_mb']:.0f} MB (each at its own peak); together at the same "
        f"moment (sampled every 10 ms): {family:.0f} MB"
    )
    print(
        f"aim: (c) >= 0.7x (b): {'met' if ratio >= 0.7 else 'NOT met'} ({ratio:.2f}x, median); "
        f"(c) peak RSS < 250 MB: {'met' if rss < 250 else 'NOT met'} by the sum of peaks "
        f"({rss:.0f} MB), {'met' if family < 250 else 'NOT met'} sampled ({family:.0f} MB)"
    )


if __name__ == "__main__":
    main()
