"""Crash and resume: a process killed at any point loses nothing and repeats nothing.

`helpdeskd run --once` runs as a subprocess (through tests/daemon/crash_driver.py) on a Maildir
of 40 varied messages and a SQLite state dir, and is SIGKILLed again and again at chosen
database points: during the very first migration, at random points all through polling and
the pipeline (inside steps, just before and just after commits), and on the outbox's own
statements (after a mail is marked `sending` but before it is written, after it is written
but before it is marked `sent`). Then it runs to the end, and once more to show that nothing is
left to do. The store and the Maildirs must then look exactly as after one clean run.

A message that makes a stage raise is retried `max_failures` times, then quarantined with its
error and raw bytes, and `helpdeskd status` shows it; the other messages go on.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.maildir import MaildirOutbox, unique_name
from daemon import pipeline
from daemon.app import build_services
from daemon.cli import main as helpdeskd
from daemon.cycle import run_cycle
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Outcome
from daemon.kernel.stage import Context
from daemon.stages import route
from daemon.store.engine import open_engine
from daemon.tables import (
    AuditEvent,
    Cursor,
    Draft,
    Escalation,
    Message,
    MessageContent,
    Outbox,
    Quarantine,
    State,
    Ticket,
)
from tests.daemon.sample_mail import cases, mailbox, write_maildir

REPO = Path(__file__).resolve().parents[2]
SEED = 20261127
MESSAGES = 40


def write_config(base: Path, **pipeline_keys: int) -> Path:
    """A config with absolute paths; escalations are mailed, so the outbox has work too."""
    lines = [
        f'state_dir = "{base / "state"}"',
        "[[sources]]",
        'kind = "maildir"',
        'name = "inbox"',
        f'path = "{base / "mail" / "inbox"}"',
        "[outbox]",
        'kind = "maildir"',
        f'path = "{base / "mail" / "outbox"}"',
        "[escalation]",
        'agents_address = "agents@example.com"',
        "[logging]",
        'level = "ERROR"',
        # the mailbox repeats one table's texts from many senders, which the identical-body
        # rule would rightly take for a campaign: not what these runs are about
        "[screen]",
        "identical_body_senders = 0",
        "[pipeline]",
        *(f"{key} = {value}" for key, value in pipeline_keys.items()),
    ]
    config = base / "helpdeskd.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def run_once(config: Path, kill_at: str) -> subprocess.CompletedProcess[str]:
    """`helpdeskd run --once`, SIGKILLed at database point `kill_at` ("0": never)."""
    cmd = [sys.executable, "-m", "tests.daemon.crash_driver", kill_at, "run", "--once"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*cmd, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=env,
        check=False,
    )


# Each outbox row is sent as: SELECT it, UPDATE to `sending` (commit), SELECT it, write it to the
# sink, SELECT it, UPDATE to `sent`. A restart first settles the rows left in `sending` (UPDATE to
# `queued` when the sink does not have the mail, to `sent` when it does).
OUTBOX_KILLS = [
    "3:select outbox.id, outbox.ticket_id",  # row 1 `sending` committed, nothing written yet
    "3:update outbox",  # row 1 requeued, marked `sending`, written; killed before `sent`
    "3:update outbox",  # row 1 found at the sink; row 2 written; killed before `sent`
    "1:update outbox",  # killed while settling row 2 (found at the sink by the next run)
]


def kill_schedule() -> list[str]:
    """Where the runs die: in the first migration, anywhere (seeded), then in the outbox."""
    rng = random.Random(SEED)
    anywhere = [str(rng.randint(25, 700)) for _ in range(3)]
    return ["8", *anywhere, *OUTBOX_KILLS]


@pytest.fixture(scope="module")
def crashed_then_finished(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, Engine, list[str]]]:
    """The state after the kills and the final runs (once for every test of this module)."""
    tmp_path = tmp_path_factory.mktemp("crash")
    messages = mailbox(MESSAGES)
    write_maildir(tmp_path / "mail" / "inbox", messages)
    config = write_config(tmp_path)
    killed = []
    started = time.monotonic()
    for kill_at in kill_schedule():
        done = run_once(config, kill_at)
        assert done.returncode in (0, -9), done.stdout + done.stderr
        if done.returncode == -9:
            killed.append(kill_at)
    for _ in range(2):  # to the end; then once more, which must find nothing to do
        done = run_once(config, "0")
        assert done.returncode == 0, done.stdout + done.stderr
    assert "0 new" in done.stdout and "processed 0 message(s)" in done.stdout, done.stdout
    took = time.monotonic() - started
    print(f"crash test: killed at {killed} of {kill_schedule()}; {took:.1f} s in all")
    engine = open_engine(f"sqlite:///{tmp_path / 'state' / 'helpdeskd.db'}", migrate=False)
    yield tmp_path, engine, killed
    engine.dispose()


@pytest.mark.slow
def test_runs_were_really_killed_at_most_points(
    crashed_then_finished: tuple[Path, Engine, list[str]],
) -> None:
    _base, _engine, killed = crashed_then_finished
    assert len(killed) >= len(kill_schedule()) - 2, killed
    assert "8" in killed  # the first migration was interrupted, and the next start recovered


@pytest.mark.slow
def test_no_message_lost_or_duplicated(
    crashed_then_finished: tuple[Path, Engine, list[str]],
) -> None:
    base, engine, _ = crashed_then_finished
    inbox = base / "mail" / "inbox"
    names = {name for name, _raw, _state in mailbox(MESSAGES)}
    assert list((inbox / "new").iterdir()) == []
    assert {unique_name(p.name) for p in (inbox / "cur").iterdir()} == names
    with Session(engine) as session:
        rows = session.exec(select(Message, MessageContent.raw).join(MessageContent)).all()
        cursor = session.get(Cursor, "inbox")
    assert sorted(r.source_key for r, _raw in rows) == sorted(names)  # one row each, none twice
    assert all(raw == (inbox / "cur" / f"{r.source_key}:2,").read_bytes() for r, raw in rows)
    assert cursor is not None and cursor.fetched_total == MESSAGES


@pytest.mark.slow
def test_every_message_reaches_its_final_state_once(
    crashed_then_finished: tuple[Path, Engine, list[str]],
) -> None:
    _base, engine, _ = crashed_then_finished
    expected = {name: state for name, _raw, state in mailbox(MESSAGES)}
    with Session(engine) as session:
        states = {r.source_key: r.state for r in session.exec(select(Message)).all()}
        leases = session.exec(select(Message).where(col(Message.lease_owner).is_not(None))).all()
    assert states == expected
    assert leases == []


@pytest.mark.slow
def test_audit_trail_records_each_transition_once(
    crashed_then_finished: tuple[Path, Engine, list[str]],
) -> None:
    """Killed steps left no trace: per message one `received`, then one unbroken chain."""
    _base, engine, _ = crashed_then_finished
    with Session(engine) as session:
        rows = {r.id: r for r in session.exec(select(Message)).all()}
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.kind).in_(["received", "transition"]))
            .order_by(col(AuditEvent.id))
        ).all()
    chains: dict[int, list[tuple[str | None, str | None]]] = {pk: [] for pk in rows if pk}
    for e in events:
        assert e.message_pk is not None
        chains[e.message_pk].append((e.from_state, e.to_state))
    for pk, chain in chains.items():
        assert chain[0] == (None, "received"), chain
        assert len(set(chain)) == len(chain), f"message {pk} repeated a transition: {chain}"
        for (_a, to), (frm, _b) in itertools.pairwise(chain):
            assert to == frm, f"message {pk}: broken chain {chain}"
        assert chain[-1][1] == rows[pk].state


@pytest.mark.slow
def test_drafts_escalations_and_outbox_exist_once(
    crashed_then_finished: tuple[Path, Engine, list[str]],
) -> None:
    base, engine, _ = crashed_then_finished
    with Session(engine) as session:
        states = {r.id: r.state for r in session.exec(select(Message)).all()}
        drafts = Counter(session.exec(select(Draft.message_pk)).all())
        escalations = session.exec(select(Escalation)).all()
        outbox = session.exec(select(Outbox)).all()
        tickets = session.exec(select(Ticket)).all()
        sent_audits = Counter(
            e.detail["message_id"]
            for e in session.exec(select(AuditEvent).where(AuditEvent.kind == "outbox_sent"))
        )
    answered = {pk for pk, s in states.items() if s != State.ignored}
    escalated = {pk for pk, s in states.items() if s == State.escalated}
    assert drafts == Counter(answered)  # exactly one draft per message that got one
    assert Counter(e.message_pk for e in escalations) == Counter(escalated)
    assert Counter(e.outbox_id for e in escalations) == Counter(o.id for o in outbox)
    assert {o.state for o in outbox} == {"sent"}
    recovered = [o for o in outbox if o.last_response == "found at the sink after a restart"]
    assert len(recovered) >= 2, (
        "no mail written before a kill was found at the sink: either it was sent again, or"
        " OUTBOX_KILLS no longer fall between the write and the `sent` update"
    )
    assert sent_audits == Counter(o.message_id for o in outbox)
    files = sorted(p.name for p in (base / "mail" / "outbox" / "new").iterdir())
    assert files == sorted(MaildirOutbox.filename(o.message_id) for o in outbox)
    replies = sum(name.endswith("thread-reply") for name, _r, _s in mailbox(MESSAGES))
    assert len(tickets) == len(answered) - replies  # a reply joins its thread, once


# --- a stage that keeps failing --------------------------------------------------------------

EXPLODING = b"".join(
    [
        b"From: Zed <zed@example.org>\r\nTo: support@example.com\r\n",
        b"Subject: EXPLODE the router\r\nMessage-ID: <boom@example.org>\r\n\r\n",
        b"Caf\xe9 \x00 bytes that must be kept exactly.\r\n",
    ]
)


def exploding_route(item: Item, ctx: Context) -> Item | Outcome:
    """The route stage, broken for one message (a fault injected by the test)."""
    if "EXPLODE" in item.mail.subject:
        raise RuntimeError("intent table unreadable (injected test fault)")
    return route.run(item, ctx)


@pytest.mark.parametrize(("max_failures", "max_crashes"), [(3, 8), (4, 2)])
def test_a_failing_stage_is_quarantined_with_its_error_and_shown_by_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_failures: int, max_crashes: int
) -> None:
    """Quarantined after exactly `max_failures` failed attempts (one per cycle), whatever
    `max_crashes` is: a stage that raised is not a process that died."""
    fine = cases()[:3]
    write_maildir(tmp_path / "mail" / "inbox", [*fine, ("zz-exploding", EXPLODING, "")])
    config = write_config(tmp_path, max_failures=max_failures, max_crashes=max_crashes)
    step = pipeline.STEPS[State.screened]
    stages = tuple(exploding_route if stage is route.run else stage for stage in step.stages)
    assert stages != step.stages
    broken = replace(step, stages=stages)
    monkeypatch.setitem(pipeline.STEPS, State.screened, broken)
    from daemon.config import load_settings

    services = build_services(load_settings(config))
    try:
        for cycle in range(1, max_failures + 1):
            run_cycle(services)
            with Session(services.engine) as session:
                row = session.exec(
                    select(Message).where(Message.source_key == "zz-exploding")
                ).one()
            expected = State.quarantined if cycle == max_failures else State.screened
            assert (row.state, cycle) == (expected, cycle), row.last_error
        with Session(services.engine) as session:
            others = session.exec(select(Message).where(Message.source_key != "zz-exploding")).all()
            raw = session.exec(
                select(MessageContent.raw).where(MessageContent.message_pk == row.id)
            ).one()
            quarantine = session.exec(select(Quarantine)).one()
    finally:
        services.close()
    assert {r.source_key: r.state for r in others} == {n: s for n, _r, s in fine}
    assert raw == EXPLODING
    assert (quarantine.message_pk, quarantine.stage) == (row.id, "route")
    assert quarantine.error == "RuntimeError: intent table unreadable (injected test fault)"
    assert "exploding_route" in quarantine.traceback
    assert_status_shows(config, row.id, quarantine.error)


def assert_status_shows(config: Path, pk: int | None, error: str) -> None:
    runner = CliRunner()
    text = runner.invoke(helpdeskd, ["status", "--config", str(config)], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "quarantined (1)" in text.output and "RuntimeError" in text.output, text.output
    as_json = runner.invoke(helpdeskd, ["status", "--config", str(config), "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert [(q["message"], q["stage"], q["error"]) for q in data["quarantined"]] == [
        (pk, "route", error)
    ]
    assert data["states"]["quarantined"] == 1
