"""Request Tracker 5 for real: mail in through rt-mailgate, draft as a comment, an agent's edit
and approval through REST2, the reply out through RT; a rejection; an escalation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from daemon.app import Services, build_services
from daemon.cycle import run_cycle
from daemon.store.engine import session_scope
from daemon.tables import (
    Cursor,
    Draft,
    Escalation,
    Message,
    MessageContent,
    Outbox,
    State,
    Ticket,
)
from tests.conftest import make_settings
from tests.factories import raw_mail
from tests.peers.rt import RtPeer

pytestmark = pytest.mark.peers


def plain_text(msg: EmailMessage) -> str:
    """The text of a mail's plain body part (every mail these tests read has one)."""
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def customer_mail(message_id: str, subject: str, body: str, sender: str = "carol") -> bytes:
    """A question with a PDF receipt attached."""
    return raw_mail(
        sender=f"{sender.title()} Customer <{sender}@customer.test>",
        to="support@example.test",
        subject=subject,
        message_id=f"<{message_id}@customer.test>",
        date="Fri, 27 Nov 2026 08:00:00 +0000",
        headers=["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b1"'],
        body=(
            "--b1\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n"
            "--b1\r\n"
            'Content-Type: application/pdf; name="receipt.pdf"\r\n'
            'Content-Disposition: attachment; filename="receipt.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
            "JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
            "--b1--"
        ),
    )


@pytest.fixture
def rt_env(
    rt_server: RtPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Services, RtPeer, str, str]]:
    """helpdeskd with one RT helpdesk in source mode on a queue of its own."""
    queue, tier2 = rt_server.new_queue("Support"), rt_server.new_queue("Tier2")
    monkeypatch.setenv("TEST_RT_TOKEN", rt_server.tokens["helpbot"])
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    settings = make_settings(
        tmp_path,
        helpdesks=[
            {
                "kind": "rt",
                "name": "rt",
                "url": rt_server.url,
                "queue": queue,
                "token_env": "TEST_RT_TOKEN",
                "escalation_queue": tier2,
                "escalation_field": "Escalation",
                "escalation_value": "human",
                "escalation_priority": 80,
            }
        ],
    )
    services = build_services(settings)
    yield services, rt_server, queue, tier2
    services.close()


def rt_ticket(rt: RtPeer, queue: str, subject: str) -> dict[str, Any]:
    found = (
        rt.api()
        .get(
            "/tickets",
            params={
                "query": f"Subject = '{subject}'",
                "fields": "Subject,Queue,Priority,CustomFields",
                "fields[Queue]": "Name",
            },
        )
        .json()
    )
    assert found["count"] == 1, found
    return dict(found["items"][0])


def comments(rt: RtPeer, ticket_id: str) -> list[str]:
    """The text of every Comment transaction on the ticket."""
    history = (
        rt.api()
        .get(f"/ticket/{ticket_id}/history", params={"fields": "Type", "per_page": 100})
        .json()["items"]
    )
    texts = []
    for txn in history:
        if txn["Type"] != "Comment":
            continue
        parts = (
            rt.api()
            .get(f"/transaction/{txn['id']}/attachments", params={"fields": "ContentType,Content"})
            .json()["items"]
        )
        texts += [p["Content"] for p in parts if p["ContentType"] == "text/plain"]
    return texts


def cf_values(ticket: dict[str, Any], name: str) -> list[str]:
    return [v for cf in ticket["CustomFields"] if cf["name"] == name for v in cf["values"] if v]


def timed_cycle(services: Services) -> float:
    t0 = time.monotonic()
    report = run_cycle(services)
    for h in report.helpdesks:
        assert h.error is None, h
    return time.monotonic() - t0


