"""screen: each rule on real messages in a real store, and the burst throttle end to end.

Messages are ingested into the SQLite store of a temporary state dir (as the Maildir source
would), parsed by the real parse stage, then screened; the caps and the burst throttle count
real Outbox and Message rows.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from connectors.base import FetchedMail
from daemon.app import Services, build_services
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.item_rows import load_item, save_item
from daemon.kernel.item import Item
from daemon.kernel.outcomes import Ignored
from daemon.kernel.stage import Context
from daemon.mail.message import parse_bytes
from daemon.metrics import REGISTRY
from daemon.outgoing_mail import compose_reply
from daemon.stages import screen
from daemon.store.content import message_content
from daemon.store.engine import session_scope
from daemon.store.ingest import ingest
from daemon.tables import AuditEvent, Message, Outbox, utcnow
from tests.conftest import inbox, make_settings
from tests.factories import raw_mail

KEYS = count()
LOG = logging.LoggerAdapter(logging.getLogger("test.screen"), {})


def mail(sender: str = "Alice Buyer <alice@example.org>", *headers: str, msgid: str = "") -> bytes:
    msgid = msgid or f"m{next(KEYS)}@example.org"
    return raw_mail(
        sender=sender,
        to="support@example.com",
        subject="Where is my order 4711?",
        message_id=f"<{msgid}>",
        date="Mon, 23 Nov 2026 10:00:00 +0000",
        headers=headers,
        body="Hi, where is my order?",
    )


def screen_raw(services: Services, raw: bytes, *, ticket_id: int | None = None) -> Item | Ignored:
    """Ingest, parse and screen one message in one transaction, as the pipeline does."""
    with session_scope(services.engine) as session:
        pk = ingest(session, "inbox", FetchedMail(key=f"k{next(KEYS)}", raw=raw)).message_pk
        assert pk is not None
        row, content = session.get(Message, pk), message_content(session, pk)
        assert row is not None
        item = replace(load_item(row, content), parsed=parse_bytes(raw), ticket_id=ticket_id)
        save_item(item, row, content)  # the parse step commits the sender the burst rule counts
        session.flush()
        ctx = Context(session, services.settings, utcnow(), LOG, services.roles)
        return screen.run(item, ctx)


def reason(result: Item | Ignored) -> str | None:
    return result.reason if isinstance(result, Ignored) else None


BOUNCE = (
    "Subject: Undelivered Mail Returned to Sender",
    "Auto-Submitted: auto-replied",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
)

RULE_CASES: list[tuple[str, bytes, str | None]] = [
    ("a customer's request", mail(), None),
    ("no sender", mail("undisclosed-recipients:;"), "no usable sender address"),
    ("our own From", mail("Example Support <support@example.com>"), "our own mail (from"),
    ("our Message-ID domain", mail(msgid="helpdeskd.reply.1.2@helpdeskd.invalid"), "our own mail"),
    ("a bounce", mail("MAILER-DAEMON@mx.example.org", *BOUNCE), "bounce: "),
    ("an auto-reply", mail("Bob <bob@example.org>", "Auto-Submitted: auto-replied"), "auto_reply:"),
    (
        "out of office",
        mail(
            "Bob <bob@example.org>",
            "X-Auto-Response-Suppress: All",
            "X-MS-Exchange-Inbox-Rules-Loop: bob@example.org",
        ),
        "out_of_office:",
    ),
    ("a list", mail("Bob <bob@example.org>", "List-Id: <users.lists.example.org>"), "list:"),
    ("bulk", mail("Shop <news@shop.example>", "Precedence: bulk"), "bulk:"),
    ("built-in no-reply", mail("Shop <noreply@shop.example>"), "noreply: no-reply sender"),
    # only in the operator's patterns, not a machine by its headers
    ("configured no-reply pattern", mail("GitHub <notifications@github.example>"), "no-reply"),
]


@pytest.mark.parametrize(("name", "raw", "why"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rules(services: Services, name: str, raw: bytes, why: str | None) -> None:
    result = screen_raw(services, raw)
    if why is None:
        assert isinstance(result, Item), reason(result)
    else:
        assert (reason(result) or "").startswith(why), reason(result)


def test_our_composed_reply_is_recognised_by_its_loop_header(tmp_path: Path) -> None:
    """A reply we sent from another alias (not in our_addresses, another Message-ID domain)
    comes back, e.g. through a list or a Bcc: X-Helpdeskd-Ticket marks it as ours."""
    customer = parse_bytes(mail())
    other = make_settings(
        tmp_path, mail={"from_address": "help@example.net", "message_id_domain": "other.invalid"}
    )
    sent = compose_reply(
        other, customer, ticket_id=7, body="Hi", message_id="r1@other.invalid", automatic=False
    ).as_bytes()
    services = build_services(make_settings(tmp_path / "us"))
    try:
        assert reason(screen_raw(services, sent)) == "our own mail (X-Helpdeskd-Ticket: 7)"
    finally:
        services.close()


def test_reply_caps_count_the_last_hour(services: Services) -> None:
    def outbox(n: int, ticket: int | None, age: timedelta) -> None:
        with session_scope(services.engine) as session:
            for i in range(n):
                session.add(
                    Outbox(
                        ticket_id=None,
                        message_id=f"o{next(KEYS)}-{i}",
                        sender="support@example.com",
                        customer="alice@example.org",
                        raw=b"x",
                        created_at=utcnow() - age,
                    )
                )

    outbox(5, None, timedelta(hours=2))  # old answers do not count
    assert isinstance(screen_raw(services, mail()), Item)
    outbox(5, None, timedelta(minutes=5))
    assert (reason(screen_raw(services, mail())) or "").startswith("reply cap: 5 replies")


def burst_settings(tmp_path: Path, messages: int = 3) -> Settings:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    return make_settings(tmp_path, screen={"burst_messages": messages, "burst_minutes": 10})


def burst_count() -> float:
    value = REGISTRY.get_sample_value("helpdeskd_screened_out_total", {"rule": "burst"})
    return value or 0.0


def test_burst_throttles_after_n_and_reports(tmp_path: Path) -> None:
    services = build_services(burst_settings(tmp_path))
    before = burst_count()
    try:
        results = [screen_raw(services, mail()) for _ in range(5)]
        other = screen_raw(services, mail("Bob <bob@example.org>"))
        with Session(services.engine) as session:
            events = session.exec(select(AuditEvent).where(AuditEvent.kind == "burst")).all()
    finally:
        services.close()
    assert [isinstance(r, Item) for r in results] == [True, True, True, False, False]
    assert reason(results[3]) == (
        "burst: 4 messages from alice@example.org within 10 minutes (more than 3): throttled"
    )
    assert isinstance(other, Item)  # another sender is not held back
    assert [(e.detail["sender"], e.detail["earlier"]) for e in events] == [
        ("alice@example.org", 3),
        ("alice@example.org", 4),
    ]
    assert burst_count() == before + 2


def test_burst_window_forgets_old_mail(tmp_path: Path) -> None:
    services = build_services(burst_settings(tmp_path, messages=2))
    try:
        for _ in range(3):
            screen_raw(services, mail())
        with session_scope(services.engine) as session:  # they arrived an hour ago
            for row in session.exec(select(Message)).all():
                row.received_at = utcnow() - timedelta(hours=1)
                session.add(row)
        assert isinstance(screen_raw(services, mail()), Item)
    finally:
        services.close()


def test_burst_end_to_end_through_the_pipeline(tmp_path: Path) -> None:
    settings = burst_settings(tmp_path, messages=2)
    for i in range(4):
        (inbox(settings) / "new" / f"{i}-alice").write_bytes(mail())
    services = build_services(settings)
    try:
        statements: list[str] = []
        event.listen(services.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        run_cycle(services)
        with Session(services.engine) as session:
            rows = session.exec(select(Message).order_by(col(Message.id))).all()
            outcomes = [(r.state, (r.reason or "").split(":")[0]) for r in rows]
    finally:
        services.close()
    assert [o for o in outcomes if o == ("ignored", "burst")] == [("ignored", "burst")] * 2
    assert all(state != "ignored" for state, _ in outcomes[:2])


def test_one_batch_counts_bursts_and_caps_as_one_message_at_a_time(tmp_path: Path) -> None:
    """The pipeline screens a batch with one look-up for all its senders: the same outcomes
    as counting message by message, a sender's spellings counted together."""
    settings = make_settings(
        tmp_path,
        screen={"burst_messages": 2, "burst_minutes": 10, "replies_per_sender_per_hour": 3},
    )
    senders = [
        "Alice <alice@example.org>",
        "Bob <bob@example.org>",
        "alice@example.org",
        "Carol <carol@example.org>",
        "Alice@Example.ORG",  # counted with the lower-case spelling: the third, a burst
        "alice@example.org",
    ]
    (inbox(settings) / "new").mkdir(parents=True, exist_ok=True)
    for i, sender in enumerate(senders):
        (inbox(settings) / "new" / f"{i}-m").write_bytes(mail(sender))
    services = build_services(settings)
    try:
        with session_scope(services.engine) as session:
            for i in range(3):  # carol was answered three times in the last hour
                session.add(
                    Outbox(
                        message_id=f"c{i}@x",
                        sender="support@example.com",
                        customer="carol@example.org",
                        raw=b"x",
                        created_at=utcnow() - timedelta(minutes=5),
                    )
                )
        statements: list[str] = []
        event.listen(services.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        run_cycle(services)
        with Session(services.engine) as session:
            rows = session.exec(select(Message).order_by(col(Message.id))).all()
            outcomes = [(r.reason or "").split(":")[0] * (r.state == "ignored") for r in rows]
    finally:
        services.close()
    assert outcomes == ["", "", "", "reply cap", "burst", "burst"]
    # one look-up each for the whole batch, not one per message
    assert sum("message.sender IN" in q for q in statements) == 1
    assert sum("FROM outbox" in q and "GROUP BY" in q for q in statements) == 1
