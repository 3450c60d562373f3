"""Mirror mode: helpdeskd reads the mailbox and creates and updates the tickets in the helpdesk
(Zendesk's fake and Request Tracker for real); the reply goes by mail and is noted there."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from connectors.helpdesk import CustomerMail, Person
from daemon.app import Services, build_services
from daemon.cycle import run_cycle
from daemon.models import Draft, Message, Outbox, State, Ticket
from daemon.store import session_scope
from tests.conftest import make_settings
from tests.helpdesk.agents import ZendeskDesk, zendesk_desk
from tests.peers.rt import RtPeer


def mail(
    message_id: str,
    subject: str,
    body: str,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@customer.test>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = "Fri, 27 Nov 2026 08:00:00 +0000"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = references or f"<{in_reply_to}>"
    msg.set_content(body)
    return msg.as_bytes()


def deliver(tmp_path: Path, name: str, raw: bytes) -> None:
    (tmp_path / "mail" / "inbox" / "new" / name).write_bytes(raw)


def cycle(services: Services) -> None:
    for report in run_cycle(services).helpdesks:
        assert report.error is None, report


def sent_by_mail(tmp_path: Path) -> list[EmailMessage]:
    out = []
    for path in sorted((tmp_path / "mail" / "outbox" / "new").glob("*")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


@pytest.fixture
def zd_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ZendeskDesk, Services]]:
    desk = zendesk_desk(mode="mirror")
    for name, value in desk.env.items():
        monkeypatch.setenv(name, value)
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    services = build_services(make_settings(tmp_path, helpdesks=[desk.settings]))
    yield desk, services
    services.close()
    desk.close()


def test_zendesk_mirror_loop(zd_mirror: tuple[ZendeskDesk, Services], tmp_path: Path) -> None:
    desk, services = zd_mirror
    deliver(tmp_path, "1.eml", mail("m1@customer.test", "Parcel 555", "Where is order 555?"))
    cycle(services)
    assert len(desk.fake.tickets) == 1
    (remote,) = desk.fake.tickets.values()
    assert desk.fake.idempotency == {"m1@customer.test": remote["id"]}
    assert desk.fake.user_rows[remote["requester_id"]]["email"] == "carol@customer.test"
    with session_scope(services.engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert (ticket.helpdesk, ticket.helpdesk_ticket_id) == ("zd", str(remote["id"]))
        draft = session.exec(select(Draft)).one()
    assert any(f"[helpdeskd-draft-{draft.id}]" in n for n in desk.notes(str(remote["id"])))

    desk.note(str(remote["id"]), "#approve Dear Carol, order 555 ships on Monday.")
    cycle(services)  # decided and mailed
    cycle(services)  # the sent reply noted on the ticket
    (reply,) = sent_by_mail(tmp_path)
    assert "order 555 ships on Monday" in reply.get_body(("plain",)).get_content()
    assert reply["In-Reply-To"] == "<m1@customer.test>"
    assert desk.fake.sent_mail == []  # Zendesk did not mail the customer a second copy
    notes = desk.notes(str(remote["id"]))
    assert [n for n in notes if "[helpdeskd-sent-" in n and "ships on Monday" in n]

    follow_up = mail(
        "m2@customer.test",
        "Re: " + reply["Subject"],
        "Thanks! And 556?",
        in_reply_to=reply["Message-ID"].strip("<>"),
        references=f"{reply['References']} {reply['Message-ID']}",
    )
    deliver(tmp_path, "2.eml", follow_up)  # as a mail client answers our reply
    cycle(services)
    assert len(desk.fake.tickets) == 1  # the follow-up joined the same helpdesk ticket
    bodies = [c for c in desk.fake.comments[remote["id"]] if c["public"]]
    assert [c["body"] for c in bodies][-1].startswith("Thanks! And 556?")
    assert bodies[-1]["author_id"] == remote["requester_id"]


def test_zendesk_create_is_idempotent_by_message_id(
    zd_mirror: tuple[ZendeskDesk, Services],
) -> None:
    desk, services = zd_mirror
    helpdesk = services.helpdesk("zd")
    customer = CustomerMail(
        raw=mail("same@customer.test", "Hi", "Hello"),
        sender=Person("Carol", "carol@customer.test"),
        subject="Hi",
        text="Hello",
    )
    first = helpdesk.create_ticket(customer)
    again = helpdesk.create_ticket(customer)  # a retry after a crash
    assert first == again and len(desk.fake.tickets) == 1


@pytest.mark.peers
def test_rt_mirror_loop(rt_server: RtPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = rt_server.new_queue("Mirror")
    monkeypatch.setenv("TEST_RT_TOKEN", rt_server.tokens["helpbot"])
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    settings = make_settings(
        tmp_path,
        helpdesks=[
            {
                "kind": "rt",
                "name": "rt",
                "url": rt_server.url,
                "queue": queue,
                "token_env": "TEST_RT_TOKEN",
                "mode": "mirror",
            }
        ],
    )
    services = build_services(settings)
    try:
        stamp = time.time_ns()
        deliver(
            tmp_path,
            "1.eml",
            mail(
                f"rt-{stamp}@customer.test", f"Invoice {stamp}", "Please send me invoice 9 again."
            ),
        )
        cycle(services)
        with session_scope(services.engine) as session:
            ticket = session.exec(select(Ticket)).one()
            message = session.exec(select(Message)).one()
            assert message.state == State.awaiting_approval
        assert ticket.helpdesk == "rt" and ticket.helpdesk_ticket_id
        remote: dict[str, Any] = (
            rt_server.api()
            .get(
                "/tickets",
                params={
                    "query": f"id = {ticket.helpdesk_ticket_id}",
                    "fields": "Subject,Requestor,Queue",
                    "fields[Requestor]": "EmailAddress",
                    "fields[Queue]": "Name",
                },
            )
            .json()["items"][0]
        )
        assert remote["Subject"] == f"Invoice {stamp}"
        assert remote["Requestor"][0]["EmailAddress"] == "carol@customer.test"
        assert remote["Queue"]["Name"] == queue
        rt_server.api("agent").post(
            f"/ticket/{ticket.helpdesk_ticket_id}/comment",
            json={
                "Content": "#approve\nDear Carol, invoice 9 is attached again.",
                "ContentType": "text/plain",
            },
        )
        cycle(services)
        cycle(services)
        (reply,) = sent_by_mail(tmp_path)
        assert "invoice 9 is attached again" in reply.get_body(("plain",)).get_content()
        assert not [
            m for m in rt_server.outgoing() if "invoice 9 is attached again" in str(m)
        ]  # RT did not mail it too
        with session_scope(services.engine) as session:
            assert session.exec(select(Outbox)).one().state == "sent"
    finally:
        services.close()
