"""Faults on real servers, each ending with 0 lost and 0 duplicate messages or replies.

Dovecot and aiosmtpd are real (tests/peers/mail.py); the faults are real too: SIGKILL of the
daemon process, `doveadm kick`, a Dovecot restart, `doveadm mailbox update --uid-validity`,
an SMTP server that is down, answers 451 or 550, another client reading everything, and mail
no parser likes. Replies exist only once an agent approved the held drafts (the offline
drafter always holds), which the tests do with `daemon.approvals.approve` between cycles.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlmodel import col, func, select

from connectors.base import OutboundMail
from connectors.imap import ImapMailbox
from daemon.app import Services, build_services
from daemon.approvals import approve
from daemon.cli import main
from daemon.config import ImapSource, load_settings
from daemon.cycle import poll_source, run_cycle
from daemon.imap_idle import IdleWatcher, backoff_delay
from daemon.metrics import REGISTRY
from daemon.outbox import flush_outbox
from daemon.pipeline import process_pending
from daemon.source_alerts import check_alerts
from daemon.store.engine import session_scope
from daemon.tables import (
    TERMINAL,
    Draft,
    Escalation,
    Message,
    MessageParse,
    Outbox,
    State,
    utcnow,
)
from tests.peers.common import free_port
from tests.peers.mail import Dovecot, SmtpPeer, customer_mail, daemon_config

pytestmark = [pytest.mark.peers, pytest.mark.usefixtures("smtp_password")]
log = logging.getLogger("tests.faults")


# -- helpers ------------------------------------------------------------------------------


def open_services(config: Path) -> Services:
    return build_services(load_settings(config))


def the_source(services: Services, cls: type[ImapMailbox] = ImapMailbox) -> ImapMailbox:
    cfg = services.settings.sources[0]
    assert isinstance(cfg, ImapSource)
    return cls(cfg)


def poll(services: Services, source: ImapMailbox | None = None) -> tuple[int, str | None]:
    source = source or the_source(services)
    try:
        report = poll_source(services, source)
    finally:
        source.close()
    return report.fetched, report.error


def poll_until_quiet(services: Services, *, attempts: int = 30) -> list[str]:
    """Poll until a poll succeeds with nothing new; return the errors seen on the way."""
    errors = []
    for _ in range(attempts):
        fetched, error = poll(services)
        if error:
            errors.append(error)
            time.sleep(0.5)
        elif fetched == 0:
            return errors
    raise AssertionError(f"the mailbox never settled: {errors[-3:]}")


def approve_all(services: Services) -> int:
    with session_scope(services.engine) as session:
        drafts = session.exec(select(Draft.id).where(Draft.status == "pending")).all()
    for draft_id in drafts:
        assert draft_id is not None
        approve(services, draft_id, actor="agent@example.test")
    return len(drafts)


def make_due(services: Services) -> None:
    """Let the outbox's backoff pass (the tests do not wait 30 s)."""
    with session_scope(services.engine) as session:
        session.execute(
            update(Outbox).where(col(Outbox.state) == "queued").values(next_attempt_at=utcnow())
        )


def recorded(services: Services) -> list[tuple[str, str | None, str]]:
    with session_scope(services.engine) as session:
        rows = session.exec(select(Message.source_key, Message.message_id, Message.state))
        return [(k, m, s) for k, m, s in rows]


def assert_each_once(services: Services, sent_ids: list[str]) -> None:
    """Every delivered message is recorded exactly once."""
    rows = recorded(services)
    ids = Counter(m for _, m, _ in rows)
    assert Counter(ids.keys()) == Counter(sent_ids), "lost or unexpected messages"
    assert max(ids.values()) == 1, [m for m, n in ids.items() if n > 1]


