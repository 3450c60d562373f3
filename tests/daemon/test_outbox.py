"""The outbox: retries with backoff, permanent failures escalate, a crash never resends blindly.

The real SMTP server tests live in tests/e2e; here a scripted sink answers what each case
needs, so every branch of the state machine `queued → sending → sent | failed | unknown` runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from connectors.base import ConnectorError, DeliveryUnknown, OutboundMail
from daemon.app import Services
from daemon.outbox import backoff, enqueue, flush_outbox
from daemon.store.engine import session_scope
from daemon.tables import AuditEvent, Escalation, Message, Outbox, Ticket, utcnow


class ScriptedSink:
    name = "scripted"

    def __init__(self, answers: list[str | ConnectorError], delivered: bool | None = False):
        self.answers = answers
        self.sent: list[str] = []
        self.delivered = delivered

    def send(self, mail: OutboundMail) -> str:
        answer = self.answers.pop(0)
        if isinstance(answer, ConnectorError):
            raise answer
        self.sent.append(mail.message_id)
        return answer

    def was_sent(self, message_id: str) -> bool | None:
        return self.delivered

    def close(self) -> None:
        return None


def queue_one(services: Services, message_id: str = "r1@helpdeskd.invalid") -> int:
    msg = EmailMessage()
    msg["From"] = "support@example.com"
    msg["To"] = "alice@example.org"
    msg["Subject"] = "Re: hi"
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content("hello")
    with session_scope(services.engine) as session:
        ticket = Ticket(subject="hi", customer_email="alice@example.org")
        session.add(ticket)
        session.flush()
        session.add(
            Message(source="t", source_key=message_id, sha256="x", size=1, ticket_id=ticket.id)
        )
        row = enqueue(session, msg, kind="reply", ticket_id=ticket.id, customer="alice@x")
        assert row is not None
        again = enqueue(session, msg, kind="reply", ticket_id=ticket.id)
        assert again is None  # same Message-ID: queued once
        session.flush()
        assert isinstance(row, Outbox) and row.id is not None
        return row.id


def outbox_row(services: Services, pk: int) -> Outbox:
    with Session(services.engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        return row


def make_due(services: Services, pk: int) -> None:
    with session_scope(services.engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)


def test_transient_errors_retry_with_backoff_then_send(services: Services) -> None:
    pk = queue_one(services)
    sink = ScriptedSink(
        [ConnectorError("451 try later"), ConnectorError("connection reset"), "250 ok"]
    )
    assert flush_outbox(services.engine, sink).retried == 1
    row = outbox_row(services, pk)
    assert row.state == "queued" and row.next_attempt_at > utcnow()
    assert flush_outbox(services.engine, sink).retried == 0  # not due yet
    make_due(services, pk)
    flush_outbox(services.engine, sink)
    make_due(services, pk)
    assert flush_outbox(services.engine, sink).sent == 1
    row = outbox_row(services, pk)
    assert row.state == "sent" and row.attempts == 3 and row.last_response == "250 ok"
    assert sink.sent == ["r1@helpdeskd.invalid"]


def test_an_unknown_delivery_is_parked_at_once_and_never_resent(services: Services) -> None:
    """The sink cannot tell whether the mail left (a helpdesk may have taken the reply): no
    retry, no backoff, the row waits for an operator's `outbox resolve`."""
    pk = queue_one(services)
    sink = ScriptedSink([DeliveryUnknown("HTTP 502 after the POST; not in the ticket"), "250 ok"])
    report = flush_outbox(services.engine, sink)
    assert (report.unknown, report.retried, report.failed) == (1, 0, 0)
    row = outbox_row(services, pk)
    assert row.state == "unknown" and "not in the ticket" in (row.last_response or "")
    make_due(services, pk)
    assert flush_outbox(services.engine, sink).sent == 0 and sink.sent == []
    with Session(services.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.kind == "outbox_unknown")).all()
        assert len(events) == 1 and "502" in events[0].detail["error"]


def test_permanent_error_fails_and_escalates(services: Services) -> None:
    pk = queue_one(services)
    report = flush_outbox(
        services.engine, ScriptedSink([ConnectorError("550 no such user", permanent=True)])
    )
    assert report.failed == 1
    assert outbox_row(services, pk).state == "failed"
    with Session(services.engine) as session:
        escalation = session.exec(select(Escalation)).one()
        ticket = session.get(Ticket, escalation.ticket_id)
    assert "550 no such user" in escalation.reason
    assert ticket is not None and ticket.status == "escalated"


@pytest.fixture
def crashed_row(services: Services) -> Iterator[int]:
    """A row a dead process left in `sending`."""
    pk = queue_one(services)
    with session_scope(services.engine) as session:
        row = session.get(Outbox, pk)
        assert row is not None
        row.state, row.owner, row.attempts = "sending", "nosuchhost:1", 1
        row.next_attempt_at = utcnow() - timedelta(hours=1)
        session.add(row)
    yield pk


@pytest.mark.parametrize(
    ("found", "state", "sends"), [(True, "sent", 0), (False, "sent", 1), (None, "unknown", 0)]
)
def test_crash_recovery_asks_the_sink_first(
    services: Services, crashed_row: int, found: bool | None, state: str, sends: int
) -> None:
    sink = ScriptedSink(["250 ok"], delivered=found)
    flush_outbox(services.engine, sink)
    assert outbox_row(services, crashed_row).state == state
    assert len(sink.sent) == sends


def test_backoff_is_capped() -> None:
    assert backoff(1) == timedelta(seconds=30)
    assert backoff(2) == timedelta(seconds=60)
    assert backoff(30) == timedelta(hours=1)


@pytest.mark.parametrize(("delivered", "state", "sends"), [(True, "sent", 0), (False, "sent", 1)])
def test_operator_resolves_an_unknown_row(
    services: Services, crashed_row: int, delivered: bool, state: str, sends: int
) -> None:
    from daemon.outbox import resolve

    flush_outbox(services.engine, ScriptedSink([], delivered=None))  # the sink cannot tell
    assert outbox_row(services, crashed_row).state == "unknown"
    with pytest.raises(ValueError, match="only unknown or failed"):
        resolve(services.engine, crashed_row + 99, delivered=True, actor="op")
    resolve(services.engine, crashed_row, delivered=delivered, actor="op")
    sink = ScriptedSink(["250 ok"])
    flush_outbox(services.engine, sink)
    assert outbox_row(services, crashed_row).state == state
    assert len(sink.sent) == sends
    with pytest.raises(ValueError, match="is sent"):
        resolve(services.engine, crashed_row, delivered=True, actor="op")
