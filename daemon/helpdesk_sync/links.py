"""What ties our rows to a helpdesk's: ticket ids, and what was already done there.

Decides where the link between a local ticket and its helpdesk ticket lives (`Ticket.helpdesk`,
`Ticket.helpdesk_ticket_id`) and how we remember having done something in a helpdesk: an audit
event per action (`helpdesk_note` for a draft note, `helpdesk_escalated`, `helpdesk_mirrored`),
written in the same transaction that records its effect. The audit trail is where actions are
recorded anyway, so no extra table is needed; and because the helpdesk is always asked first
whether the note or message is already there (after a crash between the API call and the
commit), an action is done once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from connectors.helpdesk import RemoteTicket
from daemon.store.audit import audit
from daemon.tables import AuditEvent, Draft, Message, Outbox, Ticket, Usage

SOURCE_PREFIX = "helpdesk:"


def source_of(name: str) -> str:
    """The message source and cursor name of a helpdesk (`helpdesk:rt`)."""
    return SOURCE_PREFIX + name


def local_ticket(session: Session, helpdesk: str, remote_id: str) -> Ticket | None:
    return session.exec(
        select(Ticket).where(Ticket.helpdesk == helpdesk, Ticket.helpdesk_ticket_id == remote_id)
    ).first()


def ensure_local_ticket(session: Session, helpdesk: str, remote: RemoteTicket) -> int:
    """Our ticket for a helpdesk ticket, opened on first sight."""
    ticket = local_ticket(session, helpdesk, remote.id)
    if ticket is None:
        ticket = Ticket(
            subject=remote.subject[:500],
            customer_email=remote.requester.email.lower() if remote.requester else None,
            customer_name=remote.requester.name if remote.requester else None,
            helpdesk=helpdesk,
            helpdesk_ticket_id=remote.id,
        )
        session.add(ticket)
        session.flush()
        audit(
            session,
            "ticket_opened",
            ticket_id=ticket.id,
            subject=ticket.subject,
            helpdesk=helpdesk,
            helpdesk_ticket_id=remote.id,
        )
    assert ticket.id is not None
    return ticket.id


def pending_draft(session: Session, ticket_id: int) -> Draft | None:
    """The newest draft of the ticket still waiting for an agent."""
    return session.exec(
        select(Draft)
        .where(Draft.ticket_id == ticket_id, Draft.status == "pending")
        .order_by(col(Draft.id).desc())
    ).first()


def done_ids(session: Session, kind: str, key: str, ticket_ids: Iterable[int]) -> set[int]:
    """The `key` values (draft_id, escalation_id) of `kind` actions already recorded."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.kind == kind, col(AuditEvent.ticket_id).in_(ids))
    ).all()
    return {int(e.detail[key]) for e in events if e.detail.get(key) is not None}


def record_action(
    session: Session,
    kind: str,
    ticket_id: int | None,
    message: Message | None = None,
    **detail: Any,
) -> None:
    audit(session, kind, message=message, ticket_id=ticket_id, actor="helpdesk", **detail)


def usage_of(session: Session, message_pk: int) -> dict[str, Any]:
    """What drafting this message cost so far (shown in the draft note)."""
    rows = session.exec(select(Usage).where(Usage.message_pk == message_pk)).all()
    return {
        "cost": sum(u.cost for u in rows),
        "requests": sum(1 for u in rows if u.kind == "llm"),
        "tokens": sum(u.input_tokens + u.output_tokens for u in rows),
    }


def sent_reply_ids(session: Session, ticket_id: int) -> list[str]:
    """The Message-IDs of the replies queued for this ticket (their markers are ours)."""
    rows = session.exec(
        select(Outbox.message_id).where(Outbox.ticket_id == ticket_id, Outbox.kind == "reply")
    ).all()
    return list(rows)


def sent_reply_texts(session: Session, ticket_id: int) -> list[bytes]:
    """The raw replies queued for this ticket (their text is ours, not an agent's)."""
    rows = session.exec(
        select(Outbox.raw).where(Outbox.ticket_id == ticket_id, Outbox.kind == "reply")
    ).all()
    return list(rows)