def replies_by_question(dovecot: Dovecot, customer: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for raw in dovecot.messages(customer):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        counts[str(msg["In-Reply-To"]).strip().strip("<>")] += 1
    return counts


def seed_questions(
    dovecot: Dovecot, support: str, customer: str, count: int, **kw: Any
) -> list[str]:
    raws = [customer_mail(customer, support, n, **kw) for n in range(count)]
    dovecot.append(support, raws)
    return [
        str(email.message_from_bytes(r, policy=email.policy.default)["Message-ID"])
        .strip()
        .strip("<>")
        for r in raws
    ]


@pytest.fixture
def mail_setup(tmp_path: Path, dovecot: Dovecot, smtp_peer: SmtpPeer) -> Iterator[dict[str, Any]]:
    support, customer = dovecot.new_user("support"), dovecot.new_user("customer")
    config = daemon_config(tmp_path, dovecot, smtp_peer, support)
    services = open_services(config)
    yield {"support": support, "customer": customer, "config": config, "services": services}
    services.close()


# -- SIGKILL at random points -------------------------------------------------------------


def run_once_in_child(config: Path) -> None:
    """The daemon's `run --once` in a forked process (no interpreter start-up to wait for)."""
    logging.disable(logging.WARNING)
    services = open_services(config)
    run_cycle(services)
    services.close()
    os._exit(0)


def resolve_unknown(services: Services, dovecot: Dovecot, customer: str) -> int:
    """What an operator does with an `unknown` row (killed inside the SMTP transaction): look
    in the recipient's mailbox, then mark it sent or queue it again."""
    arrived = {
        str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]).strip("<>")
        for raw in dovecot.messages(customer)
    }
    with session_scope(services.engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.state == "unknown")).all()
        for row in rows:
            row.state = "sent" if row.message_id in arrived else "queued"
            session.add(row)
        return len(rows)


def phase_of(services: Services, expected: int) -> str:
    """The part of the work still to do, judged by what was committed."""
    with session_scope(services.engine) as session:
        states = Counter(session.exec(select(Message.state)).all())
        outbox = Counter(session.exec(select(Outbox.state)).all())
    if sum(states.values()) < expected:
        return "poll"
    if any(s not in (*TERMINAL, State.awaiting_approval) for s in states):
        return "pipeline"
    return "outbox" if set(outbox) - {"sent"} else "done"


def all_done(services: Services) -> bool:
    finished = [s.value for s in TERMINAL]
    with session_scope(services.engine) as session:
        open_messages = session.exec(
            select(func.count()).select_from(Message).where(col(Message.state).not_in(finished))
        ).one()
        open_mail = session.exec(
            select(func.count()).select_from(Outbox).where(col(Outbox.state) != "sent")
        ).one()
    return open_messages == 0 and open_mail == 0


# Runs are killed at a random point (after 0.2-0.7 s: start-up takes about 0.2) until each part
# of the work has seen this many kills; then a run may finish that part.
KILLS_PER_PHASE = {"poll": 4, "pipeline": 16, "outbox": 12, "done": 0}


@pytest.mark.slow
def test_sigkill_at_random_points(
    mail_setup: dict[str, Any], dovecot: Dovecot, smtp_peer: SmtpPeer
) -> None:
    support, customer = mail_setup["support"], mail_setup["customer"]
    mail_setup["services"].close()
    # Kills every second land on the oldest pending messages again and again: far more
    # deaths on one message than the poison-mail guard (max_crashes) allows in real life.
    config = daemon_config(
        mail_setup["config"].parent, dovecot, smtp_peer, support, pipeline="max_crashes = 1000"
    )
    questions = seed_questions(dovecot, support, customer, 150)
    rng = random.Random(int(os.environ.get("HELPDESKD_FAULT_SEED", "3")))
    fork = multiprocessing.get_context("fork")
    kills = runs = unknown = 0
    phases: Counter[str] = Counter()  # kills per part of the work that was left
    phase = "poll"
    while True:
        runs += 1
        assert runs < 120, f"not done after {runs} runs ({kills} kills)"
        child = fork.Process(target=run_once_in_child, args=(config,))
        child.start()
        if phases[phase] < KILLS_PER_PHASE[phase]:
            # the outbox drains in well under a second once the pipeline is done: kill sooner
            child.join(rng.uniform(0.02, 0.25) if phase == "outbox" else rng.uniform(0.05, 0.6))
            if child.is_alive():
                child.kill()  # SIGKILL
                phases[phase] += 1
                kills += 1
        child.join(120)
        assert child.exitcode in (0, -9), child.exitcode
        services = open_services(config)
        try:
            approve_all(services)
            unknown += resolve_unknown(services, dovecot, customer)
            make_due(services)
            phase = phase_of(services, len(questions))
            if child.exitcode == 0 and phase == "done":
                assert_each_once(services, questions)
                states = Counter(s for _, _, s in recorded(services))
                break
        finally:
            services.close()
    replies = replies_by_question(dovecot, customer)
    print(
        f"\nSIGKILL test: {runs} runs, {kills} kills ({dict(phases)}), "
        f"{unknown} unknown row(s) resolved"
    )
    assert states == {"sent": len(questions)}, states
    assert kills >= 20 and phases["pipeline"] >= 5 and phases["outbox"] >= 5, phases
    assert sorted(replies) == sorted(questions), "a question got no reply"
    assert max(replies.values()) == 1, "a question got two replies"


