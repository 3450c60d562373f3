"""Past tickets: resolved conversations as knowledge, in the `past_tickets` namespace.

Decides which tickets teach something and what of them is kept. A ticket counts once we sent
it an answer (an outbox `reply` row in state `sent`) and it is not waiting on the customer or
an agent (status answered, resolved or closed). Its article is the customer's question (the
new text of each customer message up to the answer, without quoted history, greeting or
closing) and the final answer as sent (the agent's edit when there was one). Personal data is
masked before anything is indexed: email addresses, phone numbers, and the configured card and
IBAN patterns (checked with Luhn and mod-97, see daemon.llm.pii). The article's mtime is the
answer's send time, which is how the incremental job finds newly resolved tickets.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from daemon.config import Settings
from daemon.knowledge.query import clean_body
from daemon.knowledge.sources import Article
from daemon.llm.pii import PiiMasker
from daemon.records import stored_reply_text
from daemon.tables import Draft, Message, MessageParse, Outbox, Ticket

NAMESPACE = "past_tickets"
ORIGIN = "store"
RESOLVED = ("answered", "resolved", "closed")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(
    r"(?<![\w#+])(?:\+|00)\d[\d ()./-]{6,18}\d(?!\w)"  # international: +49 30 1234567
    r"|(?<![\w#/.-])\(?\d{2,5}\)?[ .-]\d{3,4}[ .-]\d{3,5}(?![\w/.-])"  # (555) 123-4567
)


def mask_personal_data(text: str, masker: PiiMasker) -> str:
    """Cards and IBANs first (their digits would look like phone numbers), then the rest."""
    text = masker.mask(text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub("[phone]", text)


def resolved_tickets(settings: Settings, engine: Engine, since: float = 0.0) -> Iterator[Article]:
    """Articles of tickets answered at or after `since` (a POSIX time; 0: all)."""
    masker = PiiMasker.from_settings(settings.pii)
    after = datetime.fromtimestamp(since, UTC)
    with Session(engine) as session:
        answers = session.exec(
            select(Outbox, Ticket)
            .join(Ticket, col(Ticket.id) == col(Outbox.ticket_id))
            .where(
                Outbox.kind == "reply",
                Outbox.state == "sent",
                col(Outbox.sent_at) >= after,
                col(Ticket.status).in_(RESOLVED),
            )
            .order_by(col(Outbox.ticket_id), col(Outbox.sent_at))
        ).all()
        final = {ticket.id: (row, ticket) for row, ticket in answers}  # the last one wins
        for row, ticket in final.values():
            article = ticket_article(session, row, ticket, masker)
            if article is not None:
                yield article


def ticket_article(
    session: Session, answer: Outbox, ticket: Ticket, masker: PiiMasker
) -> Article | None:
    question = customer_text(session, ticket, answer.sent_at)
    reply = answer_text(session, answer)
    if not question or not reply:
        return None
    sent = answer.sent_at or answer.created_at
    return Article(
        key=f"ticket-{ticket.id}",
        namespace=NAMESPACE,
        title=mask_personal_data(ticket.subject or f"Ticket {ticket.id}", masker),
        body=mask_personal_data(f"Question:\n{question}\n\nAnswer:\n{reply}", masker),
        path=f"ticket:{ticket.id}",
        language=ticket.language,
        mtime=as_utc(sent).timestamp(),
        origin=ORIGIN,
    )


def customer_text(session: Session, ticket: Ticket, until: datetime | None) -> str:
    """The new text of the customer's messages on the ticket, up to the answer."""
    rows = session.exec(
        select(Message, MessageParse.parsed)
        .join(MessageParse, col(MessageParse.message_pk) == col(Message.id))
        .where(Message.ticket_id == ticket.id)
        .order_by(col(Message.received_at))
    ).all()
    parts = []
    for row, parsed in rows:
        if until is not None and as_utc(row.received_at) > as_utc(until):
            break
        text = clean_body(stored_reply_text(parsed) or parsed.get("text") or "")
        if text and not (parsed.get("auto") or {}).get("is_auto"):
            parts.append(text)
    return "\n\n".join(parts)


def answer_text(session: Session, answer: Outbox) -> str:
    """What we sent: the draft as approved (edited or not), else the mail's text part."""
    draft = session.get(Draft, answer.draft_id) if answer.draft_id else None
    if draft is not None:
        return (draft.edited_body or draft.body).strip()
    message = email.message_from_bytes(answer.raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()).strip() if body is not None else ""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
