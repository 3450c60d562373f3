"""Tickets: the one module that opens a ticket and changes its status.

Decides a ticket's life outside its ownership: `open_ticket` opens one for a customer's mail
(linked to the ticket whose Message-ID a stranger named), `touch_ticket` notes new mail and
reopens a closed or resolved ticket, `set_status` records what became of the latest reply
(`awaiting_approval`, `answered`, `open`), and `escalate` marks the ticket escalated and gives
it to the human queue (`daemon/ownership.py`). `escalate_ticket` escalates from outside the
pipeline (a permanent delivery failure, a refused approval) with the template `next_step`. The
stages, the outbox and the approvals call these; none of them writes `Ticket.status` itself.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, select

from daemon.mail.subject import strip_subject
from daemon.ownership import HUMAN_QUEUE, give_to_human
from daemon.records import ParsedMail
from daemon.store.audit import audit
from daemon.store.text import no_nul
from daemon.tables import Escalation, Message, Ticket, utcnow

INSERT_TICKET = insert(SQLModel.metadata.tables["ticket"]).returning(
    SQLModel.metadata.tables["ticket"].c.id
)


def open_ticket(
    session: Session, mail: ParsedMail, ticket_tag: str, linked: int | None = None
) -> int:
    """A new ticket for this mail's customer (linked to ticket `linked` when the mail named
    one of its Message-IDs). A plain INSERT … RETURNING: building and flushing an ORM object
    here was the largest single cost of the screen step."""
    now = utcnow()
    values = {  # plain INSERT: the store's NUL scrubbing of ORM flushes does not see it
        "subject": no_nul(strip_subject(mail.subject, ticket_tag)[:500]),
        "customer_email": no_nul(mail.sender.email.lower()) if mail.sender else None,
        "customer_name": no_nul(mail.sender.name) if mail.sender else None,
        "language": mail.language,
        "linked_ticket_id": linked,
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    ticket_id: int = session.connection().execute(INSERT_TICKET, [values]).scalar_one()
    audit(session, "ticket_opened", ticket_id=ticket_id, subject=values["subject"])
    return ticket_id


def touch_ticket(session: Session, ticket_id: int) -> None:
    """New mail on the ticket: note the time, and reopen it if it was closed or resolved."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is not None:
        ticket.updated_at = utcnow()
        if ticket.status in ("closed", "resolved"):
            ticket.status = "open"
        session.add(ticket)


def set_status(session: Session, ticket_id: int | None, status: str) -> None:
    """What became of the latest reply: `awaiting_approval`, `answered`, or `open` again."""
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is not None:
        ticket.status = status
        ticket.updated_at = utcnow()
        session.add(ticket)


def escalate(session: Session, ticket_id: int | None, reason: str) -> None:
    """The ticket is escalated, and a human owns it from now on (`daemon/ownership.py`)."""
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is not None:
        ticket.status = "escalated"
        ticket.updated_at = utcnow()
        session.add(ticket)
        give_to_human(session, ticket_id, HUMAN_QUEUE, f"escalated: {reason}")


def escalate_ticket(session: Session, ticket_id: int, reason: str) -> None:
    """Escalate outside the pipeline (a permanent delivery failure): record it on the ticket's
    latest message so an agent sees it in `escalations list`."""
    last = session.exec(
        select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id).desc())
    ).first()
    if last is None or last.id is None:
        return
    session.add(
        Escalation(
            ticket_id=ticket_id,
            message_pk=last.id,
            reason=reason,
            summary=f"Ticket {ticket_id}: {reason}",
            details={"reason": reason, "next_step": next_step(reason, None)},
        )
    )
    escalate(session, ticket_id, reason)
    audit(session, "escalated", ticket_id=ticket_id, reason=reason)


def next_step(reason: str, intent: str | None) -> str:
    """What the agent should do next, by the escalation's reason or the mail's intent."""
    if reason.startswith("risk topic: data_privacy") or intent == "data_privacy":
        return (
            "Handle as a data-protection request: verify identity, log it, "
            "answer within the legal deadline."
        )
    if reason.startswith("risk topic: legal") or intent == "legal":
        return "Forward to the legal contact before replying; do not admit liability."
    if "human" in reason:
        return "Reply personally; the customer asked for a person."
    if "delivery failed" in reason:
        return "Reach the customer another way; their address rejected our mail."
    if "headers only" in reason:
        return "Open the original in the mailbox; it was too large to process automatically."
    return "Read the thread and reply, or edit and approve the draft if there is one."
