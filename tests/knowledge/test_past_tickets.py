"""Past tickets: answered conversations become searchable knowledge, personal data masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from daemon.app import Services
from daemon.approvals import approve
from daemon.config import Settings
from daemon.cycle import run_cycle
from daemon.knowledge import update_index
from daemon.knowledge.past_tickets import mask_personal_data
from daemon.knowledge.retriever import WhooshRetriever
from daemon.llm.pii import PiiMasker
from daemon.tables import Draft, Ticket
from tests.conftest import inbox
from tests.factories import raw_mail

MASKS: list[tuple[str, str]] = [
    ("write to anna.b+shop@mail.example.co.uk today", "write to [email] today"),
    ("call +49 30 1234567 or 0049 (30) 123-4567", "call [phone] or [phone]"),
    ("US number (555) 123-4567, mobile 555.123.4567", "US number [phone], mobile [phone]"),
    ("card 4111 1111 1111 1111 expired", "card [card] expired"),
    ("card 4111-1111-1111-1112 is no card (Luhn)", "card 4111-1111-1111-1112 is no card (Luhn)"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("order #123456789 placed 2024-01-15", "order #123456789 placed 2024-01-15"),
    ("error E1234 on firmware 2.3.1", "error E1234 on firmware 2.3.1"),
]


@pytest.mark.parametrize(("text", "expected"), MASKS)
def test_mask_personal_data(settings: Settings, text: str, expected: str) -> None:
    assert mask_personal_data(text, PiiMasker.from_settings(settings.pii)) == expected


def customer_mail(n: int, subject: str, body: str) -> bytes:
    return raw_mail(
        sender=f"Customer {n} <customer{n}@example.org>",
        to="support@example.com",
        subject=subject,
        message_id=f"<q{n}@example.org>",
        date="Thu, 26 Nov 2026 10:00:00 +0000",
        body=body,
    )


def answer(services: Services, n: int, subject: str, body: str, reply: str) -> int:
    """The customer writes, the pipeline holds a draft, an agent edits and approves it,
    the outbox sends it; the ticket's id."""
    (inbox(services.settings) / "new" / f"q{n}").write_bytes(customer_mail(n, subject, body))
    run_cycle(services)
    with Session(services.engine) as session:
        draft = session.exec(select(Draft).order_by(col(Draft.id).desc())).first()
    assert draft is not None and draft.status == "pending"
    approve(services, draft.id or 0, "agent", body=reply)
    run_cycle(services)  # the outbox sends it
    return draft.ticket_id


QUESTION = (
    "Hello,\n\nmy blender stopped working after two days. You can reach me at "
    "+44 20 7946 0958 or bob@example.net; I paid with card 4111 1111 1111 1111.\n\n"
    "Thanks,\nBob\n\nOn Mon, 2 Nov 2026, Support <support@example.com> wrote:\n"
    "> Our old newsletter text about toasters\n"
)
REPLY = "Hello Bob,\n\nplease send the blender back with the prepaid label; refunds take 5 days."


def past(settings: Settings) -> list[tuple[str, str, str]]:
    retriever = WhooshRetriever(settings.index_dir, settings.knowledge)
    found = retriever.search("blender stopped working", ("past_tickets",), 5)
    retriever.close()
    return [(p.id, p.title, p.text) for p in found]


def test_an_answered_ticket_becomes_a_masked_past_ticket(
    services: Services, settings: Settings
) -> None:
    ticket = answer(services, 1, "Broken blender", QUESTION, REPLY)
    summary = update_index(settings, services.engine)
    assert summary.rebuilt  # the first run finds no index and builds one
    ((pid, title, text),) = past(settings)
    assert (pid, title) == (f"ticket-{ticket}", "Broken blender")
    assert text.startswith("Question:\nmy blender stopped working after two days.")
    assert "[phone]" in text and "[email]" in text and "[card]" in text
    for secret in ("7946", "bob@example.net", "4111"):
        assert secret not in text
    assert "toasters" not in text  # quoted history is not part of the question
    assert text.endswith(
        "Answer:\nHello Bob,\n\nplease send the blender back with the "
        "prepaid label; refunds take 5 days."
    )


def test_newly_answered_tickets_are_added_incrementally(
    services: Services, settings: Settings
) -> None:
    first = answer(services, 1, "Broken blender", QUESTION, REPLY)
    update_index(settings, services.engine)
    second = answer(
        services,
        2,
        "Blender noise",
        "Hi, my blender stopped working and makes a loud noise.",
        "Please send it in for repair; the warranty covers it.",
    )
    summary = update_index(settings, services.engine)
    assert (summary.tickets, summary.added, summary.changed) == (1, 1, 0)
    assert {pid for pid, _, _ in past(settings)} == {f"ticket-{first}", f"ticket-{second}"}
    again = update_index(settings, services.engine)
    assert (again.tickets, again.added, again.passages) == (0, 0, 0)


def test_tickets_waiting_for_an_agent_are_not_knowledge(
    services: Services, settings: Settings
) -> None:
    (inbox(settings) / "new" / "q3").write_bytes(customer_mail(3, "Broken blender", QUESTION))
    run_cycle(services)
    with Session(services.engine) as session:
        statuses = {t.status for t in session.exec(select(Ticket)).all()}
    assert statuses == {"awaiting_approval"}
    update_index(settings, services.engine)
    assert past(settings) == []


def test_past_tickets_can_be_turned_off(services: Services, tmp_path: Path) -> None:
    settings = services.settings.model_copy(
        update={"knowledge": services.settings.knowledge.model_copy(update={"past_tickets": False})}
    )
    answer(services, 1, "Broken blender", QUESTION, REPLY)
    update_index(settings, services.engine)
    assert past(settings) == []