# -- the IMAP server going away ---------------------------------------------------------


class FaultOnFetch(ImapMailbox):
    """Starts `fault` in a thread while the `at`-th body FETCH is on the wire."""

    fault: Callable[[], None] = staticmethod(lambda: None)
    at = 3
    calls = 0

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes | None]:
        type(self).calls += 1
        if type(self).calls == self.at:
            threading.Thread(target=self.fault, daemon=True).start()
            time.sleep(0.005)
        return super().fetch_bodies(uids)


FAULTS = {
    "kick": lambda d: d.kick(),
    "restart": lambda d: d.restart(),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_server_lost_in_the_middle_of_a_batch_fetch(
    mail_setup: dict[str, Any], dovecot: Dovecot, fault: str
) -> None:
    services = mail_setup["services"]
    support, customer = mail_setup["support"], mail_setup["customer"]
    questions = seed_questions(dovecot, support, customer, 160, size=30_000)

    class Faulty(FaultOnFetch):
        pass

    Faulty.fault = staticmethod(lambda: FAULTS[fault](dovecot))
    source = the_source(services, Faulty)
    source.cfg = source.cfg.model_copy(update={"batch_size": 30})
    fetched, error = poll(services, source)
    assert error is not None and 0 < fetched < 160, (fetched, error)
    poll_until_quiet(services)
    assert_each_once(services, questions)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_server_lost_during_idle(mail_setup: dict[str, Any], dovecot: Dovecot, fault: str) -> None:
    services, support = mail_setup["services"], mail_setup["support"]
    cfg = services.settings.sources[0]
    assert isinstance(cfg, ImapSource)
    woke: list[float] = []
    stop = threading.Event()
    watcher = IdleWatcher(cfg, lambda _name: woke.append(time.monotonic()), stop)
    watcher.start()
    try:
        time.sleep(1.0)  # in IDLE by now
        FAULTS[fault](dovecot)
        deadline = time.monotonic() + 20
        while not watcher.failures and not woke and time.monotonic() < deadline:
            time.sleep(0.05)
        questions = seed_questions(dovecot, support, mail_setup["customer"], 1)
        delivered = time.monotonic()
        while not [t for t in woke if t > delivered] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [t for t in woke if t > delivered], "IDLE never saw the mail after the fault"
    finally:
        stop.set()
        watcher.join(15)
    assert not watcher.is_alive()
    poll_until_quiet(services)
    assert_each_once(services, questions)


# -- UIDVALIDITY --------------------------------------------------------------------------


def test_uidvalidity_change_resyncs_without_duplicates(
    mail_setup: dict[str, Any], dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    services, support = mail_setup["services"], mail_setup["support"]
    questions = seed_questions(dovecot, support, mail_setup["customer"], 5)
    assert poll(services) == (5, None)
    process_pending(services)  # some parsed, as they would be
    dovecot.set_uidvalidity(support, 4242)
    caplog.set_level(logging.INFO)
    assert poll(services) == (0, None)
    assert "UIDVALIDITY of INBOX changed" in caplog.text and "to 4242" in caplog.text
    more = seed_questions(dovecot, support, mail_setup["customer"], 1)
    assert poll(services) == (1, None)
    assert_each_once(services, questions + more)
    keys = sorted(k for k, _, _ in recorded(services))
    assert keys[-1].startswith("4242:")


# -- another client reads everything first ------------------------------------------------


def test_seen_by_another_client_before_the_poll(
    mail_setup: dict[str, Any], dovecot: Dovecot
) -> None:
    services, support = mail_setup["services"], mail_setup["support"]
    questions = seed_questions(dovecot, support, mail_setup["customer"], 10)
    other = dovecot.client(support)
    other.add_flags(other.search(["ALL"]), [b"\\Seen"])
    other.logout()
    assert poll(services) == (10, None)
    assert_each_once(services, questions)


# -- SMTP faults through the outbox --------------------------------------------------------


def queue_one_reply(services: Services, dovecot: Dovecot, support: str, customer: str) -> str:
    seed_questions(dovecot, support, customer, 1)
    poll(services)
    process_pending(services)
    assert approve_all(services) == 1
    with session_scope(services.engine) as session:
        return session.exec(select(Outbox.message_id)).one()


def outbox_state(services: Services) -> str:
    with session_scope(services.engine) as session:
        return session.exec(select(Outbox.state)).one()


SMTP_FAULTS = [
    # (what happens at the first flush, first report, final state, replies delivered)
    ("down", "retried", "sent", 1),
    ("451", "retried", "sent", 1),
    ("550", "failed", "failed", 0),
]


@pytest.mark.parametrize(("fault", "first", "final", "delivered"), SMTP_FAULTS)
def test_smtp_faults(
    mail_setup: dict[str, Any],
    dovecot: Dovecot,
    smtp_peer: SmtpPeer,
    fault: str,
    first: str,
    final: str,
    delivered: int,
) -> None:
    services, support, customer = (mail_setup[k] for k in ("services", "support", "customer"))
    queue_one_reply(services, dovecot, support, customer)
    if fault == "down":
        smtp_peer.stop()
    else:
        smtp_peer.script = [f"{fault} {fault[0]}.0.0 scripted answer"]
    report = flush_outbox(services.engine, services.sink)
    assert getattr(report, first) == 1, report
    if fault == "down":
        smtp_peer.start()
    make_due(services)
    flush_outbox(services.engine, services.sink)
    flush_outbox(services.engine, services.sink)  # and once more: nothing sent twice
    assert outbox_state(services) == final
    assert len(dovecot.messages(customer)) == delivered
    assert len(dovecot.messages(support, "Sent")) == delivered
    if final == "failed":
        with session_scope(services.engine) as session:
            escalation = session.exec(select(Escalation)).one()
        assert "delivery failed permanently" in escalation.reason


SENDING_CASES = [
    # (what the Sent folder shows for a row a crash left `sending`, outcome, replies at the end)
    ("confirmed", "sent", 1),  # the 250 came and was recorded in Sent: never resent
    ("nothing", "sent", 1),  # never staged: sent now, once
    ("pending", "unknown", 0),  # died inside the SMTP transaction: an operator decides
]


@pytest.mark.parametrize(("copy", "outcome", "replies"), SENDING_CASES)
def test_row_left_sending_is_checked_before_any_resend(
    mail_setup: dict[str, Any], dovecot: Dovecot, copy: str, outcome: str, replies: int
) -> None:
    services, support, customer = (mail_setup[k] for k in ("services", "support", "customer"))
    message_id = queue_one_reply(services, dovecot, support, customer)
    sink = services.sink
    with session_scope(services.engine) as session:
        row = session.exec(select(Outbox)).one()
        raw = row.raw
        if copy == "confirmed":
            sink.send(outbound_of(row))  # delivered, then the process died
        row.state, row.owner = "sending", "gone-host:1"
        row.next_attempt_at = utcnow() - timedelta(hours=1)
        session.add(row)
    if copy == "pending":
        sink.sent.stage(message_id, raw)
    flush_outbox(services.engine, sink)
    flush_outbox(services.engine, sink)
    assert outbox_state(services) == outcome
    assert len(dovecot.messages(customer)) == replies


def outbound_of(row: Outbox) -> OutboundMail:
    return OutboundMail(row.message_id, row.sender, tuple(row.recipients), row.raw)


# -- mail nobody likes --------------------------------------------------------------------


def huge_mail(to: str, megabytes: int) -> bytes:
    payload = base64.encodebytes(os.urandom(megabytes * 1024 * 1024 * 3 // 4))
    head = (
        f"From: Big Sender <big@shop.test>\r\nTo: {to}\r\nSubject: the whole archive\r\n"
        "Message-ID: <huge@shop.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n"
        "Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="archive.zip"\r\n\r\n'
    )
    return head.encode() + payload.replace(b"\n", b"\r\n") + b"\r\n--b--\r\n"


@pytest.mark.slow
def test_huge_many_attachments_and_malformed_mail_never_block(
    mail_setup: dict[str, Any], dovecot: Dovecot, corpus_dir: Path
) -> None:
    services, support, customer = (mail_setup[k] for k in ("services", "support", "customer"))
    malformed = sorted((corpus_dir / "spamscope_mail_parser").glob("*.eml"))
    assert malformed, "no spamscope_mail_parser files in the corpus"
    raws = [
        huge_mail(support, 30),
        customer_mail(customer, support, 1, attachments=200),
        *(p.read_bytes() for p in malformed),
        customer_mail(customer, support, 2),  # must not be stuck behind the others
    ]
    dovecot.append(support, raws)
    assert poll(services) == (len(raws), None)
    process_pending(services)
    rows = recorded(services)
    assert len(rows) == len(raws) and len({k for k, _, _ in rows}) == len(raws)
    with session_scope(services.engine) as session:
        by_key = {m.source_key.split(":")[1]: m for m in session.exec(select(Message))}
        parsed = {
            m.source_key.split(":")[1]: p
            for m, p in session.exec(select(Message, MessageParse.parsed).join(MessageParse))
        }
    huge, last = by_key["1"], by_key[str(len(raws))]
    assert huge.stub and huge.state == State.escalated and huge.size < 10_000
    assert len(parsed["2"]["attachments"]) == 200  # the message with 200 attachments
    assert last.state == State.awaiting_approval
    stuck = [
        m.source_key for m in by_key.values() if m.state not in (*TERMINAL, "awaiting_approval")
    ]
    assert stuck == []
    print(
        f"\nrecorded and settled: {len(malformed)} malformed corpus files, 30 MB, 200 attachments"
    )


# -- a mailbox that keeps failing -----------------------------------------------------------


def test_a_mailbox_failing_too_long_raises_an_alert(
    mail_setup: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = mail_setup["config"]
    settings = load_settings(config)
    good = settings.sources[0]
    broken = good.model_copy(update={"port": free_port(), "alert_after": 0})
    services = build_services(settings.model_copy(update={"sources": (broken,)}))
    try:
        assert poll(services)[1] is not None  # connection refused
        time.sleep(0.01)
        caplog.set_level(logging.ERROR, "helpdeskd.watch")
        assert check_alerts(services) == ["support"]
        assert poll(services)[1] is not None
        assert check_alerts(services) == ["support"]
    finally:
        services.close()
    assert REGISTRY.get_sample_value("helpdeskd_source_failing", {"source": "support"}) == 1
    assert len([r for r in caplog.records if "ALERT" in r.getMessage()]) == 1  # logged once
    status = CliRunner().invoke(main, ["status", "--json", "--config", str(config)])
    source = json.loads(status.stdout)["sources"][0]  # logs go to stderr
    assert source["error"].startswith("ALERT") and source["failing_since"]
    services = mail_setup["services"]  # the right port again: the alert clears
    assert poll(services) == (0, None)
    assert check_alerts(services) == []
    assert REGISTRY.get_sample_value("helpdeskd_source_failing", {"source": "support"}) == 0


BACKOFF = [
    # (failures so far, random draw, seconds to wait)
    (0, 0.0, 0.5),
    (0, 1.0, 1.0),
    (3, 1.0, 8.0),
    (3, 0.0, 4.0),
    (20, 1.0, 300.0),  # capped
    (1000, 0.0, 150.0),
]


@pytest.mark.parametrize(("failures", "draw", "seconds"), BACKOFF)
def test_reconnect_backoff_is_capped_with_jitter(
    failures: int, draw: float, seconds: float
) -> None:
    assert backoff_delay(failures, rng=lambda: draw) == seconds
