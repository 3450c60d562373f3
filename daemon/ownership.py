"""Who owns a ticket: the model, or a human until an agent hands it back.

Decides human ownership. A ticket belongs to the model until one of these gives it to a human:
an escalation (owner: the human queue), an agent's personal reply — mail from our own
addresses or an agent's that does not carry our Message-ID marker, or a public reply by an
agent seen in a helpdesk — (owner: that agent), an agent's rejection of a draft (the customer
is left to that agent), or `helpdeskd tickets take`. Approving a draft, edited or not, does not
take the ticket: the agent supervised the model's reply, and the model answers the next
follow-up as before. While a human owns a ticket, its follow-ups are escalated with the reason
"ticket owned by a human" and never drafted (`daemon/stages/owned.py`), when
`[ownership] enabled` (the default). `helpdeskd tickets handback` gives the ticket back to the
model and closes its open escalations. Every change is an audit row (who, when, what):
`ticket_taken`, `ticket_handed_back`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from daemon.store.audit import audit
from daemon.tables import Escalation, Ticket, utcnow

HUMAN_QUEUE = "human queue"
"""The owner of an escalated ticket no agent has taken yet."""

OWNED_REASON = "ticket owned by a human"

CLOSED = ("closed", "resolved")


class TicketError(Exception):
    """The ticket cannot take this change (unknown, or not owned)."""


@dataclass(frozen=True, slots=True)
class Owned:
    """One ticket with its owner, as `status`, `drafts` and `tickets` show it."""

    ticket_id: int
    owner: str
    since: datetime | None
    reason: str | None


def owner_of(session: Session, ticket_id: int | None) -> str | None:
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    return ticket.owner if ticket is not None else None


def give_to_human(
    session: Session,
    ticket_id: int | None,
    owner: str,
    reason: str,
    *,
    actor: str = "daemon",
    **detail: Any,
) -> bool:
    """Give the ticket to `owner` unless a named agent already has it (the human queue gives
    way to a named agent, never the other way round); True when the owner changed."""
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.owner == owner:
        return False
    if ticket.owner not in (None, HUMAN_QUEUE) and owner == HUMAN_QUEUE:
        return False
    set_owner(session, ticket, owner, reason, actor=actor, **detail)
    return True


def set_owner(
    session: Session, ticket: Ticket, owner: str, reason: str, *, actor: str, **detail: Any
) -> None:
    previous = ticket.owner
    ticket.owner = owner
    ticket.owned_since = utcnow()
    ticket.owner_reason = reason[:500]
    session.add(ticket)
    audit(
        session,
        "ticket_taken",
        ticket_id=ticket.id,
        actor=actor,
        owner=owner,
        previous=previous,
        reason=reason[:500],
        **detail,
    )


def take(session: Session, ticket_id: int, agent: str) -> Ticket:
    """An agent takes the ticket (from the model, the queue or another agent)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketError(f"no ticket {ticket_id}")
    if ticket.owner != agent:
        set_owner(session, ticket, agent, f"taken by {agent}", actor=agent)
    return ticket


def hand_back(session: Session, ticket_id: int, actor: str) -> Ticket:
    """The model answers the ticket again; its open escalations are closed (audited)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketError(f"no ticket {ticket_id}")
    if ticket.owner is None:
        raise TicketError(f"ticket {ticket_id} is not owned by a human")
    previous = ticket.owner
    ticket.owner, ticket.owned_since, ticket.owner_reason = None, None, None
    if ticket.status not in CLOSED:
        ticket.status = "open"
    ticket.updated_at = utcnow()
    session.add(ticket)
    closed = close_escalations(session, ticket_id)
    audit(
        session,
        "ticket_handed_back",
        ticket_id=ticket_id,
        actor=actor,
        previous=previous,
        escalations_closed=closed,
    )
    return ticket


def close_escalations(session: Session, ticket_id: int) -> list[int]:
    rows = session.exec(
        select(Escalation).where(Escalation.ticket_id == ticket_id, Escalation.status == "open")
    ).all()
    for row in rows:
        row.status = "closed"
        session.add(row)
    return [row.id for row in rows if row.id is not None]


def owned_tickets(session: Session) -> list[Owned]:
    """Tickets a human owns, oldest ownership first."""
    rows = session.exec(
        select(Ticket)
        .where(col(Ticket.owner).is_not(None), col(Ticket.status).not_in(CLOSED))
        .order_by(col(Ticket.owned_since), col(Ticket.id))
    ).all()
    return [Owned(t.id, t.owner, t.owned_since, t.owner_reason) for t in rows if t.id and t.owner]


def owners_of(session: Session, ticket_ids: list[int]) -> dict[int, str]:
    """The owner of each of these tickets a human owns."""
    if not ticket_ids:
        return {}
    rows = session.exec(
        select(Ticket.id, Ticket.owner).where(
            col(Ticket.id).in_(ticket_ids), col(Ticket.owner).is_not(None)
        )
    ).all()
    return {pk: owner for pk, owner in rows if pk is not None and owner is not None}
