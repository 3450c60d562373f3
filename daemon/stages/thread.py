"""thread: which ticket a message belongs to.

Decides threading, most reliable evidence first: a Message-ID we know in In-Reply-To or
References (ours or the customer's), then a ticket tag such as `[#123]` in the subject, then a
new ticket. Neither kind of evidence is trusted from a stranger: a Message-ID joins a ticket
only when the sender is its customer or one of its participants (an address whose earlier mail
on the ticket was accepted, i.e. not ignored or quarantined), and a subject tag only from the
ticket's customer, so nobody can read or spend another customer's ticket by quoting its
Message-IDs (ours are easy to guess) or its subject. Mail that names a foreign ticket's
Message-ID opens a ticket of its own, linked to the one it named (`Ticket.linked_ticket_id`)
for the agents; the sender's later mail naming the same foreign ticket joins that linked ticket.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import func
from sqlmodel import Session, col, select

from daemon.kernel.item import Item
from daemon.kernel.stage import Context
from daemon.records import ParsedMail
from daemon.store.audit import audit
from daemon.store.refs import remember_message_id
from daemon.tables import Message, MessageRef, State, Ticket
from daemon.tickets import open_ticket, touch_ticket


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
    linked = next(iter(referenced_tickets(ctx.session, item.mail)), None)
    ticket_id = open_ticket(ctx.session, item.mail, ctx.settings.mail.ticket_tag, linked)
    remember(ctx, item.mail, ticket_id)
    if linked is not None:
        ctx.log.warning(
            "names ticket %s's Message-ID from a stranger: own ticket %s", linked, ticket_id
        )
        audit(
            ctx.session,
            "thread_link",
            message_pk=item.pk,
            ticket_id=ticket_id,
            linked_ticket_id=linked,
        )
    return replace(item, ticket_id=ticket_id)


def remember(ctx: Context, mail: ParsedMail, ticket_id: int) -> None:
    if mail.message_id:
        remember_message_id(ctx.session, mail.message_id, ticket_id, "in")


def find_ticket(session: Session, mail: ParsedMail, tag: str) -> int | None:
    sender = mail.sender.email.lower() if mail.sender else ""
    referenced = referenced_tickets(session, mail)
    for ticket_id in referenced:
        if sender and may_join(session, ticket_id, sender):
            return ticket_id
    if referenced and sender and (own := linked_ticket_of(session, sender, referenced[0])):
        return own
    return ticket_from_tag(session, mail, tag)


def referenced_tickets(session: Session, mail: ParsedMail) -> list[int]:
    """The tickets of the known Message-IDs in In-Reply-To and References, nearest first."""
    refs = [r for r in (mail.in_reply_to, *reversed(mail.references)) if r]
    if not refs:
        return []
    known = session.exec(
        select(MessageRef.message_id, MessageRef.ticket_id).where(
            col(MessageRef.message_id).in_(refs)
        )
    ).all()
    by_id = dict(known)
    return list(dict.fromkeys(by_id[ref] for ref in refs if ref in by_id))


NOT_ACCEPTED = (State.received, State.parsed, State.ignored, State.quarantined)
"""A message in these states made nobody a participant of its ticket."""


def may_join(session: Session, ticket_id: int, sender: str) -> bool:
    """Is `sender` (lower-cased) the ticket's customer or one of its participants?"""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return False
    if (ticket.customer_email or "").lower() == sender:
        return True
    wrote = session.exec(
        select(Message.id)
        .where(
            Message.ticket_id == ticket_id,
            func.lower(Message.sender) == sender,
            col(Message.state).not_in([s.value for s in NOT_ACCEPTED]),
        )
        .limit(1)
    ).first()
    return wrote is not None


def linked_ticket_of(session: Session, sender: str, linked: int) -> int | None:
    """The sender's own ticket opened earlier by naming ticket `linked`'s Message-IDs."""
    return session.exec(
        select(Ticket.id)
        .where(Ticket.linked_ticket_id == linked, Ticket.customer_email == sender)
        .order_by(col(Ticket.id).desc())
    ).first()


def ticket_from_tag(session: Session, mail: ParsedMail, tag: str) -> int | None:
    match = re.search(r"\[" + re.escape(tag) + r"(\d{1,12})\]", mail.subject)
    if not match or mail.sender is None:
        return None
    ticket = session.get(Ticket, int(match.group(1)))
    if ticket is None or (ticket.customer_email or "").lower() != mail.sender.email.lower():
        return None
    return ticket.id
