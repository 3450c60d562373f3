"""thread: which ticket a message belongs to.

Decides threading, most reliable evidence first: a Message-ID we know in In-Reply-To or
References (ours or the customer's), then a ticket tag such as `[#123]` in the subject, then a
new ticket. A subject tag is trusted only from the ticket's own customer, so a stranger cannot
attach mail to someone else's ticket by copying a subject line.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from daemon.item import Context, Item
from daemon.models import MessageRef, Ticket, utcnow
from daemon.records import ParsedMail
from daemon.store import audit, no_nul, remember_message_id

PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg|tr|rif|r|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)


def run(item: Item, ctx: Context) -> Item:
    """Join a known ticket (before screening, so per-ticket caps and auto-replies to our
    replies see their ticket); opening a new one waits for `ensure_ticket`."""
    mail = item.mail
    ticket_id = item.ticket_id or find_ticket(ctx.session, mail, ctx.settings.mail.ticket_tag)
    if ticket_id is None:
        return item
    touch_ticket(ctx.session, ticket_id)
    remember(ctx, mail, ticket_id)
    return replace(item, ticket_id=ticket_id)


def ensure_ticket(item: Item, ctx: Context) -> Item:
    """After screening: mail worth answering that joined no ticket opens one (so auto-replies
    and bounces never create tickets)."""
    if item.ticket_id is not None:
        return item
    ticket_id = open_ticket(ctx, item.mail)
    remember(ctx, item.mail, ticket_id)
    return replace(item, ticket_id=ticket_id)


def remember(ctx: Context, mail: ParsedMail, ticket_id: int) -> None:
    if mail.message_id:
        remember_message_id(ctx.session, mail.message_id, ticket_id, "in")


def find_ticket(session: Session, mail: ParsedMail, tag: str) -> int | None:
    refs = [r for r in (mail.in_reply_to, *reversed(mail.references)) if r]
    if refs:
        known = session.exec(
            select(MessageRef.message_id, MessageRef.ticket_id).where(
                col(MessageRef.message_id).in_(refs)
            )
        ).all()
        by_id = dict(known)
        for ref in refs:
            if ref in by_id:
                return by_id[ref]
    return ticket_from_tag(session, mail, tag)


def ticket_from_tag(session: Session, mail: ParsedMail, tag: str) -> int | None:
    match = re.search(r"\[" + re.escape(tag) + r"(\d{1,12})\]", mail.subject)
    if not match or mail.sender is None:
        return None
    ticket = session.get(Ticket, int(match.group(1)))
    if ticket is None or (ticket.customer_email or "").lower() != mail.sender.email.lower():
        return None
    return ticket.id


def open_ticket(ctx: Context, mail: ParsedMail) -> int:
    """A new ticket for this mail's customer. A plain INSERT … RETURNING: building and flushing
    an ORM object here was the largest single cost of the screen step."""
    now = utcnow()
    values = {  # plain INSERT: the store's NUL scrubbing of ORM flushes does not see it
        "subject": no_nul(strip_subject(mail.subject, ctx.settings.mail.ticket_tag)[:500]),
        "customer_email": no_nul(mail.sender.email.lower()) if mail.sender else None,
        "customer_name": no_nul(mail.sender.name) if mail.sender else None,
        "language": mail.language,
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    ticket_id: int = ctx.session.connection().execute(INSERT_TICKET, [values]).scalar_one()
    audit(ctx.session, "ticket_opened", ticket_id=ticket_id, subject=values["subject"])
    return ticket_id


INSERT_TICKET = insert(SQLModel.metadata.tables["ticket"]).returning(
    SQLModel.metadata.tables["ticket"].c.id
)


def touch_ticket(session: Session, ticket_id: int) -> None:
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None:
        ticket.updated_at = utcnow()
        if ticket.status in ("closed", "resolved"):
            ticket.status = "open"
        session.add(ticket)


def strip_subject(subject: str, tag: str = "#") -> str:
    """'Re: Fwd:  Re: [#12] Software' -> 'Software'."""
    without_tag = re.sub(r"\s*\[" + re.escape(tag) + r"\d+\]\s*", " ", subject)
    previous = None
    while previous != without_tag:
        previous = without_tag
        without_tag = PREFIX.sub("", without_tag).strip()
    return " ".join(without_tag.split())
