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
from daemon.store.engine import session_scope
from daemon.tables import Draft, Message, Outbox, State, Ticket
from tests.conftest import make_settings
from tests.factories import mime_mail
from tests.helpdesk.agents import DESKS, Desk
from tests.peers.rt import RtPeer


def plain_text(msg: EmailMessage) -> str:
    """The text of a mail's plain body part (every mail these tests read has one)."""
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def mail(
    message_id: str,
    subject: str,
    body: str,
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    return mime_mail(
        sender="Carol Customer <carol@customer.test>",
        to="support@example.com",
        subject=subject,
        message_id=f"<{message_id}>",
        date="Fri, 27 Nov 2026 08:00:00 +0000",
        in_reply_to=f"<{in_reply_to}>" if in_reply_to else None,
        references=references,
        body=body,
    )


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


@pytest.fixture(params=sorted(DESKS))
def mirror(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Desk, Services]]:
    desk = DESKS[request.param](mode="mirror")
    for name, value in desk.env.items():
        monkeypatch.setenv(name, value)
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / "inbox" / sub).mkdir(parents=True)
    services = build_services(make_settings(tmp_path, helpdesks=[desk.settings]))
    yield desk, services
    services.close()
    desk.close()


def test_mirror_loop(mirror: tuple[Desk, Services], tmp_path: Path) -> None:
    desk, services = mirror
    name = desk.settings["name"]
    deliver(tmp_path, "1.eml", mail("m1@customer.test", "Parcel 555", "Where is order 555?"))
    cycle(services)
    (remote_id,) = [str(t) for t in desk.fake.tickets]
    assert desk.requester_email(remote_id) == "carol@customer.test"
    assert desk.customer_texts(remote_id) == ["Where is order 555?"]
    with session_scope(services.engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert (ticket.helpdesk, ticket.helpdesk_ticket_id) == (name, remote_id)
        draft = session.exec(select(Draft)).one()
    assert any(f"[helpdeskd-draft-{draft.id}]" in n for n in desk.notes(remote_id))

    desk.note(remote_id, "#approve Dear Carol, order 555 ships on Monday.")
    cycle(services)  # decided and mailed
    cycle(services)  # the sent reply noted on the ticket
    (reply,) = sent_by_mail(tmp_path)
    assert "order 555 ships on Monday" in plain_text(reply)
    assert reply["In-Reply-To"] == "<m1@customer.test>"
    assert desk.fake.sent_mail == []  # the helpdesk did not mail the customer a second copy
    assert [n for n in desk.notes(remote_id) if "[helpdeskd-sent-" in n and "Monday" in n]

    follow_up = mail(
        "m2@customer.test",
        "Re: " + reply["Subject"],
        "Thanks! And 556?",
        in_reply_to=reply["Message-ID"].strip("<>"),
        references=f"{reply['References']} {reply['Message-ID']}",
    )
    deliver(tmp_path, "2.eml", follow_up)  # as a mail client answers our reply
    cycle(services)
    assert [str(t) for t in desk.fake.tickets] == [remote_id]  # joined the same ticket
    assert desk.customer_texts(remote_id)[-1].startswith("Thanks! And 556?")


def test_create_is_idempotent_after_a_crash(mirror: tuple[Desk, Services]) -> None:
    """Zendesk: the Idempotency-Key; Freshdesk: the requester's tickets are searched first."""
    desk, services = mirror
    helpdesk = services.helpdesk(desk.settings["name"])
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
        assert "invoice 9 is attached again" in plain_text(reply)
        assert not [
            m for m in rt_server.outgoing() if "invoice 9 is attached again" in str(m)
        ]  # RT did not mail it too
        with session_scope(services.engine) as session:
            assert session.exec(select(Outbox)).one().state == "sent"
    finally:
        services.close()
