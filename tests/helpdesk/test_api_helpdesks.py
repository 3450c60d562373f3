"""Zendesk and Freshdesk, each against a local server written from its public API docs: the
same approval loop as Request Tracker (source mode), rejection, escalation, pagination, and
what 429 + Retry-After, 5xx and 401 do."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import SQLModel, select

from daemon.app import Services, build_services
from daemon.cycle import run_cycle
from daemon.helpdesk_sync.runner import DISABLED, poll_helpdesks, push_helpdesks
from daemon.helpdesk_sync.sink import marked, reply_marker, reply_text
from daemon.metrics import SOURCE_FAILING
from daemon.outbox import flush_outbox
from daemon.pipeline import process_pending
from daemon.store.engine import session_scope
from daemon.tables import (
    AuditEvent,
    Cursor,
    Draft,
    Escalation,
    Message,
    MessageContent,
    Outbox,
    State,
    utcnow,
)
from tests.conftest import make_settings
from tests.helpdesk.agents import DESKS, Desk

Row = TypeVar("Row", bound=SQLModel)
PDF = b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\n1 0 obj<<>>endobj\n"


@pytest.fixture(params=sorted(DESKS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def open_desk(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: object
) -> tuple[Desk, Services]:
    desk = DESKS[kind](**overrides)
    for name, value in desk.env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True, exist_ok=True)
    services = build_services(make_settings(tmp_path, helpdesks=[desk.settings]))
    return desk, services


@pytest.fixture
def desk(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Desk, Services]]:
    desk, services = open_desk(kind, tmp_path, monkeypatch)
    yield desk, services
    services.close()
    desk.close()


def cycle(services: Services) -> None:
    for report in run_cycle(services).helpdesks:
        assert report.error is None, report


def only(services: Services, model: type[Row]) -> Row:
    with session_scope(services.engine) as session:
        return session.exec(select(model)).one()


def replies(desk: Desk, text: str) -> list[dict[str, object]]:
    return [m for m in desk.fake.sent_mail if text in str(m["body"])]


@pytest.mark.parametrize("style", ["edit then tag", "approve with text"])
def test_agent_edits_and_approves(desk: tuple[Desk, Services], style: str) -> None:
    d, services = desk
    ticket = d.customer_email(
        "Parcel 12345 missing",
        "Hello, my order 12345 has not arrived.",
        files=(("receipt.pdf", "application/pdf", PDF),),
    )
    cycle(services)
    message = only(services, Message)
    assert isinstance(message, Message) and message.state == State.awaiting_approval
    content = only(services, MessageContent)
    assert isinstance(content, MessageContent)
    parsed = email.message_from_bytes(content.raw, policy=email.policy.default)
    assert parsed["From"].addresses[0].addr_spec == "carol@customer.test"
    assert parsed["Subject"] == "Parcel 12345 missing"
    assert parsed["X-Helpdesk-Ticket"] == ticket
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "receipt.pdf" and attachment.get_content() == PDF
    marker = f"[helpdeskd-draft-{message.draft_id}]"
    assert [n for n in d.notes(ticket) if marker in n and "Confidence:" in n]

    edited = "Dear Carol,\nyour parcel 12345 ships today; the tracking link follows."
    if style == "edit then tag":
        d.note(ticket, "#edit\n" + edited)
        d.tag(ticket, "ai_draft_approved")
    else:
        d.note(ticket, "#approve " + edited)
    cycle(services)
    assert len(replies(d, "parcel 12345 ships today")) == 1
    draft = only(services, Draft)
    assert isinstance(draft, Draft) and draft.status == "sent" and draft.edited_body == edited
    assert "ai_draft_approved" not in d.state(ticket)["tags"]
    cycle(services)  # the reply is in the helpdesk now: nothing is sent twice
    assert len(replies(d, "parcel 12345 ships today")) == 1
    outbox = only(services, Outbox)
    assert isinstance(outbox, Outbox) and outbox.state == "sent"


def test_rejection_by_tag_takes_the_agents_note_as_reason(desk: tuple[Desk, Services]) -> None:
    d, services = desk
    ticket = d.customer_email("Refund order 777", "Please refund order 777, it was broken.")
    cycle(services)
    d.note(ticket, "She was refunded by phone already.")
    d.tag(ticket, "ai_draft_rejected")
    cycle(services)
    message = only(services, Message)
    assert isinstance(message, Message) and message.state == State.rejected
    draft = only(services, Draft)
    assert isinstance(draft, Draft) and draft.status == "rejected"
    assert draft.decision_reason == "She was refunded by phone already."
    assert d.fake.sent_mail == []
    assert "ai_draft_rejected" not in d.state(ticket)["tags"]


def test_escalation_sets_group_priority_tag_and_summary(desk: tuple[Desk, Services]) -> None:
    d, services = desk
    ticket = d.customer_email("Third time", "Nothing works. I want to speak to a human.")
    cycle(services)
    escalation = only(services, Escalation)
    assert isinstance(escalation, Escalation)
    state = d.state(ticket)
    assert state["group"] == 42
    assert state["priority"] in ("urgent", 4)
    assert "ai_escalated" in state["tags"]
    notes = [n for n in d.notes(ticket) if f"[helpdeskd-escalation-{escalation.id}]" in n]
    assert len(notes) == 1 and "speak to a human" in notes[0]
    cycle(services)  # pushed once
    assert len([n for n in d.notes(ticket) if "[helpdeskd-escalation-" in n]) == 1


def test_pages_of_tickets_are_all_read(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, services = open_desk(kind, tmp_path, monkeypatch, page_size=2)
    try:
        for i in range(5):
            d.customer_email(f"Question {i}", f"Where is order {1000 + i}?", sender=f"c{i}")
        cycle(services)
        with session_scope(services.engine) as session:
            assert len(session.exec(select(Message)).all()) == 5
            cursor = session.get(Cursor, "helpdesk:" + d.settings["name"])
            assert cursor is not None and cursor.value and cursor.fetched_total == 5
        listing = "/incremental/" if kind == "zendesk" else "/api/v2/tickets?"
        assert len(d.fake.requests("GET", listing)) >= 3  # 5 tickets, 2 a page
        d.customer_email("Question 5", "And order 1005?", sender="c5")
        cycle(services)  # from the saved cursor: only the new one
        with session_scope(services.engine) as session:
            assert len(session.exec(select(Message)).all()) == 6
    finally:
        services.close()
        d.close()


def test_429_retry_after_is_waited_out(desk: tuple[Desk, Services]) -> None:
    d, services = desk
    d.customer_email("Parcel", "Where is my parcel?")
    d.fake.fail_next(429, 1, {"Retry-After": "1"}, {"error": "TooManyRequests"})
    t0 = time.monotonic()
    cycle(services)
    assert time.monotonic() - t0 >= 1.0
    assert d.fake.requests()[0][2] == 429 and d.fake.requests()[1][2] == 200
    message = only(services, Message)
    assert isinstance(message, Message) and message.state == State.awaiting_approval


def test_long_retry_after_ends_the_poll_and_the_next_one_waits(
    desk: tuple[Desk, Services],
) -> None:
    d, services = desk
    d.customer_email("Parcel", "Where is my parcel?")
    d.fake.fail_next(429, 1, {"Retry-After": "3600"})
    report = run_cycle(services).helpdesks[0]
    assert report.error and "429" in report.error and not report.disabled
    calls = len(d.fake.requests())
    report = run_cycle(services).helpdesks[0]  # still inside the hour: no request goes out
    assert report.error and "rate limited" in report.error
    assert len(d.fake.requests()) == calls


def test_5xx_is_retried_then_recorded_as_transient(desk: tuple[Desk, Services]) -> None:
    d, services = desk
    sleeps: list[float] = []
    services.helpdesk(d.settings["name"]).api.sleep = sleeps.append  # type: ignore[attr-defined]
    d.customer_email("Parcel", "Where is my parcel?")
    d.fake.fail_next(500, 2, body={"error": "oops"})
    cycle(services)  # two retries with backoff, then it works
    assert [s for _, _, s in d.fake.requests()[:3]] == [500, 500, 200]
    assert sleeps == [0.5, 1.0]  # exponential backoff between the attempts
    d.customer_email("Another", "And my other parcel?", sender="dave")
    d.fake.fail_next(503, 4)
    report = run_cycle(services).helpdesks[0]
    assert report.error and "503" in report.error and not report.disabled
    with session_scope(services.engine) as session:
        cursor = session.get(Cursor, "helpdesk:" + d.settings["name"])
        assert cursor is not None and cursor.failing_since is not None
        assert not (cursor.last_error or "").startswith(DISABLED)
    cycle(services)  # the server is back: the message arrives
    with session_scope(services.engine) as session:
        assert len(session.exec(select(Message)).all()) == 2


def test_401_disables_the_helpdesk_with_a_clear_status(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, services = open_desk(kind, tmp_path, monkeypatch, token="wrong")
    try:
        d.customer_email("Parcel", "Where is my parcel?")
        report = run_cycle(services).helpdesks[0]
        assert report.disabled and "401" in (report.error or "")
        name = d.settings["name"]
        with session_scope(services.engine) as session:
            cursor = session.get(Cursor, f"helpdesk:{name}")
            assert cursor is not None and (cursor.last_error or "").startswith(DISABLED)
            assert "credentials" in (cursor.last_error or "")
            kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
            assert "helpdesk_disabled" in kinds
        assert SOURCE_FAILING.labels(source=f"helpdesk:{name}")._value.get() == 1
        calls = len(d.fake.requests())
        for report in run_cycle(services).helpdesks:  # no crash loop: no more requests
            assert report.disabled
        assert len(d.fake.requests()) == calls == 1
    finally:
        services.close()
        d.close()


def test_missing_secret_disables_without_a_request(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, services = open_desk(kind, tmp_path, monkeypatch)
    for name in d.env:
        monkeypatch.delenv(name)
    try:
        report = run_cycle(services).helpdesks[0]
        assert report.disabled and "is empty or unset" in (report.error or "")
        assert d.fake.requests() == []
    finally:
        services.close()
        d.close()


def test_a_reply_accepted_before_a_crash_is_not_sent_again(desk: tuple[Desk, Services]) -> None:
    """The process died after the helpdesk took the reply and before the outbox row said so:
    the restart finds the reply in the ticket's history and sends nothing twice."""
    d, services = desk
    ticket = d.customer_email("Parcel 9", "Where is order 9?")
    cycle(services)
    d.note(ticket, "#approve Order 9 ships today.")
    poll_helpdesks(services)  # approved: the reply is queued in the outbox
    with session_scope(services.engine) as session:
        row = session.exec(select(Outbox)).one()
        text = marked(reply_text(row.raw), reply_marker(row.message_id))
        row.state, row.owner = "sending", "gone-host:1"  # as a crash leaves it
        row.next_attempt_at = utcnow() - timedelta(hours=1)
        session.add(row)
    services.helpdesk(d.settings["name"]).send_reply(ticket, text)  # what got through
    services.helpdesk(d.settings["name"]).send_reply(ticket, reply_text(row.raw))  # an equal
    # reply an agent sent by hand is not ours: only the reference says ours is there
    report = flush_outbox(services.engine, services.sink)
    assert report.sent == 0 and report.unknown == 0
    assert len(replies(d, "Order 9 ships today")) == 2
    row = only(services, Outbox)
    assert isinstance(row, Outbox) and row.state == "sent"
    assert row.last_response == "found at the sink after a restart"