def test_edited_approval_is_sent_by_rt(rt_env: tuple[Services, RtPeer, str, str]) -> None:
    services, rt, queue, _ = rt_env
    subject = f"Where is my parcel {time.time_ns()}"
    rt.mailgate(
        customer_mail(
            f"c1-{time.time_ns()}",
            subject,
            "Hello, my order 12345 has not arrived. Where is my package?",
        ),
        queue,
    )
    first = timed_cycle(services)
    ticket = rt_ticket(rt, queue, subject)
    with session_scope(services.engine) as session:
        message = session.exec(select(Message)).one()
        assert message.state == State.awaiting_approval
        raw = session.get(MessageContent, message.id).raw  # type: ignore[union-attr]
        assert b"receipt.pdf" in raw and b"Message-ID: <c1-" in raw
        local = session.get(Ticket, message.ticket_id)
        assert local is not None and local.helpdesk == "rt"
        assert local.helpdesk_ticket_id == str(ticket["id"])
        draft_id = message.draft_id
    notes = comments(rt, ticket["id"])
    assert any(f"[helpdeskd-draft-{draft_id}]" in n and "Confidence:" in n for n in notes), notes

    edited = "Dear Carol,\n\nyour parcel 12345 left our warehouse today; tracking follows."
    agent = rt.api("agent")
    assert (
        agent.post(
            f"/ticket/{ticket['id']}/comment",
            json={"Content": f"#edit\n{edited}", "ContentType": "text/plain"},
        ).status_code
        == 201
    )
    assert (
        agent.put(
            f"/ticket/{ticket['id']}", json={"CustomFields": {"AI Draft": "approved"}}
        ).status_code
        == 200
    )
    second = timed_cycle(services)

    replies = [
        m
        for m in rt.outgoing()
        if "carol@customer.test" in str(m["To"])
        and f"#{ticket['id']}]" in str(m["Subject"])
        and "parcel 12345 left our warehouse" in plain_text(m)
    ]
    assert len(replies) == 1
    with session_scope(services.engine) as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None and draft.status == "sent" and draft.edited_body == edited
        outbox = session.exec(select(Outbox)).one()
        assert outbox.state == "sent" and (outbox.last_response or "").startswith("RT ticket")
    assert cf_values(rt_ticket(rt, queue, subject), "AI Draft") == []  # the mark was cleared
    third = timed_cycle(services)  # nothing new: nothing sent twice
    assert len([m for m in rt.outgoing() if "parcel 12345 left" in str(m)]) == 1
    print(f"RT loop: cycles {first:.2f} s, {second:.2f} s, {third:.2f} s")


def test_rejection_records_the_reason(rt_env: tuple[Services, RtPeer, str, str]) -> None:
    services, rt, queue, _ = rt_env
    subject = f"Refund for order 777 {time.time_ns()}"
    rt.mailgate(
        customer_mail(
            f"c2-{time.time_ns()}",
            subject,
            "I would like a refund for order 777, it arrived broken.",
        ),
        queue,
    )
    timed_cycle(services)
    ticket = rt_ticket(rt, queue, subject)
    rt.api("agent").post(
        f"/ticket/{ticket['id']}/comment",
        json={
            "Content": "#reject wrong order: the customer means order 778, I will call her",
            "ContentType": "text/plain",
        },
    )
    timed_cycle(services)
    with session_scope(services.engine) as session:
        message = session.exec(select(Message)).one()
        assert message.state == State.rejected
        draft = session.get(Draft, message.draft_id)
        assert draft is not None and draft.status == "rejected"
        assert draft.decision_reason == "wrong order: the customer means order 778, I will call her"
        assert draft.decided_by == "agent@example.test in rt"
        assert session.exec(select(Outbox)).first() is None


def test_escalation_moves_queue_sets_field_and_posts_summary(
    rt_env: tuple[Services, RtPeer, str, str],
) -> None:
    services, rt, queue, tier2 = rt_env
    subject = f"Complaint {time.time_ns()}"
    rt.mailgate(
        customer_mail(
            f"c3-{time.time_ns()}",
            subject,
            "This is the third time. I want to speak to a human now.",
        ),
        queue,
    )
    timed_cycle(services)
    with session_scope(services.engine) as session:
        message = session.exec(select(Message)).one()
        assert message.state == State.escalated
        escalation = session.exec(select(Escalation)).one()
    found = (
        rt.api()
        .get(
            "/tickets",
            params={
                "query": f"Subject = '{subject}'",
                "fields": "Queue,Priority,CustomFields",
                "fields[Queue]": "Name",
            },
        )
        .json()["items"][0]
    )
    assert found["Queue"]["Name"] == tier2
    assert cf_values(found, "Escalation") == ["human"]
    assert int(found["Priority"]) == 80
    notes = comments(rt, found["id"])
    assert any(
        f"[helpdeskd-escalation-{escalation.id}]" in n and "speak to a human" in n for n in notes
    ), notes


def test_a_refused_token_disables_rt_until_restart(
    rt_server: RtPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_RT_TOKEN", "1-1-0000000000000000000000000000000")
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True)
    services = build_services(
        make_settings(
            tmp_path,
            helpdesks=[
                {
                    "kind": "rt",
                    "name": "rt",
                    "url": rt_server.url,
                    "queue": "Support",
                    "token_env": "TEST_RT_TOKEN",
                }
            ],
        )
    )
    try:
        (report,) = run_cycle(services).helpdesks[:1]
        assert report.disabled and "HTTP 401" in (report.error or "")
        with session_scope(services.engine) as session:
            cursor = session.get(Cursor, "helpdesk:rt")
            assert cursor is not None and (cursor.last_error or "").startswith("DISABLED: ")
        assert all(r.disabled for r in run_cycle(services).helpdesks)
    finally:
        services.close()
