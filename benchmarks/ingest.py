"""Ingest speed: messages per second through parse → thread → screen → store, against the stdlib.

The pipeline side is the real one: each message is stored by `daemon.store.ingest` in a
temporary SQLite state dir (WAL, the schema's indexes), then moved by `daemon.pipeline.run_step`
through the parse step and the thread+screen step, each a committed transaction with its audit
row. The baseline, on the same messages in the same run, is what the issue names:
`email.message_from_bytes(raw, policy=email.policy.default)` plus body extraction
(`get_body(("plain", "html")).get_content()`). Both are also run as bare parsers (our
`parse_bytes` vs the baseline) so the cost of the store is visible. Prints messages/second and
the ratios; aim: pipeline ≥ 0.6× the baseline.

Usage: .venv/bin/python benchmarks/ingest.py [--quick] [--messages N]
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import importlib.util
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.maildir import MaildirSource  # noqa: E402
from daemon.app import build_services  # noqa: E402
from daemon.config import Settings, resolve_paths  # noqa: E402
from daemon.cycle import poll_source  # noqa: E402
from daemon.mail.message import parse_bytes  # noqa: E402
from daemon.pipeline import BATCH, pending_rows, run_threading  # noqa: E402
from daemon.store.engine import session_scope  # noqa: E402

CORPUS = Path(os.environ.get("HELPDESKD_CORPUS", ROOT.parent / "shared" / "corpus"))
WORDS = [
    *[
        "order",
        "refund",
        "parcel",
        "delivery",
        "invoice",
        "account",
        "password",
        "broken",
        "screen",
        "battery",
    ],
    *[
        "please",
        "thanks",
        "week",
        "since",
        "paid",
        "charged",
        "twice",
        "cancel",
        "subscription",
        "address",
    ],
    *[
        "bestellung",
        "rückerstattung",
        "paket",
        "rechnung",
        "konto",
        "bitte",
        "danke",
        "commande",
        "colis",
    ],
]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generated(count: int, seed: int = 7) -> list[bytes]:
    """Support mail of the usual shapes: plain, HTML alternative, quoted replies, attachments."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        msg = EmailMessage()
        msg["From"] = f"Customer {index} <customer{index}@example.com>"
        msg["To"] = "support@shop.example"
        msg["Subject"] = f"Re: order {1000 + index} " + sentence(rng, 3)
        msg["Message-ID"] = f"<gen{index}@example.com>"
        msg["Date"] = "Mon, 01 Jan 2024 10:00:00 +0100"
        body = "\n\n".join(sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(1, 6)))
        if index % 3 == 0:
            quoted = "\n".join("> " + sentence(rng, 12) for _ in range(rng.randint(5, 40)))
            header = "On Sun, Dec 31, 2023 at 9:00 AM Shop wrote:"
            body += f"\n\nThanks,\nCustomer\n\n{header}\n{quoted}"
        msg.set_content(body)
        if index % 2 == 0:
            paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if index % 5 == 0:
            data = rng.randbytes(rng.choice((2_000, 20_000, 60_000)))
            msg.add_attachment(data, maintype="application", subtype="pdf", filename="a.pdf")
        out.append(msg.as_bytes())
    return out


def corpus_messages() -> list[bytes]:
    """Real mail from ../shared/corpus (Zammad, spamscope, talon's client samples), if there."""
    if not (CORPUS / "load.py").is_file():
        return []
    spec = importlib.util.spec_from_file_location("corpus_load", CORPUS / "load.py")
    assert spec is not None and spec.loader is not None
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    sets = {"zammad", "spamscope_mail_parser", "zammad_autoresponse"}
    cases = load.iter_cases(str(CORPUS), datasets=sets, include_unlabeled=True)
    return [raw for raw, _ in cases]


def baseline(raw: bytes) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain", "html"))
    if body is not None:
        # the stdlib's own failure on a broken body is still a measured message
        with contextlib.suppress(LookupError, ValueError, AssertionError):
            body.get_content()


def rate(fn: Callable[[bytes], object], messages: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in messages:
        fn(raw)
    return len(messages) / (time.perf_counter() - started)


def pipeline_rate(messages: list[bytes]) -> float:
    """parse → thread → screen → store through the real store and pipeline steps."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for sub in ("new", "cur", "tmp"):
            (base / "mail" / "inbox" / sub).mkdir(parents=True)
        settings = resolve_paths(
            Settings(
                state_dir="state",
                sources=[{"kind": "maildir", "name": "inbox", "path": "mail/inbox"}],
                outbox={"kind": "maildir", "path": "mail/outbox"},
            ),
            base,
        )
        services = build_services(settings)
        source = MaildirSource("inbox", base / "mail" / "inbox")
        try:
            started = time.perf_counter()
            # What `run` does: the Maildir poll (rows committed in batches, then acked), then
            # the serial parse and thread+screen steps, a batch per transaction.
            for index, raw in enumerate(messages):
                (base / "mail" / "inbox" / "new" / f"{index:06d}.eml").write_bytes(raw)
            written = time.perf_counter()
            poll_source(services, source)
            with session_scope(services.engine) as session:
                pks = [pk for pk, _state in pending_rows(session)]
            for start in range(0, len(pks), BATCH):
                run_threading(services, pks[start : start + BATCH], "bench")
            return len(messages) / (time.perf_counter() - started - (written - started))
        finally:
            services.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 messages instead of 3,000")
    parser.add_argument("--messages", type=int, default=None, help="generated messages")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (best kept)")
    args = parser.parse_args()
    count = args.messages or (300 if args.quick else 3000)
    real = corpus_messages()
    messages = generated(count) + real
    random.Random(1).shuffle(messages)
    size = sum(map(len, messages)) / len(messages) / 1024
    print(f"{len(messages)} messages ({count} generated, {len(real)} corpus), mean {size:.1f} KB")
    parse_bytes(messages[0])  # load the language model once, outside the timings
    # The machine is shared and noisy: the three measurements take turns, and each keeps its
    # best round, so a burst of load elsewhere does not land on one side of the ratio only.
    best = {"base": 0.0, "ours": 0.0, "full": 0.0}
    for _ in range(max(args.rounds, 1)):
        best["base"] = max(best["base"], rate(baseline, messages))
        best["ours"] = max(best["ours"], rate(parse_bytes, messages))
        best["full"] = max(best["full"], pipeline_rate(messages))
    base, ours, full = best["base"], best["ours"], best["full"]
    print(f"best of {args.rounds} interleaved rounds")
    print(f"stdlib policy.default + body      {base:8.1f} msg/s  (baseline)")
    print(f"parse_bytes alone                 {ours:8.1f} msg/s  {ours / base:5.2f}x")
    print(f"parse → thread → screen → store   {full:8.1f} msg/s  {full / base:5.2f}x  (aim ≥ 0.6x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