def test_a_deleted_ticket_is_recorded_and_not_retried(desk: tuple[Desk, Services]) -> None:
    d, services = desk
    ticket = d.customer_email("Parcel 10", "Where is order 10?")
    poll_helpdesks(services)
    process_pending(services)
    d.fake.tickets.pop(int(ticket))  # an agent deleted it meanwhile
    (report,) = push_helpdesks(services)
    assert report.error is None and report.counts["failed"] == 1
    calls = len(d.fake.requests())
    (report,) = push_helpdesks(services)
    assert report.counts["failed"] == 0 and len(d.fake.requests()) == calls
    with session_scope(services.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "helpdesk_note")).one()
        assert "404" in event.detail["error"]


def test_long_conversations_are_read_to_the_end(desk: tuple[Desk, Services]) -> None:
    """More entries than one page (100): Zendesk's page[after] cursor, Freshdesk's Link."""
    d, services = desk
    ticket = d.customer_email("Long one", "First message.")
    for i in range(130):
        d.fake.customer_reply(int(ticket), f"Follow-up number {i}.")
    helpdesk = services.helpdesk(d.settings["name"])
    entries = helpdesk.conversation(helpdesk.ticket(ticket))
    assert len(entries) == 131
    assert entries[0].text.startswith("First message.")
    assert entries[-1].text.startswith("Follow-up number 129.")
    assert {e.kind for e in entries} == {"customer"}


def test_files_on_another_host_are_fetched_without_our_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, services = open_desk("freshdesk", tmp_path, monkeypatch)
    try:
        d.customer_email("Scan", "See the scan.", files=(("scan.pdf", "application/pdf", PDF),))
        cycle(services)
        content = only(services, MessageContent)
        assert isinstance(content, MessageContent) and b"scan.pdf" in content.raw
        downloads = [auth for path, auth in d.fake.authorized if path.startswith("/attachments/")]
        api_calls = [auth for path, auth in d.fake.authorized if path.startswith("/api/")]
        assert downloads == [False] and all(api_calls)
    finally:
        services.close()
        d.close()
